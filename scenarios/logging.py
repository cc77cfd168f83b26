"""Logging: the level a client asks for, and log messages (notifications/message) that
respect it. Up to 2025-11-25 the level is set for the connection with logging/setLevel;
from 2026-07-28 on it is asked for per request (`io.modelcontextprotocol/logLevel` in
`_meta`). Checks that set a valid level use their own connection, since it holds for the
rest of the connection. The level filter is judged on ordinary requests and on a call of
each tool the calling policy allows (tools are where servers log).

Two sweeps judge every log message of the run on the connections the suite keeps open
(the shared one, the client-feature exchanges, which call tools, and the level check's):
log messages need the logging capability, and (2026-07-28) a request that asked for them.
A log message belongs to the requests in flight when it arrives (sent, not yet answered):
on stdio nothing else ties a notification to its request.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging
"""

from conformance.scenarios.capabilities import LOG_LEVEL_META, exercise
from conformance.scenarios.client_features import MAX_TOOLS_CALLED, PROFILES, exchange

from conformance import generate, jsonrpc
from conformance.checks import (
    CheckFailed,
    blocked,
    current,
    expect,
    modern_only,
    not_applicable,
    requirement,
    should,
    sweep,
)
from conformance.discovery import await_calls, declares, input_schema, list_all, may_call, occasion_quiet, send_calls
from conformance.jsonrpc import INVALID_PARAMS, Kind

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
NOT_A_LEVEL = "mcp-conformance-verbose"
LEVEL_CONNECTIONS = "_conformance_logging_connections"  # on the target: revision -> the level check's session


def logging_declared(session) -> None:
    if declares(session, "logging") is None:
        not_applicable("the server does not declare the logging capability")


def set_level(session, level: str):
    return session.request("logging/setLevel", {"level": level})


def per_request(level: str) -> dict:
    return {"_meta": {LOG_LEVEL_META: level}}


def log_messages(messages) -> list:
    return [m for m in messages if m.kind is Kind.NOTIFICATION and m.method == "notifications/message"]


def logs_at(session, level: str, policy: str) -> list | None:
    """Ask for `level`, make ordinary requests and call each tool `policy` allows; return
    the log messages that followed (None if the server refused the level)."""
    if not session.modern and set_level(session, level).kind is not Kind.RESULT:
        return None
    extra = per_request(level) if session.modern else None
    mark = session.mark()
    exercise(session, extra)
    call_each_tool(session, policy, extra)
    session.barrier()  # log messages that trail the last answer
    return log_messages(session.received(mark))


def call_each_tool(session, policy: str, extra: dict | None) -> None:
    """Call once (arguments drawn from its inputSchema) each listed tool `policy` allows,
    with `extra` in the params, all at once; a call the server has been silent on for
    timeout/25 s is given up (discovery.await_calls)."""
    if declares(session, "tools") is None or policy == "none":
        return
    try:
        tools = list_all(session, "tools/list", "tools").items
    except CheckFailed:  # judged by the tools checks
        return
    allowed = [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str) and may_call(t, policy)]
    planned = [
        (tool, arguments)
        for tool in allowed[:MAX_TOOLS_CALLED]
        for arguments in generate.examples(input_schema(tool), 1)
    ]
    calls = send_calls(session, planned, extra)
    await_calls(session, calls, occasion_quiet(session))
    broken = next((call for call in calls if call.failure and not call.timed_out), None)
    if broken is not None:
        blocked(f"calling {broken.name} ended the connection ({broken.failure})", "test_tool_calls_answered")


def level_connection(target, revision: str):
    """A fresh connection for the level check, kept open (and judged by the sweeps below)."""
    session = target.connect(revision)
    current().watch(session)
    session.open(revision)
    target.__dict__.setdefault(LEVEL_CONNECTIONS, {})[revision] = session
    return session


def tool_calls(session) -> int:
    return sum(
        e.direction == "->" and e.message is not None and e.message.method == "tools/call" for e in session.transcript
    )


def level_of(message) -> str | None:
    level = (message.params or {}).get("level") if isinstance(message.params, dict) else None
    return level if level in LEVELS else None


def describe(message) -> str:
    params = message.params if isinstance(message.params, dict) else {}
    data = jsonrpc.encode(params.get("data")).decode()[:120]
    return f"[{params.get('level')}] {params.get('logger', '(no logger)')}: {data}"


def by_connection(found: list[tuple[str, list]]) -> str:
    """One line per connection: how many log messages, and the first three."""
    return "\n".join(
        f"{name}: {len(messages)} log message(s): " + "; ".join(map(describe, messages[:3]))
        for name, messages in found
        if messages
    )


@requirement("logging-002")
def test_logging_set_level(mcp, mcp_connect, revision):
    """logging/setLevel with each of the eight levels (debug .. emergency) gets a result; the
    result should be empty (`_meta` aside)."""
    if revision >= "2026":
        not_applicable(f"{revision} has no logging/setLevel (the level is asked for per request)")
    logging_declared(mcp)
    session = mcp_connect()
    refused = []
    for level in LEVELS:
        response = set_level(session, level)
        if response.kind is not Kind.RESULT:
            refused.append(f"{level}: {response.error}")
            continue
        extra = {k: v for k, v in response.result.items() if k != "_meta"}
        should(not extra, f"the setLevel result for {level!r} should be empty, it carries {extra}")
    expect(not refused, "logging/setLevel refused valid levels: " + "; ".join(refused))


