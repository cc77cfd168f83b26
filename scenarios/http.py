"""HTTP transports: Streamable HTTP (2025-03-26 on) and the deprecated HTTP+SSE (2024-11-05).

These checks speak HTTP directly (status codes, headers, SSE events) through the
transport's `exchange()`; every exchange appears in the check's transcript. They apply
only when the run uses that transport; otherwise they are skipped.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
      https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, defaultdict

from conformance import jsonrpc
from conformance.checks import expect, fail, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.session import Entry
from conformance.transport import TransportError

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
FOREIGN_ORIGIN = "http://dns-rebinding.invalid"
NEVER_A_REVISION = "1999-01-01"
SHOWN_HEADERS = ("accept", "mcp-session-id", "mcp-protocol-version", "origin", "last-event-id")


# -- helpers ---------------------------------------------------------------------------------
def _require(mcp_target, kind: str) -> None:
    used = getattr(mcp_target, "transport_kind", "stdio")
    if used != kind:
        name = {"http": "Streamable HTTP", "sse": "HTTP+SSE (2024-11-05)"}[kind]
        not_applicable(f"a check of the {name} transport; this run uses {used}")


def _legacy(revision: str) -> None:
    if revision >= "2026":
        not_applicable(f"{revision} is a modern-era revision (legacy-era transport check)")


def _latest_legacy(mcp_target) -> str:
    """The newest legacy revision the server supports (for checks not tied to a revision)."""
    for revision in reversed([r for r in mcp_target.revisions if r < "2026"]):
        if mcp_target.support(revision).supported:
            return revision
    not_applicable("the server supports none of the legacy revisions tested")


def _connect(mcp_target, mcp_connect, revision: str | None = None, initialize: bool = True):
    """A fresh session whose transport opens no GET stream of its own (checks open theirs)."""
    session = mcp_connect(initialize=False, revision=revision or _latest_legacy(mcp_target))
    session.transport.listen = False
    if initialize:
        session.initialize(session.revision)
    return session


def _ping(request_id) -> bytes:
    return jsonrpc.encode(jsonrpc.request(request_id, "ping"))


def _answered(request_id):
    return lambda exchange: exchange.response_to(request_id) is not None


def _status(exchange) -> str:
    return f"HTTP {exchange.status}" if exchange.status is not None else f"no answer ({exchange.error})"


def _ok(exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _raw(conversation, method: str = "POST", body: bytes | None = None, **options):
    """One raw HTTP exchange on the session's transport, written to the session's transcript."""
    transport = conversation.transport
    exchange = transport.exchange(method, body, **options)
    shown = "; ".join(f"{k}: {v}" for k, v in exchange.request_headers.items() if k.lower() in SHOWN_HEADERS)
    t = exchange.started - transport.started_at
    conversation.transcript.append(Entry(t, "->", body or b"", note=f"HTTP {method} ({shown})"))
    answer = f"HTTP answer: {exchange.summary()}"
    for payload in exchange.payloads or [exchange.content]:
        conversation.transcript.append(Entry(t + exchange.seconds, "<-", payload, note=answer))
    return exchange


# -- Streamable HTTP: sending messages ---------------------------------------------------------
@requirement("transports-016", "transports-021", "transports-028")
def test_http_post_answered_json_or_sse(mcp_target, mcp_connect):
    """A request POSTed with `Accept: application/json, text/event-stream` is answered with
    Content-Type application/json (one JSON object: the response) or text/event-stream (an
    SSE stream, which should carry the response)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    request_id = "conformance-post"
    exchange = _raw(session, "POST", _ping(request_id), until=_answered(request_id))
    expect(_ok(exchange), f"a POSTed ping got {_status(exchange)}")
    expect(exchange.content_type in ("application/json", "text/event-stream"),
           f"a POSTed request must be answered as application/json or text/event-stream, "
           f"got Content-Type {exchange.content_type or '(none)'}")
    if exchange.content_type == "application/json":
        messages = exchange.messages
        expect(len(messages) == 1 and messages[0].is_response and jsonrpc.same_id(request_id, messages[0].id),
               f"a JSON answer must be the one response to the request, got {exchange.content[:300]!r}")
    else:
        should(exchange.response_to(request_id) is not None,
               f"the SSE answer to a ping carried no response ({exchange.summary()})")


