"""Tools, in discovery mode: whatever tools the server lists are checked, with no names
known in advance. Each tool the calling policy allows (--mcp-call-tools; by default only
tools annotated readOnlyHint: true and not destructive) is called a few times with
arguments Hypothesis draws from its inputSchema, on a connection of its own (the
"exercise", whose calls progress.py judges as well). The exercise has a budget of twice
the timeout (--mcp-timeout); a call is awaited for the timeout, and one that reports
progress for a fifth of it (then it is stopped, as it is known to be working).

Calling an unknown tool name is allowed under every policy: no tool of the server runs.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/tools
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import jsonschema
import pytest

from conformance import generate
from conformance.checks import current, expect, fail, info, modern_only, not_applicable, requirement, should
from conformance.discovery import ToolCall, call_tool, callable_tools, input_schema, listed_tools, may_call
from conformance.jsonrpc import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY, SAFE_INTEGER, Kind
from conformance.occasions import occasion, uses
from conformance.session import ConnectionUnusable, Flooded, NoResponse
from conformance.transport import TransportError
from conformance.transport.http import header_params

EXERCISE = "tool-exercise"  # the occasion (conformance.occasions)
EXERCISES = "_conformance_tool_exercises"  # the Target's cache of them, by revision
EXAMPLES_PER_TOOL = 3
MAX_TOOLS_CALLED = 20
CALL_BUDGET_SHARE = 2.0  # of the timeout, for all generated calls of one session; the rest are reported
PROGRESS_PATIENCE_SHARE = 0.2  # of the timeout: how long a call that reports progress is awaited
PROGRESS = "notifications/progress"
MAX_TOOLS_FED_INVALID = 3
UNKNOWN_TOOL = "mcp_conformance_no_such_tool"
NAME_RULE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
NAMING_RULE_SINCE = "2025-11-25"  # the first revision with the tool naming rule
OUTPUT_SCHEMA_SINCE = "2025-06-18"  # outputSchema and structuredContent arrived then


@dataclass
class Exercise:
    """The generated calls made on a connection of their own, shared by the checks that
    judge them (tools, progress, cancellation)."""

    session: object
    policy: str
    started_at: int = 0  # transcript index of the first call
    calls: list[ToolCall] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # kept from being called by the policy
    ungenerated: list[str] = field(default_factory=list)  # no valid arguments could be drawn
    unreached: list[str] = field(default_factory=list)  # left out by the count or time budget
    unfinished: list[ToolCall] = field(default_factory=list)  # no answer in time (or stopped), then cancelled
    stopped: list[ToolCall] = field(default_factory=list)  # of those, long-running calls stopped (progress_patience)
    broke: str = ""  # how the server stopped answering; calling stopped there
    settled: bool = False  # whether messages that trail the last response were waited for


def exercised(target, shared, revision: str) -> Exercise:
    """Every tool the calling policy allows (as listed on the `shared` connection), called
    with generated arguments: once per revision, on a connection of its own. So the wire
    violations those calls draw are judged by test_tool_calls_answered alone, and a tool
    that breaks the server takes no shared connection down with it. Started ahead when the
    revision's shared connection opens (conformance.occasions), else made here."""
    tools = callable_tools(shared, target.call_tools)  # not applicable before anything starts
    cache = target.__dict__.setdefault(EXERCISES, {})
    if revision not in cache:
        cache[revision] = target.take((EXERCISE, revision), _new_exercise(target, shared, revision, tools))
    return cache[revision]


@occasion(EXERCISE)
def start_exercise(target, shared, revision: str, acting_for: str) -> None:
    if revision in target.__dict__.get(EXERCISES, {}):
        return
    try:
        tools = callable_tools(shared, target.call_tools)
    except (Exception, pytest.skip.Exception):  # no tool to call, or a listing that broke: met by the check
        return
    for tool in tools[:MAX_TOOLS_CALLED]:  # drawn here: the exercise's thread finds them drawn
        generate.examples(input_schema(tool), EXAMPLES_PER_TOOL)
    target.run_ahead((EXERCISE, revision), _new_exercise(target, shared, revision, tools), acting_for)


