"""Progress and cancellation, in discovery mode. The tool calls made for the tools checks
(see tools.py: only tools the calling policy allows, on a connection of their own) each
carry a fresh progress token; the progress notifications they draw are judged here. A
server may send no progress at all: then these checks do not apply.

Cancellation needs a request known to be still running: a tool that reported progress is
called again, with arguments stretched to keep it running for a tenth of the timeout
(LASTING_SHARE: 0.5 s at the default 5 s) where its inputSchema has a duration or step
count, and cancelled after its first progress notification.

Races are not violations. A message is "after" something the suite sent only if the
transport received it after that was sent (`Session.received_after`, by the transcript's times),
never because the session happened to read it later; and a response to a cancelled call
counts only if the server sent it knowing of the cancellation (after it answered a ping
sent behind the cancellation). The spec expects a cancellation to cross a response.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress
      https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/cancellation
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

from conformance.scenarios.tools import EXERCISE, PROGRESS, Exercise, exercised, is_progress_for

from conformance import generate
from conformance.checks import blocked, current, expect, fail, not_applicable, requirement, should
from conformance.discovery import ToolCall, call_params, input_schema, issued_token, new_token
from conformance.jsonrpc import Kind
from conformance.occasions import uses
from conformance.transport import TransportError

TRAILING_WINDOW = 0.05  # seconds to wait for progress that trails the last response (unordered transports)
LASTING_SHARE = 0.1  # of the timeout: how long the call to be cancelled is made to run
LASTING_STEPS = 4  # its step count beside a duration: the first progress comes a quarter of the way in
STEPS_ALONE = 10  # its step count when the schema names no duration
MIN_SILENCE = 0.2  # seconds a cancelled call is watched at least for a response it should not get

DURATION_WORDS = {"duration", "delay", "sleep", "seconds", "secs", "wait", "ms", "millis", "milliseconds"}
MILLISECOND_WORDS = {"ms", "millis", "milliseconds"}
STEP_WORDS = {"steps", "count", "iterations", "repeat", "repeats", "ticks", "loops"}


# -- the transcript's order ---------------------------------------------------------------------
def entry_of(session, message, since: int = 0) -> int | None:
    """The transcript index of the entry that received `message` (None if it is not there)."""
    return next(
        (
            i
            for i in range(since, len(session.transcript))
            if message is not None and session.transcript[i].message is message
        ),
        None,
    )


# -- what the exercise drew -----------------------------------------------------------------------
@dataclass
class Notice:
    """One progress notification and where it sits in the transcript."""

    index: int
    token: object
    progress: object


def progress_notices(session, since: int) -> list[Notice]:
    return [
        Notice(i, e.message.params.get("progressToken"), e.message.params.get("progress"))
        for i, e in enumerate(session.transcript[since:], since)
        if e.direction == "<-"
        and e.message
        and e.message.kind is Kind.NOTIFICATION
        and e.message.method == PROGRESS
        and isinstance(e.message.params, dict)
    ]


def response_index(session, call: ToolCall) -> int | None:
    return entry_of(session, call.response, call.sent_at)


def observed(target, shared, revision: str) -> tuple[Exercise, list[Notice]]:
    """The generated tool calls and every progress notification since the first of them;
    not applicable when nothing was called or no progress arrived."""
    exercise = exercised(target, shared, revision)
    if not exercise.calls:
        not_applicable("no tool was called, so no request carried a progress token")
    session = exercise.session
    if not exercise.settled:
        current().watch(session)  # what trails the calls is judged by the check that waits for it
        trailing(exercise)
        exercise.settled = True
    notices = progress_notices(session, exercise.started_at)
    if not notices:
        not_applicable(
            f"the server sent no progress for {len(exercise.calls)} tool calls that asked for it "
            "(sending none is allowed)"
        )
    mistyped = sorted(
        {repr(n.token) for n in notices if isinstance(n.token, bool) or not isinstance(n.token, (str, int))}
    )
    if mistyped:  # tokens of no valid type cannot be told apart or matched to requests
        blocked(
            f"progress notifications carry tokens that are neither strings nor integers: {', '.join(mistyped)}",
            "test_progress_tokens_typed",
        )
    return exercise, notices


def trailing(exercise: Exercise) -> None:
    """Read what trails the exercise's last response, up to a barrier (Session.barrier;
    TRAILING_WINDOW where the transport does not order messages). A connection that
    stopped answering gets only the window (judged by test_tool_calls_answered)."""
    session = exercise.session
    try:
        if exercise.broke:
            session.drain(min(TRAILING_WINDOW, session.timeout))
        else:
            session.barrier(window=min(TRAILING_WINDOW, session.timeout))
    except TransportError:
        pass  # the connection ended: what arrived is judged, the end by test_tool_calls_answered


@uses(EXERCISE)
@requirement("progress-010", "progress-011", "2026-07-28/progress-011", "2026-07-28/progress-012")
def test_progress_tokens_known(mcp, mcp_target, revision):
    """Progress notifications name only progress tokens the client sent in its requests.
    Judged on the exercise's tool calls (tools.py: each awaited for the timeout, or a fifth
    of it once it reports progress) and what trails them up to a barrier."""
    _, notices = observed(mcp_target, mcp, revision)
    foreign = sorted({repr(n.token) for n in notices if not issued_token(n.token)})
    expect(not foreign, f"progress notifications for tokens the client never sent: {', '.join(foreign)}")


@uses(EXERCISE)
@requirement("progress-007", "2026-07-28/progress-008")
def test_progress_increases(mcp, mcp_target, revision):
    """For each progress token, `progress` increases with every notification (even when no
    total is known): never repeated, never going back."""
    _, notices = observed(mcp_target, mcp, revision)
    by_token = defaultdict(list)
    for notice in notices:
        by_token[repr(notice.token)].append(notice.progress)
    stalled = {
        token: values
        for token, values in by_token.items()
        if any(not later > earlier for earlier, later in zip(values, values[1:]))
    }
    expect(not stalled, "progress does not increase: " + "; ".join(f"token {t}: {v}" for t, v in stalled.items()))


@uses(EXERCISE)
@requirement("progress-020", "progress-011", "2026-07-28/progress-018", "2026-07-28/progress-012")
def test_no_progress_after_response(mcp, mcp_target, revision):
    """Once a request has its response, no more progress notifications arrive for its
    token: none received after the response was (`Session.received_after`). Judged on the calls
    that were answered; the ones the suite gave up on are not."""
    exercise, notices = observed(mcp_target, mcp, revision)
    late = []
    for call in exercise.calls:
        answered_at = response_index(exercise.session, call)
        if answered_at is None:
            continue
        values = [
            n.progress
            for n in notices
            if n.token == call.token and exercise.session.received_after(n.index, answered_at)
        ]
        if values:
            late.append(f"{call.name} (token {call.token!r}): progress {values} after the response")
    expect(not late, "\n".join(late))


# -- cancellation ------------------------------------------------------------------------------
def progress_while_running(session, call: ToolCall, notices: list[Notice]) -> int:
    """How many progress notifications `call` drew before its response (all of them when it
    had none: the suite gave up on it while it was still running)."""
    answered_at = response_index(session, call)
    return sum(
        1
        for n in notices
        if n.token == call.token and (answered_at is None or session.received_after(answered_at, n.index))
    )


def call_seen_running(session, exercise: Exercise, notices: list[Notice]) -> ToolCall:
    """The call to repeat and cancel: one that reported progress while it ran; of those, a
    tool whose arguments can keep it running (a duration, then a step count) first, then
    the one with the most progress."""
    running = [c for c in exercise.calls if progress_while_running(session, c, notices)]
    if not running:
        not_applicable(
            "no tool call reported progress before its response, so no request is known to "
            "run long enough to be cancelled"
        )
    return max(
        running,
        key=lambda c: (
            bool(knobs(c.tool, DURATION_WORDS)),
            bool(knobs(c.tool, STEP_WORDS)),
            progress_while_running(session, c, notices),
        ),
    )


def words(name: str) -> set[str]:
    """The words of a property name: `duration_ms`, `durationMs` -> {"duration", "ms"}."""
    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)}


def knobs(tool: dict, vocabulary: set[str]) -> list[str]:
    """The numeric properties of the tool's inputSchema whose names hold a word of `vocabulary`."""
    properties = input_schema(tool).get("properties")
    if not isinstance(properties, dict):
        return []
    return [
        name
        for name, schema in properties.items()
        if isinstance(schema, dict) and schema.get("type") in ("integer", "number") and words(name) & vocabulary
    ]


