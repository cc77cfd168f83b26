"""subscriptions/listen (2026-07-28): a long-lived stream of the change notifications the
client opted in to, acknowledged first, every message tagged with the subscription id.

On a connection of its own the suite opens two streams: one asking for every kind the
server declares (the list-changed kinds it declares `listChanged` for, and updates of a
few listed resources if it declares `resources.subscribe`), and one asking for a single
kind of those. It waits for both acknowledgements, then (at most LISTEN_SECONDS) for a
change on the first stream, and cancels it (notifications/cancelled naming it, the stdio
way). A barrier (server/discover and its answer) separates what was on its way from what
the server sent after reading the cancellation. Then it waits (at most CANCEL_SECONDS) for
a change on the second stream: news the cancelled stream asked for too, so the moment it
would have carried some. The checks judge that record. A server that sends no change in
that time leaves the tagging check not applicable.

Over HTTP a stream is cancelled by closing its response, which the suite's HTTP
transport cannot do yet: these checks run on stdio.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
      https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/cancellation
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.checks import CheckFailed, current, expect, info, modern_only, not_applicable, requirement, should
from conformance.discovery import declares, list_all
from conformance.jsonrpc import Kind, Message
from conformance.session import subscription_of

LISTEN_SECONDS = 1.0  # at most this long for a change on the first stream before it is cancelled
CANCEL_SECONDS = 1.0  # and at most this long after, for a change on the other stream
MAX_RESOURCES = 3  # resources subscribed to
ACK = "notifications/subscriptions/acknowledged"
KINDS = {
    "notifications/tools/list_changed": "toolsListChanged",
    "notifications/prompts/list_changed": "promptsListChanged",
    "notifications/resources/list_changed": "resourcesListChanged",
    "notifications/resources/updated": "resourceSubscriptions",
}  # notification -> its filter field
LIST_CHANGED = {"tools": "toolsListChanged", "prompts": "promptsListChanged", "resources": "resourcesListChanged"}


@dataclass
class Stream:
    id: Any
    wanted: dict
    opened_at: int  # transcript index of the listen request
    cancelled_at: int | None = None  # transcript index of its cancellation
    quiet_from: int | None = None  # transcript index from which the server had read the cancellation

    def owns(self, message: Message) -> bool:
        tag = subscription_of(message)
        return tag is not None and str(tag) == str(self.id)  # the id, as a string or as it was sent

    def changed(self, message: Message) -> bool:
        """A change notification on this stream."""
        return message.kind is Kind.NOTIFICATION and message.method in KINDS and self.owns(message)


@dataclass
class Observation:
    session: Any
    streams: list[Stream] = field(default_factory=list)
    refused: str = ""  # why listening was not possible

    def tagged(self, stream: Stream) -> list[tuple[int, Message]]:
        """Messages of `stream`, with their transcript index."""
        return [
            (i, e.message)
            for i, e in enumerate(self.session.transcript[stream.opened_at :], stream.opened_at)
            if e.direction == "<-" and e.message is not None and stream.owns(e.message)
        ]

    def change_notifications(self) -> list[Message]:
        return [
            m
            for m in self.session.received(self.streams[0].opened_at)
            if m.kind is Kind.NOTIFICATION and m.method in KINDS
        ]


def full_filter(session) -> dict:
    """Every kind the server declares it can send."""
    wanted = {
        flag: True
        for capability, flag in LIST_CHANGED.items()
        if (declares(session, capability) or {}).get("listChanged") is True
    }
    if (declares(session, "resources") or {}).get("subscribe") is True:
        try:
            listed = list_all(session, "resources/list", "resources").items
        except CheckFailed:
            listed = []  # test_resources_list reports it
        uris = [r["uri"] for r in listed if isinstance(r, dict) and isinstance(r.get("uri"), str)]
        if uris:
            wanted["resourceSubscriptions"] = uris[:MAX_RESOURCES]
    return wanted


def narrow_filter(wanted: dict) -> dict:
    """A single kind of `wanted`: resource updates if asked for (they change most)."""
    key = "resourceSubscriptions" if "resourceSubscriptions" in wanted else next(iter(wanted))
    return {key: wanted[key]}


def observe(target, revision: str) -> Observation:
    """The streams of `revision`, opened and watched once per run and shared by the checks;
    not applicable when there is nothing to listen to or the server does not listen."""
    modern_only(revision)
    target.shared(revision)  # skips a revision the server does not support
    if target.transport_kind != "stdio":
        not_applicable("subscription streams are judged on stdio (the suite cannot yet close one HTTP stream)")
    cache = target.__dict__.setdefault("_conformance_listen", {})
    if revision not in cache:
        cache[revision] = _open_and_watch(target, revision)
    seen = cache[revision]
    current().watch(seen.session, since=0)
    if seen.refused:
        not_applicable(seen.refused)
    return seen


def _open_and_watch(target, revision: str) -> Observation:
    session = target.connect(revision)
    session.open(revision)
    seen = Observation(session)
    wanted = full_filter(session)
    if not wanted:
        seen.refused = "the server declares no listChanged and no resources.subscribe: nothing to listen to"
        return seen
    for one in (wanted, narrow_filter(wanted)):
        mark = session.mark()
        seen.streams.append(Stream(session.listen(one), one, mark))
    session.wait_for(lambda m: all(s.id in session.responses or seen.tagged(s) for s in seen.streams), session.timeout)
    refusals = [
        session.responses[s.id]
        for s in seen.streams
        if s.id in session.responses and session.responses[s.id].kind is Kind.ERROR and not seen.tagged(s)
    ]
    if refusals:
        seen.refused = f"the server refused subscriptions/listen: {refusals[0].error}"
        return seen
    first, second = seen.streams
    if not any(first.changed(m) for _, m in seen.tagged(first)):
        session.wait_for(first.changed, LISTEN_SECONDS)
    session.barrier()  # whatever came with the acknowledgements and that change
    first.cancelled_at = session.mark()
    session.cancel(first.id, "the conformance suite is done with this stream")
    session.barrier()
    first.quiet_from = session.mark()
    session.wait_for(second.changed, CANCEL_SECONDS)  # second asked for a part of what first did
    session.barrier()  # first's copy of that news, had it been sent
    return seen


@requirement("2026-07-28/subscriptions-002", "2026-07-28/schema-046")
def test_listen_acknowledged(mcp_target, revision):
    """Each subscriptions/listen is acknowledged: the first message carrying its
    subscriptionId is notifications/subscriptions/acknowledged, whose filter is a part of
    what was asked for."""
    seen = observe(mcp_target, revision)
    for stream in seen.streams:
        tagged = [m for _, m in seen.tagged(stream)]
        expect(
            tagged,
            f"subscriptions/listen (id {stream.id!r}) got no message carrying its subscriptionId "
            f"(no acknowledgement) within {seen.session.timeout:g}s",
        )
        first = tagged[0]
        expect(
            first.method == ACK,
            f"the first message tagged with subscription {stream.id!r} is "
            f"{first.method or 'a response'}, not the acknowledgement",
        )
        honoured = (first.params or {}).get("notifications") if isinstance(first.params, dict) else None
        expect(isinstance(honoured, dict), f"the acknowledgement of {stream.id!r} has no notifications filter")
        extra = {
            k: v for k, v in honoured.items() if v not in (False, None, []) and not _asked(v, stream.wanted.get(k))
        }
        expect(
            not extra,
            f"subscription {stream.id!r} asked for {stream.wanted}; the acknowledgement also agrees to {extra}",
        )


def _asked(agreed, asked) -> bool:
    """Whether an acknowledged filter value is within what was asked for."""
    if isinstance(agreed, list):
        return isinstance(asked, list) and set(map(str, agreed)) <= set(map(str, asked))
    return agreed == asked


@requirement("2026-07-28/basic-062", "2026-07-28/schema-012")
def test_stream_notifications_tagged(mcp_target, revision):
    """Every change notification (tools, prompts, resources list changed; resource updated)
    sent while streams are open carries in `_meta` the subscriptionId of the stream it
    belongs to."""
    seen = observe(mcp_target, revision)
    changes = seen.change_notifications()
    if not changes:
        not_applicable(f"no change notification arrived in {LISTEN_SECONDS + CANCEL_SECONDS:g}s of listening")
    for message in changes:
        expect(
            any(s.owns(message) for s in seen.streams),
            f"{message.method} carries subscriptionId {subscription_of(message)!r}, which names none of the "
            f"open streams {[s.id for s in seen.streams]}",
        )


@requirement("2026-07-28/subscriptions-001")
def test_listen_filter_honoured(mcp_target, revision):
    """A stream carries only the notification kinds its filter asked for (besides its
    acknowledgement and the notice that it ended)."""
    seen = observe(mcp_target, revision)
    for stream in seen.streams:
        for _, message in seen.tagged(stream):
            if message.kind is not Kind.NOTIFICATION or message.method in (ACK, "notifications/cancelled"):
                continue
            field_ = KINDS.get(message.method)
            expect(
                field_ in stream.wanted,
                f"subscription {stream.id!r} asked for {stream.wanted}, yet carries {message.method}",
            )


@requirement("2026-07-28/cancellation-014")
def test_listen_cancel_ends_stream(mcp_target, revision):
    """After the client cancels a stream (notifications/cancelled naming it), the server
    should send nothing more on it: nothing tagged with it arrives after the answer to a
    server/discover sent after the cancellation, up to a change on the other stream (which
    asked for a part of what this one did) or CANCEL_SECONDS."""
    seen = observe(mcp_target, revision)
    stream = seen.streams[0]
    before = [m for i, m in seen.tagged(stream) if i < stream.cancelled_at and m.method in KINDS]
    if not before:
        not_applicable(
            "the stream carried no change notification before it was cancelled, so silence after "
            "the cancellation proves nothing"
        )
    late = [m for i, m in seen.tagged(stream) if i >= stream.quiet_from and m.method in KINDS]
    should(
        not late,
        f"{len(late)} notification(s) arrived on subscription {stream.id!r} after the server had "
        "read its cancellation (a server/discover sent after it was answered first)",
    )
    if any(m.is_response for _, m in seen.tagged(stream)):
        info("the server answered the cancelled subscriptions/listen request")


@requirement("2026-07-28/cancellation-003", "2026-07-28/cancellation-013")
def test_server_cancels_only_subscriptions(mcp_target, revision):
    """A server sends notifications/cancelled only to end a subscriptions/listen stream:
    its requestId names a listen request."""
    seen = observe(mcp_target, revision)
    listens = [s.id for s in seen.streams]
    for message in seen.session.received():
        if message.kind is Kind.NOTIFICATION and message.method == "notifications/cancelled":
            named = message.params.get("requestId") if isinstance(message.params, dict) else None
            expect(
                any(str(named) == str(i) for i in listens),
                f"the server sent notifications/cancelled naming {named!r}, which is no subscriptions/listen "
                f"request (those were {listens})",
            )