def _new_exercise(target, shared, revision: str, tools: list[dict]):
    refused = [t["name"] for t in listed_tools(shared) if not may_call(t, target.call_tools)]

    def make() -> Exercise:
        session = target.connect(revision)
        session.open(revision)
        return _exercise(Exercise(session, target.call_tools, refused=refused), tools)

    return make


def _exercise(exercise: Exercise, tools: list[dict]) -> Exercise:
    session = exercise.session
    exercise.started_at = session.mark()
    deadline = time.monotonic() + call_budget(session)
    for index, tool in enumerate(tools):
        if index >= MAX_TOOLS_CALLED or time.monotonic() > deadline or exercise.broke:
            exercise.unreached.append(tool["name"])
            continue
        examples = generate.examples(input_schema(tool), EXAMPLES_PER_TOOL)
        if not examples:
            exercise.ungenerated.append(tool["name"])
        for arguments in examples:
            call = call_exercised(session, tool, arguments)
            exercise.calls.append(call)
            if call.timed_out and progressed(session, call):
                exercise.stopped.append(call)
            if call.failure:
                exercise.broke = still_answering(session, call)
                if not exercise.broke:
                    exercise.unfinished.append(call)
                break
    return exercise


def call_budget(session) -> float:
    """Seconds for all generated calls of one session (twice the timeout)."""
    return CALL_BUDGET_SHARE * session.timeout


def progress_patience(session) -> float:
    """Seconds a call of the exercise that reports progress is awaited (a fifth of the timeout)."""
    return PROGRESS_PATIENCE_SHARE * session.timeout


def is_progress_for(message, token) -> bool:
    return (
        message.method == PROGRESS and isinstance(message.params, dict) and message.params.get("progressToken") == token
    )


def progressed(session, call: ToolCall) -> bool:
    """Whether a progress notification for the call's token has arrived."""
    return any(
        e.direction == "<-" and e.message is not None and is_progress_for(e.message, call.token)
        for e in session.transcript[call.sent_at :]
    )


def call_exercised(session, tool: dict, arguments) -> ToolCall:
    """call_tool with a budget for long-running tools: a call still running after
    progress_patience (a fifth of the timeout) is stopped (cancelled) as soon as it has
    reported progress. It is known to be working, and its progress is what the progress
    checks judge: waiting on would only wait out the timeout. A call that reports nothing
    is awaited for the whole timeout, as call_tool does."""
    return call_tool(session, tool, arguments, awaited=_awaited)


def _awaited(session, call: ToolCall):
    session.send_request("tools/call", call.params, id=call.request_id)
    first = _first_response(session, call, progress_patience(session))
    return None if first is None else session.answer_input("tools/call", call.params, first)


def _first_response(session, call: ToolCall, patience: float):
    """The call's (first) response; None once it has run `patience` seconds and reported
    progress. Without progress, awaited to the timeout (then NoResponse)."""
    try:
        return session.await_response(call.request_id, patience)
    except Flooded:
        raise
    except ConnectionUnusable:  # responses with ids of no request: waited out and judged as call_tool's wait
        return session.await_response(call.request_id)
    except NoResponse:
        if str(call.request_id) in (getattr(session.transport, "refused", None) or {}):
            raise  # refused over HTTP: no answer will come
    if not progressed(session, call):
        session.wait_for(
            lambda m: call.request_id in session.responses or is_progress_for(m, call.token), session.timeout - patience
        )
    if call.request_id in session.responses:
        return session.responses[call.request_id]
    if progressed(session, call):
        return None
    raise NoResponse(
        f"no response to request id {call.request_id!r} (tools/call) within {session.timeout:g}s",
        session.transport.exit_code,
        session.transport.stderr_tail(),
    )


def still_answering(session, call: ToolCall) -> str:
    """After a call without an answer: "" if the server still answers ping (the tool was
    merely slow), else how the server stopped answering."""
    if call.timed_out:
        try:
            session.request("ping")
            return ""
        except TransportError as error:
            return f"tools/call {describe(call)}: {call.failure}; then ping got no answer either ({error.reason})"
    return f"tools/call {describe(call)}: {call.failure}"