def bounded(schema: dict, value: float):
    """`value` within the property's minimum and maximum, an int for an integer property."""
    for key, pick in (("minimum", max), ("maximum", min)):
        if isinstance(schema.get(key), (int, float)):
            value = pick(value, schema[key])
    return round(value) if schema.get("type") == "integer" else value


@dataclass
class Lasting:
    """The arguments the call to be cancelled is sent with, and how long it should run
    uncancelled with them (seconds)."""

    arguments: object
    seconds: float


def lasting(call: ToolCall, timeout: float) -> Lasting:
    """The model call's arguments stretched so that the call keeps running: each duration
    property set to LASTING_SHARE of the timeout (in milliseconds where
    its name says so), each step count to LASTING_STEPS beside a duration, else raised to
    STEPS_ALONE when the count it ran with is known. A change the inputSchema rejects is
    left out. The run time: the duration set, else the model's own scaled by the steps."""
    schema, arguments = input_schema(call.tool), call.arguments
    if not isinstance(arguments, dict):
        return Lasting(arguments, call.seconds)
    properties, target = schema.get("properties") or {}, timeout * LASTING_SHARE
    stretched, seconds, scale = dict(arguments), None, 1.0
    for name in knobs(call.tool, DURATION_WORDS):
        unit = 1000 if words(name) & MILLISECOND_WORDS else 1
        value = bounded(properties[name], target * unit)
        if generate.is_valid({**stretched, name: value}, schema):
            stretched[name], seconds = value, max(seconds or 0.0, value / unit)
    for name in knobs(call.tool, STEP_WORDS):
        before = arguments.get(name, properties[name].get("default"))
        if seconds is None and not (isinstance(before, (int, float)) and before > 0):
            continue  # no duration and no known step count: the run time would be a guess
        value = bounded(properties[name], LASTING_STEPS if seconds is not None else STEPS_ALONE)
        if seconds is None and value <= before:
            continue  # never shorter than the run that was seen
        if value > 0 and generate.is_valid({**stretched, name: value}, schema):
            stretched[name] = value
            scale *= value / before if seconds is None else 1.0
    return Lasting(stretched, seconds if seconds is not None else call.seconds * scale)