@requirement("transports-018", "transports-019")
def test_http_notification_accepted_202(mcp_target, mcp_connect):
    """A POSTed notification or response that the server accepts gets 202 Accepted with no
    body; input it cannot accept gets an HTTP error status, never another 2xx."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect, initialize=False)
    session.initialize(session.revision, send_initialized=False)
    initialized = _raw(session, "POST", jsonrpc.encode(jsonrpc.notification("notifications/initialized")))
    expect(initialized.status == 202,
           f"the initialized notification must be accepted with 202, got {_status(initialized)}")
    expect(not initialized.content.strip(), f"a 202 answer has no body, got {initialized.content[:200]!r}")
    others = {
        "an unknown notification": jsonrpc.notification("notifications/conformance/unknown"),
        "a response to no request": jsonrpc.result("conformance-unsolicited", {}),
    }
    for what, obj in others.items():
        exchange = _raw(session, "POST", jsonrpc.encode(obj))
        expect(exchange.status is not None, f"{what} got {_status(exchange)}")
        expect(exchange.status == 202 or exchange.status >= 400,
               f"{what} must get 202 (accepted) or an error status (not accepted), got HTTP {exchange.status}")
        if exchange.status == 202:
            expect(not exchange.content.strip(), f"a 202 answer has no body, got {exchange.content[:200]!r}")


@requirement("transports-039")
def test_http_get_stream_or_405(mcp_target, mcp_connect):
    """A GET of the MCP endpoint (Accept: text/event-stream) opens an SSE stream, or is
    refused with 405 Method Not Allowed when the server offers none."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    exchange = _raw(session, "GET", until=lambda e: True)  # the status line and headers are enough
    expect(exchange.status is not None, f"GET got {_status(exchange)}")
    if exchange.status == 405:
        info("the server offers no GET stream (405)")
        return
    expect(_ok(exchange) and exchange.is_sse,
           f"GET must open an SSE stream (text/event-stream) or get 405, got {exchange.summary()}")


# -- Streamable HTTP: sessions ----------------------------------------------------------------
@requirement("transports-055", "transports-056", "transports-057")
def test_http_session_id_visible_ascii(mcp_target, mcp_connect):
    """A session id, if the server assigns one with the initialize answer, consists of
    visible ASCII only (0x21 to 0x7E), and two sessions should not share one."""
    _require(mcp_target, "http")
    session_id = _connect(mcp_target, mcp_connect).transport.session_id
    if session_id is None:
        info("the server assigns no MCP-Session-Id: it runs without sessions (allowed)")
        return
    bad = sorted({c for c in session_id if not 0x21 <= ord(c) <= 0x7E})
    expect(session_id and not bad, f"the session id {session_id!r} holds characters outside visible ASCII: {bad}")
    other = _connect(mcp_target, mcp_connect).transport.session_id
    should(other != session_id, f"two sessions got the same session id {session_id!r}")


def _latest_known(mcp_target) -> str:
    """The newest legacy revision of the run, without asking the server anything."""
    return [r for r in mcp_target.revisions if r < "2026"][-1]


def _session(mcp_target, mcp_connect):
    session = _connect(mcp_target, mcp_connect)
    if session.transport.session_id is None:
        not_applicable("the server assigns no MCP-Session-Id (it runs without sessions)")
    return session


@requirement("transports-060")
def test_http_session_id_required(mcp_target, mcp_connect):
    """A server that requires its session id should answer a request without one (other
    than initialize) with 400 Bad Request."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    exchange = _raw(session, "POST", _ping("conformance-no-session"), headers={SESSION_HEADER: None})
    expect(exchange.status is not None, f"a request without the session id got {_status(exchange)}")
    if _ok(exchange):
        info("the server answers requests without the session id: it does not require it")
        return
    should(exchange.status == 400,
           f"a request without the session id should get 400 Bad Request, got HTTP {exchange.status}")


@requirement("transports-061")
def test_http_unknown_session_404(mcp_target, mcp_connect):
    """A request with a session id the server does not know (never issued, or ended)
    should get 404 Not Found: the answer the spec gives for an ended session."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    unknown = f"conformance-unknown-{secrets.token_hex(8)}"
    exchange = _raw(session, "POST", _ping("conformance-unknown"), headers={SESSION_HEADER: unknown})
    should(exchange.status == 404, f"a request with a session id the server never issued got {_status(exchange)}, "
                                   "not 404 Not Found")