def report_coverage(exercise: Exercise) -> None:
    """Say which tools the checks could not judge, and why."""
    if exercise.refused:
        info(f"not called under --mcp-call-tools={exercise.policy}: {', '.join(exercise.refused)}")
    if exercise.ungenerated:
        info(f"no arguments could be generated from the inputSchema of: {', '.join(exercise.ungenerated)}")
    if exercise.unreached:
        info(
            f"not called (over the budget of {MAX_TOOLS_CALLED} tools / {call_budget(exercise.session):g} s, "
            f"or after a failure): {', '.join(exercise.unreached)}"
        )
    for call in exercise.unfinished:
        why = (
            "was still running and reporting progress, so it was stopped"
            if call in exercise.stopped
            else "did not finish"
        )
        info(
            f"{describe(call)} {why} after {call.seconds:.1f} s and was cancelled; the server still answered "
            "ping (a slow tool, not a hang: --mcp-timeout allows longer calls)"
        )


def describe(call: ToolCall) -> str:
    return f"{call.name} with {json.dumps(call.arguments, ensure_ascii=False)[:200]}"


# -- the listing ---------------------------------------------------------------------------
@requirement(
    "tools-009",
    "tools-011",
    "tools-012",
    "tools-013",
    "2026-07-28/tools-017",
    "2026-07-28/tools-019",
    "2026-07-28/tools-020",
    "2026-07-28/tools-021",
)
def test_tool_names_well_formed(mcp, revision):
    """Tool names are 1 to 128 characters drawn from ASCII letters, digits, `_`, `-` and
    `.`, and no two tools share a name. A SHOULD from 2025-11-25 on; earlier revisions have
    no naming rule, so there a name outside it is only noted."""
    tools = listed_tools(mcp)
    problems = [f"{tool['name']!r} breaks the naming rule" for tool in tools if not NAME_RULE.fullmatch(tool["name"])]
    seen = [tool["name"] for tool in tools]
    problems += [f"{name!r} is listed {seen.count(name)} times" for name in sorted(set(seen)) if seen.count(name) > 1]
    if revision < NAMING_RULE_SINCE:
        for problem in problems:
            info(f"{problem} (the rule arrived in {NAMING_RULE_SINCE})")
        return
    should(not problems, "; ".join(problems))


def schema_problem(schema, revision: str) -> str | None:
    """Why `schema` is not a valid JSON Schema in its dialect, or None. Without `$schema`
    it is 2020-12 from 2025-11-25 on; older revisions name no default, so draft-07 also
    passes there."""
    if not isinstance(schema, dict):
        return f"it is {type(schema).__name__}, not an object"
    if "$schema" in schema:
        known = jsonschema.validators.validator_for(schema, default=None)
        dialects = [known] if known else []
        if not dialects:
            info(f"unknown dialect {schema['$schema']!r}: the schema was not checked against it")
    else:
        dialects = [jsonschema.Draft202012Validator]
        if revision < "2025-11-25":
            dialects.append(jsonschema.Draft7Validator)
    errors = []
    for dialect in dialects:
        try:
            dialect.check_schema(schema)
            return None
        except jsonschema.SchemaError as error:
            errors.append(f"{error.message} (at {'/'.join(map(str, error.absolute_path)) or 'the root'})")
    return errors[0] if errors else None


@requirement("tools-007", "basic-024", "2026-07-28/tools-014", "2026-07-28/basic-042")
def test_tool_schemas_valid(mcp, revision):
    """Each tool's inputSchema is a JSON Schema object whose root has `type: "object"`,
    valid in its dialect (its `$schema`, else 2020-12); so is an outputSchema, where given."""
    problems = []
    for tool in listed_tools(mcp):
        schema = tool.get("inputSchema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(
                f'{tool["name"]}: inputSchema must be an object schema with type "object", '
                f"got {json.dumps(schema)[:200]}"
            )
            continue
        for key in ("inputSchema", "outputSchema"):
            problem = schema_problem(tool[key], revision) if key in tool else None
            if problem:
                problems.append(f"{tool['name']}: {key} is not a valid JSON Schema: {problem}")
    expect(not problems, "\n".join(problems))


STATED_VALUES = ("const", "default", "enum", "examples")  # the values a schema itself names


def unsafe_integers(schema: dict, path: tuple[str, ...]) -> list:
    """Integers outside the safe range that the schema of the property at `path` names."""
    node = schema
    for key in path:
        node = node["properties"][key]
    if node.get("type") != "integer":
        return []
    named = [node[k] for k in STATED_VALUES if k in node]
    values = [v for value in named for v in (value if isinstance(value, list) else [value])]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool) and abs(v) > SAFE_INTEGER]


