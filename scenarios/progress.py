"""Progress and cancellation, in discovery mode. The tool calls made for the tools checks
(see tools.py: only tools the calling policy allows, on a connection of their own) each
carry a fresh progress token; the progress notifications they draw are judged here. A
server may send no progress at all: then these checks do not apply.

Cancellation needs a request known to be still running: a call of a tool that reported
progress before it finished is repeated and cancelled after its first progress
notification.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress
      https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/cancellation
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from conformance.checks import current, expect, fail, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.discovery import ToolCall, call_params, issued_token, new_token
from conformance.scenarios.tools import Exercise, exercised
from conformance.session import NoResponse
from conformance.transport import TransportError

PROGRESS = "notifications/progress"
TRAILING_WINDOW = 0.05  # seconds to wait for progress that trails the last response


@dataclass
class Notice:
    """One progress notification and where it sits in the transcript."""

    index: int
    token: object
    progress: object


def progress_notices(session, since: int) -> list[Notice]:
    return [Notice(i, e.message.params.get("progressToken"), e.message.params.get("progress"))
            for i, e in enumerate(session.transcript[since:], since)
            if e.direction == "<-" and e.message and e.message.kind is Kind.NOTIFICATION
            and e.message.method == PROGRESS and isinstance(e.message.params, dict)]


def response_index(session, call: ToolCall) -> int | None:
    return next((i for i, e in enumerate(session.transcript[call.sent_at:], call.sent_at)
                 if call.response is not None and e.message is call.response), None)


def observed(target, shared, revision: str) -> tuple[Exercise, list[Notice]]:
    """The generated tool calls and every progress notification since the first of them;
    not applicable when nothing was called or no progress arrived."""
    exercise = exercised(target, shared, revision)
    if not exercise.calls:
        not_applicable("no tool was called, so no request carried a progress token")
    session = exercise.session
    if not exercise.settled:
        current().watch(session)  # what trails the calls is judged by the check that waits for it
        session.drain(TRAILING_WINDOW)
        exercise.settled = True
    notices = progress_notices(session, exercise.started_at)
    if not notices:
        not_applicable(f"the server sent no progress for {len(exercise.calls)} tool calls that asked for it "
                       "(sending none is allowed)")
    return exercise, notices


@requirement("progress-010", "progress-011", "2026-07-28/progress-011", "2026-07-28/progress-012")
def test_progress_tokens_known(mcp, mcp_target, revision):
    """Progress notifications name only progress tokens the client sent in its requests."""
    _, notices = observed(mcp_target, mcp, revision)
    foreign = sorted({repr(n.token) for n in notices if not issued_token(n.token)})
    expect(not foreign, f"progress notifications for tokens the client never sent: {', '.join(foreign)}")


@requirement("progress-007", "2026-07-28/progress-008")
def test_progress_increases(mcp, mcp_target, revision):
    """For each progress token, `progress` increases with every notification (even when no
    total is known): never repeated, never going back."""
    _, notices = observed(mcp_target, mcp, revision)
    by_token = defaultdict(list)
    for notice in notices:
        by_token[repr(notice.token)].append(notice.progress)
    stalled = {token: values for token, values in by_token.items()
               if any(not later > earlier for earlier, later in zip(values, values[1:]))}
    expect(not stalled, "progress does not increase: " + "; ".join(f"token {t}: {v}" for t, v in stalled.items()))


@requirement("progress-020", "progress-011", "2026-07-28/progress-018", "2026-07-28/progress-012")
def test_no_progress_after_response(mcp, mcp_target, revision):
    """Once a request has its response, no more progress notifications arrive for its
    token."""
    exercise, notices = observed(mcp_target, mcp, revision)
    late = []
    for call in exercise.calls:
        answered_at = response_index(exercise.session, call)
        after = [n.progress for n in notices if n.token == call.token and answered_at is not None
                 and n.index > answered_at]
        if after:
            late.append(f"{call.name} (token {call.token!r}): progress {after} after the response")
    expect(not late, "\n".join(late))


# -- cancellation ------------------------------------------------------------------------------
def call_seen_running(session, exercise: Exercise, notices: list[Notice]) -> ToolCall:
    """The answered call that reported the most progress before its response."""
    def progress_before_response(call: ToolCall) -> int:
        answered_at = response_index(session, call)
        return sum(1 for n in notices if n.token == call.token and answered_at is not None and n.index < answered_at)
    running = [c for c in exercise.calls if progress_before_response(c)]
    if not running:
        not_applicable("no tool call reported progress before its response, so no request is known to "
                       "run long enough to be cancelled")
    return max(running, key=progress_before_response)


def is_progress_for(message, token: str) -> bool:
    return message.method == PROGRESS and isinstance(message.params, dict) \
        and message.params.get("progressToken") == token


def start_call(session, call: ToolCall) -> tuple[int, str]:
    """Send the same call again without waiting for it: (request id, progress token)."""
    request_id, token = session.next_id(), new_token()
    try:
        session.request("tools/call", call_params(call.tool, call.arguments, token), id=request_id, timeout=0)
    except NoResponse:
        pass  # a zero timeout: sent, and its answer is awaited by the caller
    return request_id, token


@requirement("cancellation-005", "cancellation-007", "cancellation-012", "2026-07-28/cancellation-014",
             "2026-07-28/cancellation-016", "2026-07-28/cancellation-021")
def test_cancelled_request_not_answered(mcp, mcp_target, revision):
    """A tool call cancelled (notifications/cancelled) while it is running, as its progress
    shows, should get no response. A server may ignore cancellation of work it cannot
    stop, so a response is a warning. Either way the server keeps answering (ping)."""
    exercise, notices = observed(mcp_target, mcp, revision)
    session = exercise.session  # the connection whose calls showed progress
    model = call_seen_running(session, exercise, notices)
    current().watch(session)
    request_id, token = start_call(session, model)
    running = session.wait_for(lambda m: request_id in session.responses or is_progress_for(m, token),
                               session.timeout)
    if running is None or request_id in session.responses:
        not_applicable(f"the repeated call of {model.name} "
                       f"{'finished' if running else 'reported no progress'} before it could be cancelled")
    session.notify("notifications/cancelled", {"requestId": request_id, "reason": "mcp-conformance: cancellation"})
    # Long enough for the response the earlier, uncancelled call took to arrive.
    window = min(session.timeout, max(0.2, 1.2 * model.seconds + 0.05))
    answered = session.wait_for(lambda m: request_id in session.responses, window)
    should(answered is None, f"the cancelled call of {model.name} (id {request_id}) was still answered; "
                             "a cancelled request should get no response")
    try:
        session.request("ping")
    except TransportError as error:
        fail(f"after a cancellation the server no longer answers ping: {error.reason}")