@requirement("transports-061", "transports-063", "transports-064")
def test_http_terminated_session_404(mcp_target, mcp_connect):
    """After the session has ended (the server accepted its DELETE), every request with its
    id gets 404 Not Found. A server may refuse DELETE with 405."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    deleted = _raw(session, "DELETE")
    if deleted.status == 405:
        info("the server does not let clients end sessions (DELETE got 405, allowed)")
        return
    if not _ok(deleted):
        info(f"DELETE of the session got {_status(deleted)}: the session could not be ended to test 404")
        return
    after = _raw(session, "POST", _ping("conformance-after-delete"))
    if _ok(after):
        should(False, f"DELETE was accepted (HTTP {deleted.status}) but the session still answers")
        return
    expect(after.status == 404, f"after the session ended (DELETE got HTTP {deleted.status}), a request with its "
                                f"id got {_status(after)}; it must get 404 Not Found")


@requirement("transports-068")
def test_http_unsupported_protocol_version_400(mcp_target, mcp_connect, revision):
    """A request whose MCP-Protocol-Version header names a version the server does not
    support gets 400 Bad Request (the header exists from 2025-06-18 on)."""
    _require(mcp_target, "http")
    _legacy(revision)
    if revision < "2025-06-18":
        not_applicable(f"{revision} predates the MCP-Protocol-Version header (2025-06-18)")
    session = _connect(mcp_target, mcp_connect, revision)
    exchange = _raw(session, "POST", _ping("conformance-bad-version"), headers={VERSION_HEADER: NEVER_A_REVISION})
    expect(exchange.status == 400,
           f"a request with {VERSION_HEADER}: {NEVER_A_REVISION} must get 400 Bad Request, got {_status(exchange)}")


# -- Streamable HTTP: security ---------------------------------------------------------------
@requirement("transports-009", "transports-010")
def test_http_foreign_origin_rejected(mcp_target, mcp_connect, revision):
    """A request carrying an Origin of another site (DNS rebinding) is refused; from
    2025-11-25 on the refusal is 403 Forbidden."""
    _require(mcp_target, "http")
    _legacy(revision)
    session = mcp_connect(initialize=False)
    exchange = _raw(session, "POST", session.transport.initialize_body(revision), session=False,
                    headers={"Origin": FOREIGN_ORIGIN})
    expect(exchange.status is not None, f"initialize with a foreign Origin got {_status(exchange)}")
    expect(exchange.status >= 400, f"initialize with Origin: {FOREIGN_ORIGIN} was served (HTTP {exchange.status}): "
                                   "the server must validate Origin against DNS rebinding")
    if revision >= "2025-11-25":
        expect(exchange.status == 403, f"a foreign Origin must get 403 Forbidden, got HTTP {exchange.status}")
    elif exchange.status != 403:
        info(f"a foreign Origin got HTTP {exchange.status} (from 2025-11-25 on it must be 403)")


# -- Streamable HTTP: SSE streams ---------------------------------------------------------------
@requirement("transports-023")
def test_http_sse_priming_event(mcp_target, mcp_connect, revision):
    """From 2025-11-25 on, an SSE stream answering a POST should start at once with an event
    that has an id and empty data, so the client can reconnect from it."""
    _require(mcp_target, "http")
    _legacy(revision)
    if revision < "2025-11-25":
        not_applicable(f"{revision} predates priming events (2025-11-25)")
    session = _connect(mcp_target, mcp_connect, revision)
    request_id = "conformance-priming"
    exchange = _raw(session, "POST", _ping(request_id), until=_answered(request_id))
    if not exchange.is_sse:
        not_applicable(f"the server answers requests with JSON bodies, not SSE streams ({exchange.summary()})")
    first = exchange.events[0] if exchange.events else None
    if first is not None and not any(event.id for event in exchange.events):
        info("the SSE stream carries no event ids at all (no resumption to prime for); the spec asks "
             "for a first event with an id and empty data")
        return
    should(first is not None and first.id and not first.data.strip(),
           "the SSE stream should start with an event carrying an id and empty data; first event: "
           + (f"id={first.id!r} data={first.data[:100]!r}" if first else "none"))


def _several_streams(session, count: int = 3):
    """A GET stream (if offered) held open while `count` pings are POSTed at once.
    Returns (the GET exchange, {request id: POST exchange})."""
    window = min(session.timeout, 1.0)
    opened = threading.Event()
    found: dict = {}

    def listen():
        try:
            found["get"] = _raw(session, "GET", timeout=window, read_for=window, on_headers=lambda e: opened.set())
        finally:
            opened.set()

    def post(request_id):
        found[request_id] = _raw(session, "POST", _ping(request_id), until=_answered(request_id))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    opened.wait(session.timeout)
    ids = [f"conformance-stream-{n}" for n in range(count)]
    posters = [threading.Thread(target=post, args=(request_id,), daemon=True) for request_id in ids]
    for thread in posters:
        thread.start()
    deadline = time.monotonic() + 2 * session.timeout + 1
    for thread in [*posters, listener]:
        thread.join(max(0.0, deadline - time.monotonic()))
    missing = [request_id for request_id in ids if request_id not in found]
    expect(not missing, f"POSTs of {missing} did not finish within {2 * session.timeout + 1:g}s")
    return found.get("get"), {request_id: found[request_id] for request_id in ids}


@requirement("transports-046", "transports-047", "transports-042")
def test_http_concurrent_streams(mcp_target, mcp_connect):
    """With a GET stream open and several requests POSTed at once, each response comes once,
    in the answer to its own POST; no message goes out on two streams, and no response on
    the GET stream."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    get, posts = _several_streams(session)
    streams = {f"POST {request_id}": exchange for request_id, exchange in posts.items()}
    for request_id, exchange in posts.items():
        expect(_ok(exchange), f"ping {request_id} got {_status(exchange)}")
        answers = [m for m in exchange.messages if m.is_response and jsonrpc.same_id(request_id, m.id)]
        expect(len(answers) <= 1, f"ping {request_id} was answered {len(answers)} times")
        should(answers, f"the answer to ping {request_id} carried no response ({exchange.summary()})")
    if get is not None and _ok(get) and get.is_sse:
        streams["GET"] = get
        responses = [m.text()[:200] for m in get.messages if m.is_response]
        expect(not responses, f"responses were sent on the GET stream (not a resumption): {responses}")
    where = defaultdict(set)
    for label, exchange in streams.items():
        for message in exchange.messages:
            if message.has_id and message.kind is not Kind.NOTIFICATION:
                where[(message.kind is Kind.REQUEST, str(message.id))].add(label)
    repeated = {key[1]: sorted(labels) for key, labels in where.items() if len(labels) > 1}
    expect(not repeated, f"messages were sent on more than one stream (id: streams): {repeated}")


