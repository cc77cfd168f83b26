"""Polling an SSE stream that the server closed before its answer, from the client's side
(2025-11-25 Streamable HTTP; scenario sse-retry, the official sse-retry): the stream of the
client's tools/call carries a priming event (an id and a retry field of SSE_RETRY_MS) and
closes; the client is to wait that long, then GET with Last-Event-ID naming the event, and
gets its answer on that stream.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#sending-messages-to-the-server
and https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#resumability-and-redelivery
"""

from conformance.checks import expect, info, not_applicable, requirement, should
from conformance.peer import SSE_RETRY

POLLING_SINCE = "2025-11-25"  # the revision that lets a server close a stream for the client to poll
EARLY = 0.05  # seconds a reconnection may seem early: the close is recorded as the stream ends


def closed_stream(client_run):
    """The scenario's record and the "stream-closed" event of the tools/call whose stream
    the suite's server closed early (skipped when there is none)."""
    record = client_run(SSE_RETRY)
    if record.transport != "http":
        not_applicable(f"a Streamable HTTP rule; the client speaks {record.transport}")
    record.require_session()
    if (record.answered or "") < POLLING_SINCE:
        not_applicable(
            f"servers may close a stream for the client to poll from {POLLING_SINCE}; the session "
            f"is in {record.answered}"
        )
    closed = next((e for e in record.events if e.get("event") == "stream-closed"), None)
    if closed is None:
        not_applicable("the client called no tool, so the suite's server closed no stream early")
    return record, closed


def gets_after(record, closed: dict) -> list[dict]:
    return [e for e in record.events if e.get("event") == "http" and e.get("method") == "GET" and e["t"] >= closed["t"]]


@requirement("transports-025", "transports-052")
def test_http_polls_closed_stream(client_run):
    """When the server closes the stream of a request after an event id and before the
    answer, the client reconnects with a GET carrying Last-Event-ID set to that event's
    id (both SHOULDs), and so gets its answer."""
    record, closed = closed_stream(client_run)
    gets = gets_after(record, closed)
    should(
        gets,
        f"the suite's server closed the stream of tools/call (id {closed['id']!r}) after event "
        f"{closed['last_event']!r} with retry {closed['retry']} ms, and the client never reconnected "
        f"with a GET: its answer was never delivered",
    )
    named = [g.get("headers", {}).get("last-event-id") for g in gets]
    should(
        closed["last_event"] in named,
        f"the client reconnected, but no GET named the last event it got "
        f"({closed['last_event']!r}) in Last-Event-ID: {named}",
    )


@requirement("transports-027")
def test_http_waits_retry_before_reconnecting(client_run):
    """The client waits the retry field's milliseconds before it reconnects to a stream
    the server closed: the GET naming the closed stream's last event comes at least that
    long after the close (less EARLY for timing). Later is allowed (noted)."""
    record, closed = closed_stream(client_run)
    polls = [g for g in gets_after(record, closed) if g.get("headers", {}).get("last-event-id") == closed["last_event"]]
    if not polls:
        not_applicable(
            "no GET named the closed stream's last event in Last-Event-ID (see "
            "test_http_polls_closed_stream), so which GET polls that stream cannot be told"
        )
    waited, asked = polls[0]["t"] - closed["t"], closed["retry"] / 1000
    expect(
        waited >= asked - EARLY,
        f"the client reconnected {waited * 1000:.0f} ms after the server closed the "
        f"stream, whose retry field asked for {closed['retry']} ms",
    )
    if waited > 2 * asked:
        info(f"the client reconnected after {waited * 1000:.0f} ms, more than twice the retry of {closed['retry']} ms")