def start_call(session, tool: dict, arguments) -> tuple[int, int, str]:
    """Send a call without waiting for its answer: (its transcript index, request id, token)."""
    sent, token = session.mark(), new_token()
    request_id = session.send_request("tools/call", call_params(tool, arguments, token))
    return sent, request_id, token


def silence_window(expected: float, elapsed: float, timeout: float) -> float:
    """How long to watch a cancelled call for a response: until it would have finished
    uncancelled (its expected run time plus a fifth and 50 ms, counted from its start), at
    least MIN_SILENCE, never more than the session timeout."""
    return min(timeout, max(MIN_SILENCE, 1.2 * expected + 0.05 - elapsed))


@uses(EXERCISE)
@requirement(
    "cancellation-005",
    "cancellation-007",
    "cancellation-012",
    "2026-07-28/cancellation-014",
    "2026-07-28/cancellation-016",
    "2026-07-28/cancellation-021",
)
def test_cancelled_request_not_answered(mcp, mcp_target, revision):
    """A tool call cancelled (notifications/cancelled) while it is running, as its progress
    shows, should get no response. A server may ignore cancellation of work it cannot
    stop, so a response is a warning. Either way the server keeps answering (ping).

    Judged only on a call still running when the server had the cancellation: a response
    received before the cancellation was sent, or before the server answered the ping
    sent right behind it, crossed the cancellation (a race the spec allows), and the
    check does not apply. Waits: for the first progress, the session timeout; after the
    cancellation, until the call would have finished (`silence_window`: for a call
    stretched by `lasting`, LASTING_SHARE of the timeout from its start)."""
    exercise, notices = observed(mcp_target, mcp, revision)
    session = exercise.session  # the connection whose calls showed progress
    model = call_seen_running(session, exercise, notices)
    plan = lasting(model, session.timeout)
    current().watch(session)
    sent, request_id, token = start_call(session, model.tool, plan.arguments)
    running = session.wait_for(lambda m: request_id in session.responses or is_progress_for(m, token), session.timeout)
    if running is None:
        session.cancel(request_id, "mcp-conformance: no progress in time")  # the check is done with it
        not_applicable(f"the repeated call of {model.name} reported no progress within {session.timeout:g} s")
    if request_id in session.responses:
        not_applicable(f"the repeated call of {model.name} finished before its first progress notification")
    cancelled = session.mark()
    session.cancel(request_id, "mcp-conformance: cancellation")
    try:
        pinged = entry_of(session, session.request("ping"), cancelled)
    except TransportError as error:
        fail(f"after a cancellation the server no longer answers ping: {error.reason}")
    if request_id not in session.responses:
        elapsed = session.transcript[cancelled].t - session.transcript[sent].t
        session.wait_for(
            lambda m: request_id in session.responses, silence_window(plan.seconds, elapsed, session.timeout)
        )
    answered = entry_of(session, session.responses.get(request_id), sent)
    called = f"{model.name} with {json.dumps(plan.arguments)[:200]} (id {request_id})"
    if answered is not None and not session.received_after(answered, cancelled):
        not_applicable(
            f"the repeated call of {called} was answered before the cancellation was sent: "
            "it had already finished (a race the spec allows)"
        )
    if answered is not None and not session.received_after(answered, pinged):
        not_applicable(
            f"the repeated call of {called} was answered before the server answered the ping "
            "sent after the cancellation: the answer crossed the cancellation (a race the spec allows)"
        )
    should(
        answered is None,
        f"the cancelled call of {called} was still answered after the server had the "
        "cancellation; a cancelled request should get no response",
    )