@requirement("transports-049", "transports-050")
def test_http_sse_event_ids_unique(mcp_target, mcp_connect):
    """SSE event ids, where the server sends them, are unique across all streams of the
    session (a GET stream and several POST streams here)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    get, posts = _several_streams(session)
    streams = [e for e in [get, *posts.values()] if e is not None and _ok(e) and e.is_sse]
    if not streams:
        not_applicable("the server opened no SSE stream (JSON answers and no GET stream)")
    ids = Counter(event.id for exchange in streams for event in exchange.events if event.id)
    if not ids:
        info("the server puts no ids on SSE events (allowed; its streams cannot be resumed)")
        return
    repeated = sorted(event_id for event_id, n in ids.items() if n > 1)
    expect(not repeated, f"SSE event ids repeat within the session ({len(streams)} streams): {repeated[:10]}")


@requirement("transports-036", "transports-052", "transports-053", "transports-054")
def test_http_resumption(mcp_target, mcp_connect):
    """A GET with Last-Event-ID may resume a broken SSE stream, replaying what followed
    that event; it must not replay messages that belonged to another stream."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    first, other = "conformance-resume-b", "conformance-resume-a"
    # Stream B: read up to its first event with an id, then drop the connection.
    broken = _raw(session, "POST", _ping(first), until=lambda e: any(event.id for event in e.events))
    if not broken.is_sse:
        not_applicable(f"the server answers requests with JSON bodies: no SSE stream to resume ({broken.summary()})")
    last = next((event.id for event in broken.events if event.id), None)
    if last is None:
        info("the server puts no ids on SSE events: there is nothing to resume from (allowed)")
        return
    # Stream A, read to its end: nothing of it may come back when B is resumed.
    complete = _raw(session, "POST", _ping(other), until=_answered(other))
    window = min(session.timeout, 1.0)
    resumed = _raw(session, "GET", headers={"Last-Event-ID": last}, timeout=window, read_for=window)
    if not (_ok(resumed) and resumed.is_sse):
        info(f"GET with Last-Event-ID got {resumed.summary()}: the server does not resume streams (allowed)")
        return
    on_other = {m.raw for m in complete.messages if m.has_id}
    foreign = [m.text()[:200] for m in resumed.messages
               if (m.is_response and not jsonrpc.same_id(first, m.id)) or (m.has_id and m.raw in on_other)]
    expect(not foreign, f"resuming stream B (after event {last!r}) replayed messages of another stream: {foreign}")
    if resumed.response_to(first) is None:
        info(f"resuming after event {last!r} replayed no response to {first!r} (replay is optional)")


