"""Base protocol rules for what the server itself sends: `_meta` key names, the ids of
its own requests, notifications without ids, progress token types; and from 2026-07-28 on
no requests at all and only known `resultType` values.

Judged over every message received during a bounded exchange on a fresh connection that
declares the client capabilities a capable client would (sampling, elicitation, roots):
the server's lists, then each tool the calling policy allows, called a few times (see
client_features.py, whose "full" connection this is).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic (Messages, _meta)
and .../basic/utilities/progress
"""

from __future__ import annotations

import pytest
from conformance.scenarios.client_features import PROFILES, exchange
from conformance.scenarios.tools import exercised

from conformance import ledger
from conformance.checks import current, expect, fail, info, modern_only, not_applicable, requirement, sweep
from conformance.discovery import capabilities as declared_capabilities
from conformance.jsonrpc import Kind, Message
from conformance.wire import meta_key_problem, metas


def received(mcp_target, revision: str) -> list[Message]:
    """Every message the server sent on the exchange's connection (watched by the check)."""
    mcp_target.shared(revision)  # skips a revision the server does not support
    made = exchange(mcp_target, revision, "full")
    current().watch(made.session, since=made.started_at)  # test_messages_valid owns their validity
    messages = made.received()
    if not messages:
        not_applicable("the server sent nothing during the exchange")
    return messages


def with_tool_calls(mcp_target, revision: str) -> list[Message]:
    """What the server sent during the exchange and during the tools exercise, whose calls
    ask for progress (the exchange's do not), both watched by the calling check."""
    messages = received(mcp_target, revision)
    try:
        run = exercised(mcp_target, mcp_target.shared(revision), revision)
    except pytest.skip.Exception:
        return messages  # no tool may be called: the exchange alone is judged
    current().watch(run.session, since=run.started_at)
    return messages + run.session.received(run.started_at)


def describe(message: Message) -> str:
    if message.method:
        return f"{message.method} (id {message.id!r})" if message.has_id else message.method
    return f"response to id {message.id!r}"


@requirement(
    "basic-026",
    "basic-027",
    "basic-029",
    "2026-07-28/basic-048",
    "2026-07-28/basic-049",
    "2026-07-28/basic-051",
    "2026-07-28/schema-002",
    "2026-07-28/schema-005",
)
def test_meta_keys_well_formed(mcp_target, revision):
    """Every `_meta` key the server sends follows the key-name rules: an optional prefix of
    dot-separated labels (each starting with a letter, ending with a letter or digit, with
    hyphens inside) ending in a slash, then a name that, unless empty, starts and ends with
    a letter or digit."""
    problems, judged = [], 0
    for message in received(mcp_target, revision):
        for where, meta in metas(message.obj):
            for key in meta:
                judged += 1
                problem = meta_key_problem(str(key))
                if problem:
                    problems.append(f"{describe(message)}: _meta key {key!r} at {where}: {problem}")
    if not judged:
        not_applicable("the server sent no _meta keys during the exchange")
    expect(not problems, "\n".join(dict.fromkeys(problems)))


def id_key(value) -> tuple[str, object]:
    return type(value).__name__, value


@requirement("basic-004", "basic-005", "basic-006", "2026-07-28/basic-004")
def test_server_request_ids(mcp_target, revision):
    """Each request the server sends has a string or integer id (never null, never a
    fraction or a boolean), and no id is used twice in the session."""
    requests = [m for m in received(mcp_target, revision) if m.kind is Kind.REQUEST]
    if not requests:
        not_applicable("the server sent no requests during the exchange")
    problems, seen = [], set()
    for request in requests:
        value = request.id
        if value is None:
            problems.append(f"{request.method}: the request id is null")
            continue
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            problems.append(
                f"{request.method}: the request id {value!r} is a {type(value).__name__}, not a string or an integer"
            )
            continue
        if id_key(value) in seen:
            problems.append(f"{request.method}: the request id {value!r} was already used in this session")
        seen.add(id_key(value))
    expect(not problems, "\n".join(dict.fromkeys(problems)))


@requirement("basic-014")
def test_notifications_have_no_id(mcp_target, revision):
    """A notification the server sends (a `notifications/...` method) carries no `id`
    (judged on the exchange and the tools exercise)."""
    messages = [m for m in with_tool_calls(mcp_target, revision) if isinstance(m.method, str)]
    notices = [m for m in messages if m.method.startswith("notifications/")]
    if not notices:
        not_applicable("the server sent no notifications during the exchange or the tool calls")
    wrong = [f"{m.method} carries id {m.id!r}" for m in notices if m.has_id]
    expect(not wrong, "notifications must not carry an id: " + "; ".join(wrong))