@requirement("logging-003", "2026-07-28/logging-006")
def test_logging_invalid_level(mcp, revision):
    """A level that does not exist should get error -32602 (Invalid params): in
    logging/setLevel, or (from 2026-07-28 on) as the per-request level of a request."""
    logging_declared(mcp)
    if mcp.modern:
        response = mcp.request(mcp.probe_method, per_request(NOT_A_LEVEL))
    else:
        response = set_level(mcp, NOT_A_LEVEL)  # refused, it leaves the shared connection as it was
    if not should(response.kind is Kind.ERROR, f"the unknown level {NOT_A_LEVEL!r} was accepted"):
        return
    should(response.error_code == INVALID_PARAMS, f"an unknown level should get -32602, got {response.error_code!r}")


@requirement("logging-002", "2026-07-28/logging-004")
def test_logging_respects_level(mcp, mcp_target, revision):
    """Asked for "emergency" (logging/setLevel, or from 2026-07-28 on each request's
    `_meta`), the server should send no log message of a lower level: the level asked for is
    the minimum the client wants to receive. Judged while the suite makes ordinary requests
    and calls each tool the calling policy allows; a server that logs nothing even at
    "debug" cannot be judged (not applicable)."""
    logging_declared(mcp)
    session = level_connection(mcp_target, revision)
    quiet = logs_at(session, "emergency", mcp_target.call_tools)
    if quiet is None:
        not_applicable('setLevel "emergency" was refused (see test_logging_set_level)')
    below = [describe(m) for m in quiet if level_of(m) not in (None, "emergency")]
    should(
        not below, f'{len(below)} log message(s) below "emergency" arrived after asking for it: ' + "; ".join(below[:3])
    )
    if not below and not logs_at(session, "debug", mcp_target.call_tools):
        not_applicable(
            'the server sent no log messages, even at level "debug", during the requests made '
            f"(ordinary requests and {tool_calls(session)} tool call(s))"
        )


# -- sweeps: every log message of the run --------------------------------------------------
def held_connections(target, revision: str) -> list[tuple[str, object]]:
    """(name, session) of each connection the suite keeps open for `revision`, watched by
    the calling check (their wire validity is judged elsewhere)."""
    held = [("the shared connection", target.shared(revision))]
    held += [
        (f"the exchange of client profile {profile!r}", exchange(target, revision, profile).session)
        for profile in PROFILES
    ]
    own = target.__dict__.get(LEVEL_CONNECTIONS, {}).get(revision)
    if own is not None:
        held.append(("test_logging_respects_level's connection", own))
    for _, session in held:
        current().watch(session, since=0)
    return held


def requested_level(message) -> str | None:
    """The log level a request of the suite asked for in its `_meta` (modern era)."""
    params = message.params if isinstance(message.params, dict) else {}
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    return meta.get(LOG_LEVEL_META)


def unasked_logs(session) -> list:
    """The log messages that arrived while no request in flight (sent by the suite, not yet
    answered) had asked for logs."""
    in_flight: dict[str, str | None] = {}  # request id -> the log level it asked for
    found = []
    for entry in session.transcript:
        message = entry.message
        if message is None or message.kind is Kind.BATCH:
            continue
        if entry.direction == "->" and message.kind is Kind.REQUEST:
            in_flight[str(message.id)] = requested_level(message)
        elif entry.direction == "<-" and message.is_response and message.has_id:
            in_flight.pop(str(message.id), None)
        elif entry.direction == "<-" and log_messages([message]) and not any(in_flight.values()):
            found.append(message)
    return found


@sweep
@requirement("logging-001", "2026-07-28/logging-002")
def test_log_messages_need_capability(mcp_target, revision):
    """A server sends notifications/message only if it declared the `logging` capability
    (at initialize, or in 2026-07-28 in the server/discover result). Judged on every log
    message of the connections the suite keeps open, tool calls included. Not applicable
    when the server declares logging, or declares it not and sent no log message."""
    held = held_connections(mcp_target, revision)
    undeclared = [(name, session) for name, session in held if declares(session, "logging") is None]
    if not undeclared:
        not_applicable("the server declares the logging capability")
    found = [(name, log_messages(session.received())) for name, session in undeclared]
    expect(
        not any(messages for _, messages in found),
        "log messages arrived, but the server declares no logging capability:\n" + by_connection(found),
    )
    not_applicable(
        f"the server declares no logging capability and sent no log message on {len(undeclared)} "
        "connection(s), tool calls included: the rule was not exercised"
    )


@sweep
@requirement("2026-07-28/logging-003", "2026-07-28/schema-011")
def test_log_messages_only_when_asked(mcp_target, revision):
    """2026-07-28: a server sends notifications/message only for a request whose `_meta`
    carries `io.modelcontextprotocol/logLevel`, before that request's response. A log
    message is judged by the requests in flight when it arrived: at least one must have
    asked for logs. Judged on every connection the suite keeps open (the suite's requests
    name no level unless a logging check asks for one); not applicable when no log message
    arrived at all."""
    modern_only(revision)
    held = held_connections(mcp_target, revision)
    found = [(name, unasked_logs(session)) for name, session in held]
    expect(
        not any(messages for _, messages in found),
        "log messages arrived while no request in flight had "
        f"asked for logs ({LOG_LEVEL_META} in _meta):\n" + by_connection(found),
    )
    if not any(log_messages(session.received()) for _, session in held):
        not_applicable(
            f"the server sent no log message on the {len(held)} connections held, tool calls included: nothing to judge"
        )