# -- HTTP+SSE (2024-11-05) ------------------------------------------------------------------------
@requirement("transports-001")
def test_sse_endpoint_event(mcp_target, mcp_connect):
    """HTTP+SSE: a GET of the SSE endpoint opens an event stream whose first event is
    `endpoint`, naming the URL (on the same origin) that messages are POSTed to."""
    _require(mcp_target, "sse")
    try:
        session = mcp_connect(initialize=False, require_usable=False, revision=_latest_known(mcp_target))
    except TransportError as error:
        fail(f"the HTTP+SSE connection could not be set up: {error.reason}")
    exchange = _raw(session, "GET", url=session.transport.url, until=lambda e: bool(e.events))
    expect(_ok(exchange) and exchange.is_sse, f"GET of the SSE endpoint must open an event stream, "
                                              f"got {exchange.summary()}")
    expect(exchange.events, f"the SSE stream sent no event within {session.timeout:g}s")
    first = exchange.events[0]
    expect(first.event == "endpoint", f"the first SSE event is {first.event!r}, not `endpoint`")
    expect(first.data.strip(), "the endpoint event names no URL")


@requirement("transports-001")
def test_sse_post_answered_on_stream(mcp_target, mcp_connect):
    """HTTP+SSE: a message POSTed to the announced URL is accepted (2xx), and the response
    arrives on the SSE stream as a `message` event, not in the POST's answer."""
    _require(mcp_target, "sse")
    session = _connect(mcp_target, mcp_connect)
    request_id = "conformance-sse-ping"
    session.pending[request_id] = "ping"
    exchange = _raw(session, "POST", _ping(request_id))
    expect(_ok(exchange), f"a POST to the announced endpoint got {exchange.summary()}")
    response = session.wait_for(lambda m: m.is_response and jsonrpc.same_id(request_id, m.id), session.timeout)
    misplaced = " (it came in the POST's HTTP answer instead)" if exchange.response_to(request_id) else ""
    expect(response is not None, f"no response to the ping arrived on the SSE stream{misplaced}")


@requirement("transports-009")
def test_sse_foreign_origin_rejected(mcp_target, mcp_connect):
    """HTTP+SSE: the server validates Origin; a GET of the SSE endpoint with the Origin of
    another site (DNS rebinding) is refused."""
    _require(mcp_target, "sse")
    session = _connect(mcp_target, mcp_connect, initialize=False)
    exchange = _raw(session, "GET", url=session.transport.url, headers={"Origin": FOREIGN_ORIGIN},
                    until=lambda e: True)
    expect(exchange.status is not None, f"GET with a foreign Origin got {_status(exchange)}")
    expect(exchange.status >= 400, f"the SSE stream was opened for Origin: {FOREIGN_ORIGIN} (HTTP "
                                   f"{exchange.status}): the server must validate Origin against DNS rebinding")