@requirement(
    "2026-07-28/tools-024",
    "2026-07-28/tools-026",
    "2026-07-28/tools-027",
    "2026-07-28/tools-028",
    "2026-07-28/tools-029",
    "2026-07-28/tools-030",
)
def test_tool_header_annotations(mcp, revision):
    """Each `x-mcp-header` annotation in a tool's inputSchema names a non-empty token,
    unique ignoring case within the schema, on a string, integer or boolean property reached
    from the root through `properties` alone; the integers such a property names (const,
    default, enum, examples) are exact as doubles. Judged on every transport: a tool that
    breaks these rules is dropped by HTTP clients."""
    modern_only(revision)
    problems, annotated = [], 0
    for tool in listed_tools(mcp):
        schema = tool.get("inputSchema")
        if not isinstance(schema, dict) or "x-mcp-header" not in json.dumps(schema):
            continue
        annotated += 1
        found, broken = header_params(schema)
        broken += [
            f"x-mcp-header {name!r} is on an integer property naming {values}, beyond +-(2**53 - 1)"
            for path, name in found
            if (values := unsafe_integers(schema, path))
        ]
        problems += [f"{tool['name']}: {problem}" for problem in broken]
    if not annotated:
        not_applicable("no listed tool annotates a parameter with x-mcp-header")
    expect(not problems, "\n".join(problems))


# -- calls -----------------------------------------------------------------------------------
@uses(EXERCISE)
@requirement("tools-022")
def test_tool_calls_answered(mcp, mcp_target, revision):
    """Every tool the policy allows, called with arguments valid against its inputSchema
    (drawn by Hypothesis, a few per tool, on a connection of their own), gets a result
    (`isError` true is fine: the values are arbitrary) or a JSON-RPC error, and the
    server stays up and answering ping. A call with no answer within the timeout is
    cancelled and only noted, as long as ping is still answered: no rule bounds how long
    a tool may run. So is a call still running after a fifth of the timeout once it has
    reported progress (it is working: call_exercised). This check also owns the wire
    validation of those calls."""
    exercise = exercised(mcp_target, mcp, revision)
    current().watch(exercise.session, since=exercise.started_at)
    report_coverage(exercise)
    if exercise.broke:
        fail(exercise.broke)
    try:
        exercise.session.request("ping")
    except TransportError as error:
        fail(f"after the tool calls the server no longer answers ping: {error.reason}")
    errors = [
        c
        for c in exercise.calls
        if c.response is not None
        and c.response.kind is Kind.ERROR
        and c.response.error_code != MISSING_REQUIRED_CLIENT_CAPABILITY
    ]  # right: the suite declared none
    for call in errors:
        info(
            f"{describe(call)} got a protocol error {call.response.error_code}; a failing tool "
            "is expected to say so in its result (isError)"
        )


def structured_calls(mcp, mcp_target, revision) -> list[ToolCall]:
    """Successful calls of tools that declare an outputSchema."""
    if revision < OUTPUT_SCHEMA_SINCE:
        not_applicable(f"{revision} predates outputSchema ({OUTPUT_SCHEMA_SINCE})")
    exercise = exercised(mcp_target, mcp, revision)
    with_schema = [c for c in exercise.calls if isinstance(c.tool.get("outputSchema"), dict)]
    if not with_schema:
        not_applicable("no tool that was called declares an outputSchema")
    succeeded = [c for c in with_schema if c.succeeded]
    if not succeeded:
        not_applicable("no call of a tool with an outputSchema succeeded")
    return succeeded


@uses(EXERCISE)
@requirement("tools-018", "2026-07-28/tools-040")
def test_tool_structured_content_conforms(mcp, mcp_target, revision):
    """A tool that declares an outputSchema returns `structuredContent` valid against it in
    every successful result (results with `isError: true` are not judged)."""
    problems = []
    for call in structured_calls(mcp, mcp_target, revision):
        structured = call.response.result.get("structuredContent")
        if structured is None:
            problems.append(f"{describe(call)}: no structuredContent, though the tool declares an outputSchema")
            continue
        try:
            error = jsonschema.exceptions.best_match(
                generate.validator(call.tool["outputSchema"]).iter_errors(structured)
            )
        except Exception as unusable:  # unknown types, unresolvable references: the schema is unusable
            info(f"{call.name}: the outputSchema cannot be used for validation: {unusable}"[:300])
            continue
        if error is not None:
            problems.append(
                f"{describe(call)}: structuredContent breaks the outputSchema: {error.message} "
                f"(at {'/'.join(map(str, error.absolute_path)) or 'the root'})"
            )
    expect(not problems, "\n".join(problems))