def progress_tokens(message: Message) -> list:
    params = message.params if isinstance(message.params, dict) else {}
    if message.method == "notifications/progress" and "progressToken" in params:
        return [params["progressToken"]]
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    return [meta["progressToken"]] if message.kind is Kind.REQUEST and "progressToken" in meta else []


@requirement("progress-001", "2026-07-28/progress-002")
def test_progress_tokens_typed(mcp_target, revision):
    """Every progress token the server sends (in its progress notifications, or in the
    `_meta` of its own requests) is a string or an integer (judged on the exchange and the
    tools exercise)."""
    tokens = [(m, t) for m in with_tool_calls(mcp_target, revision) for t in progress_tokens(m)]
    if not tokens:
        not_applicable("the server sent no progress token during the exchange or the tool calls")
    mistyped = [
        (m, t) for m, t in tokens if not (isinstance(t, str) or (isinstance(t, int) and not isinstance(t, bool)))
    ]
    if mistyped:
        fail(
            "progress tokens must be strings or integers: "
            + "; ".join(f"{describe(m)}: progress token {t!r} is a {type(t).__name__}" for m, t in mistyped),
            claimed(current().sessions, {id(m) for m, _ in mistyped}),
        )


def claimed(sessions, messages: set[int]) -> list:
    """The schema signatures of the watched messages (by id()) this check failed for, so
    that the sweep does not report them again."""
    return list(
        dict.fromkeys(
            ledger.signature_of(e, v)
            for session, _ in sessions
            for e in session.transcript
            if id(e.message) in messages
            for v in e.violations
        )
    )


@requirement("2026-07-28/transports-002")
def test_server_sends_no_requests(mcp_target, revision):
    """From 2026-07-28 on a server sends only responses and notifications: it asks the
    client for anything inside a result (multi round-trip), never with a request."""
    modern_only(revision)
    requests = [m for m in received(mcp_target, revision) if m.kind is Kind.REQUEST]
    expect(not requests, "the server sent requests: " + "; ".join(describe(m) for m in requests[:5]))


CORE_RESULT_TYPES = ("complete", "input_required")


@requirement("2026-07-28/basic-012")
def test_result_types_known(mcp_target, revision):
    """Every `resultType` the server sends is a core one ("complete", "input_required"),
    unless the server advertises extensions, which may add their own (then only noted)."""
    modern_only(revision)
    results = [m for m in received(mcp_target, revision) if m.kind is Kind.RESULT and isinstance(m.result, dict)]
    unknown = {
        f"{describe(m)}: resultType {m.result['resultType']!r}"
        for m in results
        if "resultType" in m.result and m.result["resultType"] not in CORE_RESULT_TYPES
    }
    capabilities = declared_capabilities(exchange(mcp_target, revision, "full").session)
    if unknown and capabilities.get("extensions"):
        info(
            "resultType values outside the core ones, maybe from an advertised extension: " + "; ".join(sorted(unknown))
        )
        return
    expect(
        not unknown,
        "resultType values that are neither core nor from an advertised extension "
        "(the server advertises none): " + "; ".join(sorted(unknown)),
    )


@sweep
@requirement("basic-003", "lifecycle-015", "2026-07-28/basic-003")
def test_messages_valid(mcp_target, revision):
    """Every message the server sent on any connection of this run, in this revision, is
    valid against the revision's schema: the handshake, every check's exchanges, and those
    serving clients of each declared capability profile (lists, allowed tool calls, the
    requests the server sends back), which this check makes if no other check did. The one
    owner of schema validity: each distinct problem (definition, JSON path, method) is
    reported here once, with its first occurrence, unless a check that validated that
    message itself already failed for it."""
    mcp_target.shared(revision)  # skips a revision the server does not support
    for profile in PROFILES:
        exchange(mcp_target, revision, profile)
    seen = ledger.LEDGER.unclaimed(revision)
    if seen:
        fail(
            f"{len(seen)} distinct schema violation(s) in what the server sent:\n"
            + "\n".join(f"- {s.signature}\n  on {s.connection}: {s.text}" for s in seen[:20]),
            [s.signature for s in seen],
        )
