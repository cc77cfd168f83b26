"""Logging: the level a client asks for, and log messages (notifications/message) that
respect it. Up to 2025-11-25 the level is set for the connection with logging/setLevel;
from 2026-07-28 on it is asked for per request (`io.modelcontextprotocol/logLevel` in
`_meta`). Checks that set a valid level use their own connection, since it holds for the
rest of the connection.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging
"""

from conformance.checks import expect, not_applicable, requirement, should
from conformance.discovery import declares
from conformance.jsonrpc import INVALID_PARAMS, Kind
from conformance.scenarios.capabilities import LOG_LEVEL_META, exercise

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
NOT_A_LEVEL = "mcp-conformance-verbose"
LOG_WINDOW = 0.1  # seconds to let log messages caused by the requests arrive


def logging_declared(session) -> None:
    if declares(session, "logging") is None:
        not_applicable("the server does not declare the logging capability")


def set_level(session, level: str):
    return session.request("logging/setLevel", {"level": level})


def per_request(level: str) -> dict:
    return {"_meta": {LOG_LEVEL_META: level}}


def log_messages(messages) -> list:
    return [m for m in messages if m.kind is Kind.NOTIFICATION and m.method == "notifications/message"]


def logs_at(session, level: str) -> list | None:
    """Ask for `level`, make ordinary requests, return the log messages that followed (None
    if the server refused the level)."""
    if not session.modern and set_level(session, level).kind is not Kind.RESULT:
        return None
    mark = session.mark()
    exercise(session, per_request(level) if session.modern else None)
    session.drain(LOG_WINDOW)
    return log_messages(session.received(mark))


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
    should(response.error_code == INVALID_PARAMS,
           f"an unknown level should get -32602, got {response.error_code!r}")


@requirement("logging-002", "2026-07-28/logging-004")
def test_logging_respects_level(mcp, mcp_connect, revision):
    """Asked for "emergency", the server should send no log message of a lower level: the
    level asked for is the minimum the client wants to receive. Judged while the suite
    makes ordinary requests; a server that logs nothing even at "debug" cannot be judged."""
    logging_declared(mcp)
    session = mcp_connect()
    quiet = logs_at(session, "emergency")
    if quiet is None:
        not_applicable('setLevel "emergency" was refused (see test_logging_set_level)')
    below = [m.text()[:200] for m in quiet if (m.params or {}).get("level") != "emergency"]
    should(not below, f'{len(below)} log message(s) below "emergency" arrived after asking for it: {below[:3]}')
    chatty = logs_at(session, "debug")
    if not below and not chatty:
        not_applicable('the server sent no log messages, even at level "debug", during the requests made')