@uses(EXERCISE)
@requirement("tools-017")
def test_tool_structured_content_as_text(mcp, mcp_target, revision):
    """A result with `structuredContent` should also carry the same JSON, serialized, in a
    text content block (for clients that read only `content`)."""
    calls = [
        c for c in structured_calls(mcp, mcp_target, revision) if c.response.result.get("structuredContent") is not None
    ]
    if not calls:
        not_applicable("no successful result carried structuredContent")
    for call in calls:
        result = call.response.result
        texts = [
            block.get("text")
            for block in result.get("content") or []
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        should(
            any(parses_to(text, result["structuredContent"]) for text in texts),
            f"{describe(call)}: no text block holds the structuredContent as JSON",
        )


def parses_to(text, value) -> bool:
    try:
        return json.loads(text) == value
    except (TypeError, ValueError):
        return False


# -- errors ----------------------------------------------------------------------------------
@requirement("schema-020")
def test_unknown_tool_rejected(mcp, revision):
    """Calling a tool name the server does not list is a protocol error (a JSON-RPC error
    response; the spec's example uses -32602). A result with `isError: true` gets a warning:
    errors in finding the tool belong in an error response. A successful result fails."""
    listed_tools(mcp)
    response = mcp.request("tools/call", {"name": UNKNOWN_TOOL, "arguments": {}})
    if response.kind is Kind.ERROR:
        if response.error_code != INVALID_PARAMS:
            info(f"the unknown tool got error {response.error_code} (the spec's example uses -32602)")
        return
    result = response.result if isinstance(response.result, dict) else {}
    expect(result.get("isError") is True, f"the unknown tool {UNKNOWN_TOOL!r} got a successful result")
    should(
        False,
        f"the unknown tool {UNKNOWN_TOOL!r} got a result with isError: true; it should get a JSON-RPC error response",
    )


def tools_with_required_properties(session, policy: str) -> list[dict]:
    candidates = [
        tool
        for tool in callable_tools(session, policy)
        if isinstance(input_schema(tool).get("required"), list) and input_schema(tool)["required"]
    ]
    if not candidates:
        not_applicable("no tool that may be called has a required argument")
    return candidates[:MAX_TOOLS_FED_INVALID]


@requirement("tools-022", "schema-020")
def test_invalid_tool_arguments_rejected(mcp, mcp_target, revision):
    """Arguments that break a tool's inputSchema (a required property of the wrong type, or
    left out) are rejected: error -32602 (Invalid params) or a result with `isError: true`
    both pass. Another error code, or no answer within the timeout, is a warning; a
    successful result fails, since servers validate tool inputs."""
    judged = 0
    for tool in tools_with_required_properties(mcp, mcp_target.call_tools):
        valid = generate.examples(input_schema(tool), 1)
        for what, arguments in generate.invalid_variants(input_schema(tool), valid[0] if valid else {}):
            call = call_tool(mcp, tool, arguments, with_progress=False)
            judged += 1
            judge_rejection(call, what)
    if not judged:
        not_applicable("no invalid arguments could be built for the tools that may be called")


def judge_rejection(call: ToolCall, what: str) -> None:
    if call.timed_out:
        should(False, f"{call.name} with {what}: {call.failure}; invalid arguments should be rejected at once")
        return
    expect(not call.failure, f"tools/call {call.name} with {what}: {call.failure}")
    response = call.response
    if response.kind is Kind.ERROR:
        should(
            response.error_code == INVALID_PARAMS,
            f"{call.name} with {what} got error {response.error_code}; invalid arguments should get "
            "-32602 or a result with isError: true",
        )
        return
    expect(
        not call.succeeded,
        f"{call.name} with {what} ({json.dumps(call.arguments)[:200]}) got a "
        "successful result: the arguments were not validated",
    )
