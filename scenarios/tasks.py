"""Tasks (2025-11-25), server side: task-augmented tools/call, tasks/get, tasks/result,
tasks/list, tasks/cancel and notifications/tasks/status, for servers that declare the
`tasks` capability. Only 2025-11-25 has tasks in the legacy era; 2026-07-28 moved them to
an extension, and earlier revisions predate them.

Tools are run as tasks only when they declare execution.taskSupport "optional" or
"required" and the calling policy (--mcp-call-tools) allows them. Each check works on a
connection of its own, so tasks of one check do not show up in another's listing.

A task-augmented tools/call is answered with a CreateTaskResult, not a CallToolResult; the
session validates it as such.

A task is polled with tasks/get at its pollInterval (the spec asks requestors to respect
it), or without one at once and then ever more slowly (10 ms, doubling, at most 1 s); a
notifications/tasks/status saying the task has ended cuts a pause short. A task still
running after the poll budget (the --mcp-timeout, at least 2 s) leaves the check not
applicable.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks
"""

from __future__ import annotations

import time
from datetime import datetime

from conformance import generate
from conformance.checks import CheckFailed, expect, fail, info, not_applicable, requirement, should
from conformance.discovery import (
    allowed_tools,
    callable_tools,
    declares,
    input_schema,
    issued_token,
    listed_tools,
    may_call,
    new_token,
)
from conformance.jsonrpc import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, Kind, Message

REVISION = "2025-11-25"
RELATED = "io.modelcontextprotocol/related-task"
STATUSES = ("working", "input_required", "completed", "failed", "cancelled")
TERMINAL = ("completed", "failed", "cancelled")
NEXT = {"working": {"working", "input_required", *TERMINAL}, "input_required": {"input_required", "working", *TERMINAL}}
REQUESTED_TTL = 60_000
MAX_POLL_SECONDS = 1.0  # the longest pause between polls, whatever pollInterval says
FIRST_POLL_SECONDS = 0.01  # the first pause without a pollInterval (each next one doubles), and the shortest
MIN_POLL_BUDGET = 2.0  # seconds a task is polled at least, whatever the timeout
UNKNOWN_TASK = "mcp-conformance-no-such-task"
MAX_PAGES = 100
WORK_WINDOW = (0.3, 1.0)  # bounds of the wait for a cancelled task's work to end (see work_window)


# -- applicability -------------------------------------------------------------------------
def tasks_revision(revision: str) -> None:
    if revision >= "2026":
        not_applicable(f"{revision} has no tasks in the core protocol (2026-07-28 moved them to an extension)")
    if revision < REVISION:
        not_applicable(f"{revision} predates tasks ({REVISION})")


def task_capability(session, revision: str) -> dict:
    tasks_revision(revision)
    capability = declares(session, "tasks")
    if capability is None:
        not_applicable("the server does not declare the tasks capability")
    return capability


def tool_calls_as_tasks(capability: dict) -> bool:
    requests = capability.get("requests") if isinstance(capability.get("requests"), dict) else {}
    tools = requests.get("tools") if isinstance(requests.get("tools"), dict) else {}
    return isinstance(tools.get("call"), dict)


def task_support(tool: dict) -> str:
    execution = tool.get("execution") if isinstance(tool.get("execution"), dict) else {}
    return execution.get("taskSupport") or "forbidden"


def task_tools(session, revision: str, policy: str, slow_first: bool = True) -> list[tuple[dict, dict]]:
    """(tool, arguments) for each tool that may run as a task under the calling policy."""
    capability = task_capability(session, revision)
    if not tool_calls_as_tasks(capability):
        not_applicable(
            "the server does not declare tasks.requests.tools.call: no request type of its offers tasks to a client"
        )
    tools = [t for t in listed_tools(session) if task_support(t) in ("optional", "required")]
    if not tools:
        not_applicable("no tool declares execution.taskSupport optional or required")
    allowed = allowed_tools(tools, policy, "tool that supports tasks")
    chosen = []
    for tool in allowed:
        examples = generate.examples(input_schema(tool), 1)
        if examples:
            chosen.append((tool, examples[0]))
    if not chosen:
        not_applicable("no arguments could be generated for the tools that support tasks")
    return chosen


# -- task requests -------------------------------------------------------------------------
def call_as_task(
    session, tool: dict, arguments: dict, ttl: int | None = REQUESTED_TTL, token: str | None = None
) -> Message:
    """A task-augmented tools/call and its response (result or error)."""
    params = {"name": tool["name"], "arguments": arguments, "task": {} if ttl is None else {"ttl": ttl}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return session.request("tools/call", params)  # the session judges it as a CreateTaskResult


def iso_problem(value) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return None
    except ValueError:
        return f"{value!r} is not an ISO 8601 timestamp"


def task_problems(session, task, where: str) -> list[str]:
    """What is wrong with a Task object (schema, then the timestamps)."""
    problems = [f"{where}: {v.path}: {v.message}" for v in session.schema.validate(task, "Task")]
    if isinstance(task, dict):
        for key in ("createdAt", "lastUpdatedAt"):
            problem = iso_problem(task.get(key)) if key in task else None
            if problem:
                problems.append(f"{where}: {key} {problem}")
    return problems


CREATES = "test_task_augmented_call_creates_task"  # judges the CreateTaskResult and its Task


def created_task(session, tool: dict, arguments: dict, token: str | None = None) -> dict:
    """The Task of a CreateTaskResult. No CreateTaskResult, or a Task that is not valid,
    fails test_task_augmented_call_creates_task; any other check is BLOCKED by it."""
    response = call_as_task(session, tool, arguments, token=token)
    if response.kind is not Kind.RESULT:
        raise CheckFailed(
            f"tools/call of {tool['name']} as a task (taskSupport {task_support(tool)!r}) got error {response.error}",
            owner=CREATES,
        )
    result = response.result if isinstance(response.result, dict) else {}
    problems = [f"CreateTaskResult: {v.path}: {v.message}" for v in session.schema.validate(result, "CreateTaskResult")]
    if not problems:
        problems = task_problems(session, result["task"], "CreateTaskResult.task")
    if problems:
        raise CheckFailed(
            f"tools/call of {tool['name']} with a `task` field was not answered with a valid "
            f"CreateTaskResult: {response.text()[:300]}\n" + "\n".join(problems),
            owner=CREATES,
        )
    return result["task"]


def get_task(session, task_id: str) -> Message:
    return session.request("tasks/get", {"taskId": task_id})


def poll_budget(session) -> float:
    """How long a task is polled before the check gives up on it."""
    return max(session.timeout, MIN_POLL_BUDGET)


def next_pause(task: dict, previous: float | None) -> float:
    """The pause before the next tasks/get: the task's pollInterval where it gives one, else
    FIRST_POLL_SECONDS, doubling each time; within FIRST_POLL_SECONDS and MAX_POLL_SECONDS."""
    interval = task.get("pollInterval") if isinstance(task, dict) else None
    if isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval > 0:
        seconds = interval / 1000
    else:
        seconds = FIRST_POLL_SECONDS if previous is None else 2 * previous
    return min(max(seconds, FIRST_POLL_SECONDS), MAX_POLL_SECONDS)


def announces_end(message: Message, task_id: str) -> bool:
    """A notifications/tasks/status saying the task has ended (or needs input)."""
    params = (
        message.params if message.kind is Kind.NOTIFICATION and message.method == "notifications/tasks/status" else None
    )
    return (
        isinstance(params, dict)
        and params.get("taskId") == task_id
        and params.get("status") in (*TERMINAL, "input_required")
    )


def poll_answers(session, task: dict, budget: float) -> list[Message]:
    """tasks/get answers until one is not a working task of `task["taskId"]` (it ended, needs
    input, or the answer is something else) or `budget` seconds have passed. The pauses
    follow next_pause; a status notification announcing the end cuts one short."""
    task_id, answers, current, pause, since = task["taskId"], [], task, None, 0
    deadline = time.monotonic() + budget
    while True:
        pause = next_pause(current, pause)
        if not any(announces_end(m, task_id) for m in session.received(since)):
            session.wait_for(lambda m: announces_end(m, task_id), pause)
        since = session.mark()  # a notice counts once: it may precede an answer still saying working
        answers.append(get_task(session, task_id))
        current = answers[-1].result if answers[-1].kind is Kind.RESULT else None
        if (
            not (isinstance(current, dict) and current.get("taskId") == task_id)
            or current.get("status") in (*TERMINAL, "input_required")
            or time.monotonic() > deadline
        ):
            return answers


def poll_until_terminal(session, task: dict) -> list[dict]:
    """Every tasks/get answer until a terminal status (or input_required), paced as `poll_answers`
    says; fails when an answer is not a task, not applicable when the poll budget runs out."""
    seen = []
    for response in poll_answers(session, task, poll_budget(session)):
        expect(response.kind is Kind.RESULT, f"tasks/get {task['taskId']!r} got error {response.error}")
        expect(
            isinstance(response.result, dict) and response.result.get("taskId") == task["taskId"],
            f"tasks/get {task['taskId']!r} answered another task: {response.text()[:300]}",
        )
        seen.append(response.result)
    if seen[-1].get("status") not in (*TERMINAL, "input_required"):
        not_applicable(
            f"task {task['taskId']!r} was still {seen[-1].get('status')!r} after {poll_budget(session):g} s of polling"
        )
    return seen


def work_window(created: dict) -> float:
    """The longest wait for a cancelled task's work to end (the fixed wait this check used to
    make): twice its pollInterval, within WORK_WINDOW."""
    low, high = WORK_WINDOW
    return min(high, max(low, 2 * next_pause(created, None)))


def twin_finished(session, tool: dict, arguments: dict, limit: float) -> bool:
    """Whether a twin of a task cancelled just now (the same tool and arguments, started
    after it) finished within `limit` seconds: the cancelled task's work would have ended
    by then too."""
    response = call_as_task(session, tool, arguments)
    twin = response.result.get("task") if response.kind is Kind.RESULT and isinstance(response.result, dict) else None
    if not (isinstance(twin, dict) and isinstance(twin.get("taskId"), str)):
        return False
    if twin.get("status") in TERMINAL:
        return True
    last = poll_answers(session, twin, limit)[-1]
    return last.kind is Kind.RESULT and isinstance(last.result, dict) and last.result.get("status") in TERMINAL


def finished_task(mcp_connect, mcp, revision, policy, pick=lambda tool: True):
    """A fresh connection, a task run on it to its end: (session, tool, created, polled)."""
    candidates = [(t, a) for t, a in task_tools(mcp, revision, policy) if pick(t)]
    if not candidates:
        not_applicable("no tool that supports tasks fits this check")
    tool, arguments = candidates[0]
    session = mcp_connect()
    created = created_task(session, tool, arguments)
    polled = [] if created.get("status") in TERMINAL else poll_until_terminal(session, created)
    if polled and polled[-1].get("status") == "input_required":
        not_applicable(f"the task of {tool['name']} needs input from the client, which the suite cannot give")
    return session, tool, created, polled


def last_received(session) -> int:
    """The transcript index of the last message received (the answer a request just got)."""
    return max(i for i, e in enumerate(session.transcript) if e.direction == "<-")


def is_error(response: Message, *codes: int) -> bool:
    return response.kind is Kind.ERROR and response.error_code in codes


# -- capability ----------------------------------------------------------------------------
@requirement("tasks-001", "schema-001")
def test_task_support_declared(mcp, revision):
    """A server whose tools offer task execution (execution.taskSupport "optional" or
    "required") declares tasks support for tools/call in its capabilities
    (tasks.requests.tools.call)."""
    tasks_revision(revision)
    if declares(mcp, "tools") is None:
        not_applicable("the server does not declare the tools capability")
    offering = [t["name"] for t in listed_tools(mcp) if task_support(t) in ("optional", "required")]
    if not offering:
        not_applicable("no tool declares execution.taskSupport optional or required")
    capability = declares(mcp, "tasks")
    expect(
        capability is not None and tool_calls_as_tasks(capability),
        f"tools {', '.join(offering)} declare taskSupport, but the capabilities do not declare "
        f"tasks.requests.tools.call (tasks: {capability!r})",
    )


# -- creation -----------------------------------------------------------------------------
@requirement("tasks-044", "tasks-023", "tasks-025", "tasks-026", "tasks-037", "tasks-038", "tasks-039", "tasks-010")
def test_task_augmented_call_creates_task(mcp, mcp_connect, mcp_target, revision):
    """A tools/call with a `task` field, of a tool that supports tasks, is answered with a
    CreateTaskResult: a Task with a string taskId, ISO 8601 createdAt and lastUpdatedAt and a
    ttl. A new task starts out working (a later status is only noted: the work may already
    be done). The server may grant another ttl than the one asked for (noted)."""
    tool, arguments = task_tools(mcp, revision, mcp_target.call_tools)[0]
    session = mcp_connect()
    task = created_task(session, tool, arguments)  # fails here when the CreateTaskResult or its Task is wrong
    if task.get("status") != "working":
        info(f"the task of {tool['name']} was {task.get('status')!r} already in its CreateTaskResult")
    if task.get("ttl") != REQUESTED_TTL:
        info(f"asked for ttl {REQUESTED_TTL}, the server granted {task.get('ttl')!r}")
    second = created_task(session, tool, arguments)
    expect(second.get("taskId") != task.get("taskId"), f"two tasks got the same taskId {task.get('taskId')!r}")


# -- status ----------------------------------------------------------------------------------
@requirement("tasks-027", "tasks-028", "tasks-029", "tasks-040", "tasks-037", "tasks-038")
def test_task_status_transitions(mcp, mcp_connect, mcp_target, revision):
    """Polled with tasks/get (at its pollInterval), a task moves only along the allowed
    paths (working to input_required or a terminal status; input_required back to working
    or to a terminal status), and once completed, failed or cancelled it stays so. Every
    answer is a Task with its ttl (null for unlimited) and ISO 8601 timestamps (the task
    polled for at most the --mcp-timeout, at least 2 s)."""
    session, tool, created, polled = finished_task(mcp_connect, mcp, revision, mcp_target.call_tools)
    response = get_task(session, created["taskId"])  # once more, after the end
    expect(response.kind is Kind.RESULT, f"tasks/get of the finished task got error {response.error}")
    states = [created, *polled, response.result]
    problems = [p for i, t in enumerate(states) for p in task_problems(session, t, f"answer {i}")]
    statuses = [t.get("status") for t in states]
    for before, after in zip(statuses, statuses[1:]):
        if before in TERMINAL and after != before:
            problems.append(f"the task left the terminal status {before!r} for {after!r}")
        elif before in NEXT and after not in NEXT[before]:
            problems.append(f"{before!r} -> {after!r} is not an allowed transition")
    expect(not problems, f"task of {tool['name']}, statuses {statuses}:\n" + "\n".join(problems))


# -- results ---------------------------------------------------------------------------------
@requirement("tasks-046", "tasks-048", "tasks-077", "tasks-076")
def test_task_result_is_underlying_result(mcp, mcp_connect, mcp_target, revision):
    """tasks/result of a finished tools/call task returns what the call itself would
    have: a CallToolResult (or the call's JSON-RPC error); the task polled for at most the
    --mcp-timeout, at least 2 s."""
    session, tool, created, polled = finished_task(mcp_connect, mcp, revision, mcp_target.call_tools)
    status = (polled or [created])[-1].get("status")
    response = session.request("tasks/result", {"taskId": created["taskId"]})
    if response.kind is Kind.ERROR:
        expect(
            status != "completed",
            f"tasks/result of the completed task of {tool['name']} got error {response.error}, not the tool's result",
        )
        return
    problems = [f"{v.path}: {v.message}" for v in session.schema.validate(response.result, "CallToolResult")]
    expect(
        not problems,
        f"tasks/result of the {status} task of {tool['name']} is not a CallToolResult: "
        f"{response.text()[:300]}\n" + "\n".join(problems),
    )


@requirement("tasks-047")
def test_task_result_waits_for_terminal_status(mcp, mcp_connect, mcp_target, revision):
    """tasks/result sent while the task is still working is answered only once the task
    has reached a terminal status, and then with the task's outcome (no error saying the
    task is not done)."""
    tool, arguments = task_tools(mcp, revision, mcp_target.call_tools)[0]
    session = mcp_connect()
    created = created_task(session, tool, arguments)
    if created.get("status") != "working":
        not_applicable(f"the task of {tool['name']} was {created.get('status')!r} at once: nothing to wait for")
    response = session.request("tasks/result", {"taskId": created["taskId"]}, timeout=max(session.timeout, 5.0))
    after = get_task(session, created["taskId"])
    expect(after.kind is Kind.RESULT, f"tasks/get after tasks/result got error {after.error}")
    status = after.result.get("status")
    expect(
        status in TERMINAL, f"tasks/result was answered ({response.text()[:200]}) while the task was still {status!r}"
    )
    if response.kind is Kind.ERROR:
        expect(status != "completed", f"tasks/result got error {response.error} though the task completed")


@requirement("tasks-068", "tasks-049", "tasks-066", "tasks-053", "tasks-067")
def test_task_related_task_metadata(mcp, mcp_connect, mcp_target, revision):
    """The tasks/result response carries `_meta` io.modelcontextprotocol/related-task with
    the task's id; the results of tasks/get and tasks/cancel should not (their taskId is in
    the result already); the task polled for at most the --mcp-timeout, at least 2 s."""
    capability = task_capability(mcp, revision)
    session, tool, created, polled = finished_task(mcp_connect, mcp, revision, mcp_target.call_tools)
    response = session.request("tasks/result", {"taskId": created["taskId"]})
    if response.kind is Kind.RESULT:
        related = ((response.result.get("_meta") or {}) if isinstance(response.result, dict) else {}).get(RELATED)
        expect(
            isinstance(related, dict) and related.get("taskId") == created["taskId"],
            f"the tasks/result response has no _meta {RELATED} naming task {created['taskId']!r} (got {related!r})",
        )
    else:
        info(
            f"tasks/result answered with error {response.error}; the related-task _meta of a result "
            "could not be checked"
        )
    answers = [("tasks/get", get_task(session, created["taskId"]))]
    if "cancel" in capability:
        answers.append(("tasks/cancel", session.request("tasks/cancel", {"taskId": created["taskId"]})))
    for method, answer in answers:
        meta = answer.result.get("_meta") if answer.kind is Kind.RESULT and isinstance(answer.result, dict) else None
        should(
            not (isinstance(meta, dict) and RELATED in meta),
            f"the {method} result carries {RELATED} _meta; its taskId is in the result already",
        )


@requirement("tasks-075")
def test_task_failed_status(mcp, mcp_connect, mcp_target, revision):
    """A task whose tool result has isError true should end failed, with a statusMessage
    that says why (each task polled for at most the --mcp-timeout, at least 2 s; the tools
    tried one after another on one connection). Not applicable when no task's tool reported
    an error."""
    candidates = task_tools(mcp, revision, mcp_target.call_tools)[:5]
    session = mcp_connect()
    for tool, arguments in candidates:
        created = created_task(session, tool, arguments)
        polled = [] if created.get("status") in TERMINAL else poll_until_terminal(session, created)
        final = (polled or [created])[-1]
        if final.get("status") not in TERMINAL:
            continue
        response = session.request("tasks/result", {"taskId": created["taskId"]})
        if response.kind is Kind.RESULT and isinstance(response.result, dict) and response.result.get("isError"):
            should(
                final.get("status") == "failed",
                f"the task of {tool['name']} ended {final.get('status')!r}, though its result has isError: true",
            )
            should(
                final.get("status") != "failed" or final.get("statusMessage"),
                f"the failed task of {tool['name']} has no statusMessage",
            )
            return
    not_applicable("no tool run as a task reported an error (isError)")


@requirement("tasks-021")
def test_task_field_ignored_without_capability(mcp, mcp_connect, mcp_target, revision):
    """A server that does not declare task support for tools/call (tasks.requests.tools.call)
    treats a tools/call with a `task` field as a plain call: it answers with the call's own
    result or error, never with a CreateTaskResult, and does not fail a call that succeeds
    without the field."""
    tasks_revision(revision)
    if declares(mcp, "tools") is None:
        not_applicable("the server does not declare the tools capability")
    capability = declares(mcp, "tasks")
    if capability is not None and tool_calls_as_tasks(capability):
        not_applicable("the server declares tasks.requests.tools.call: it may create tasks for tools/call")
    tools = sorted(callable_tools(mcp, mcp_target.call_tools), key=lambda t: task_support(t) == "forbidden")
    candidates = [(t, generate.examples(input_schema(t), 1)) for t in tools]  # task-capable tools first
    candidates = [(t, e[0]) for t, e in candidates if e]
    if not candidates:
        not_applicable("no arguments could be generated for the tools that may be called")
    tool, arguments = candidates[0]
    session = mcp_connect()
    response = call_as_task(session, tool, arguments)
    if response.kind is Kind.ERROR:
        plain = session.request("tools/call", {"name": tool["name"], "arguments": arguments})
        expect(
            plain.kind is Kind.ERROR,
            f"{tool['name']} with a `task` field got error {response.error}, "
            "but the same call without it succeeds: the field was not ignored",
        )
        return
    result = response.result if isinstance(response.result, dict) else {}
    expect(
        not (isinstance(result.get("task"), dict) and "content" not in result),
        f"{tool['name']} was run as a task though the server declares no task support for tools/call: "
        f"{response.text()[:300]}",
    )
    problems = [f"{v.path}: {v.message}" for v in session.schema.validate(result, "CallToolResult")]
    expect(
        not problems,
        f"the tools/call with an ignored `task` field did not get a CallToolResult: "
        f"{response.text()[:300]}\n" + "\n".join(problems),
    )


# -- progress ----------------------------------------------------------------------------------
@requirement("progress-015", "progress-016", "progress-017")
def test_task_progress_ends_with_task(mcp, mcp_connect, mcp_target, revision):
    """A task-augmented call that carries a progressToken may be reported on with progress
    notifications for as long as the task runs, under that token only; none arrives once
    tasks/get has shown the task in a terminal status (none received after that answer,
    `Session.received_after`; the task polled for at most the --mcp-timeout, at least 2 s). Late
    progress is waited for with a barrier: a ping and its answer (on Streamable HTTP, whose
    streams are not ordered, 0.2 s)."""
    tool, arguments = task_tools(mcp, revision, mcp_target.call_tools)[0]
    session = mcp_connect()
    token = new_token()
    started = session.mark()
    created = created_task(session, tool, arguments, token=token)
    polled = [] if created.get("status") in TERMINAL else poll_until_terminal(session, created)
    if polled and polled[-1].get("status") == "input_required":
        not_applicable(f"the task of {tool['name']} needs input from the client, which the suite cannot give")
    ended = last_received(session)  # the answer that showed the task terminal
    session.barrier()
    notices = [
        (i, e.message.params)
        for i, e in enumerate(session.transcript[started:], started)
        if e.direction == "<-"
        and e.message is not None
        and e.message.kind is Kind.NOTIFICATION
        and e.message.method == "notifications/progress"
        and isinstance(e.message.params, dict)
    ]
    if not notices:
        not_applicable(f"the task of {tool['name']} sent no progress (sending none is allowed)")
    foreign = sorted({repr(p.get("progressToken")) for _, p in notices if not issued_token(p.get("progressToken"))})
    expect(not foreign, f"progress for the task under tokens the client never sent: {', '.join(foreign)}")
    late = [
        p.get("progress") for i, p in notices if session.received_after(i, ended) and p.get("progressToken") == token
    ]
    expect(
        not late,
        f"progress {late} for the task of {tool['name']} after tasks/get showed it "
        f"{(polled or [created])[-1].get('status')!r}",
    )


# -- errors ----------------------------------------------------------------------------------
@requirement("tasks-069")
def test_task_unknown_id_rejected(mcp, revision):
    """tasks/get, tasks/result and (when declared) tasks/cancel of a taskId the server
    never issued get error -32602 (Invalid params)."""
    capability = task_capability(mcp, revision)
    methods = ["tasks/get", "tasks/result"] + (["tasks/cancel"] if "cancel" in capability else [])
    wrong = []
    for method in methods:
        response = mcp.request(method, {"taskId": UNKNOWN_TASK})
        if not is_error(response, INVALID_PARAMS):
            wrong.append(f"{method}: {response.text()[:200]}")
    expect(not wrong, "an unknown taskId did not get -32602:\n" + "\n".join(wrong))


@requirement("tasks-009", "tasks-073")
def test_task_required_tool_rejects_plain_call(mcp, mcp_target, revision):
    """A tool whose taskSupport is "required", called without a `task` field, gets error
    -32601 (Method not found); -32600 (Invalid request), which the spec also allows for a
    request that needs a task, passes as well."""
    capability = task_capability(mcp, revision)
    if not tool_calls_as_tasks(capability):
        not_applicable("the server does not declare tasks.requests.tools.call")
    required = [t for t in listed_tools(mcp) if task_support(t) == "required"]
    if not required:
        not_applicable('no tool requires tasks (taskSupport "required")')
    policy = mcp_target.call_tools
    allowed = [t for t in required if policy != "none" and may_call(t, policy)]
    if not allowed:  # a server that breaks the rule runs the tool: the calling policy applies
        not_applicable(
            f"no tool requiring tasks may be called under --mcp-call-tools={policy}: "
            f"{', '.join(t['name'] for t in required)}"
        )
    tool = allowed[0]
    examples = generate.examples(input_schema(tool), 1)
    response = mcp.request("tools/call", {"name": tool["name"], "arguments": examples[0] if examples else {}})
    expect(
        is_error(response, METHOD_NOT_FOUND, INVALID_REQUEST),
        f"{tool['name']} requires tasks, but a plain call got {response.text()[:300]}; expected error -32601",
    )
    if response.error_code == INVALID_REQUEST:
        info(f"{tool['name']} refused the plain call with -32600; the tool-level rule names -32601")


@requirement("tasks-006")
def test_task_forbidden_tool_rejected(mcp, mcp_connect, mcp_target, revision):
    """A tool without taskSupport (or "forbidden"), called with a `task` field, should get
    error -32601 (Method not found). Only tools the calling policy allows are tried, since
    a server may run the tool anyway."""
    capability = task_capability(mcp, revision)
    if not tool_calls_as_tasks(capability):
        not_applicable("the server does not declare tasks.requests.tools.call")
    policy = mcp_target.call_tools
    tools = [t for t in listed_tools(mcp) if task_support(t) == "forbidden"]
    if not tools:
        not_applicable("every tool supports tasks")
    candidates = [(t, generate.examples(input_schema(t), 1)) for t in tools if policy != "none" and may_call(t, policy)]
    candidates = [(t, e[0]) for t, e in candidates if e]
    if not candidates:
        not_applicable(f"no tool without task support may be called under --mcp-call-tools={policy}")
    tool, arguments = candidates[0]
    session = mcp_connect()
    response = call_as_task(session, tool, arguments)
    should(
        is_error(response, METHOD_NOT_FOUND),
        f"{tool['name']} does not support tasks, but a call with a `task` field got {response.text()[:300]}; "
        "expected error -32601",
    )


# -- listing ---------------------------------------------------------------------------------
def all_tasks(session) -> list[dict]:
    tasks, cursor, seen = [], None, set()
    for _ in range(MAX_PAGES):
        response = session.request("tasks/list", {"cursor": cursor} if cursor is not None else {})
        expect(response.kind is Kind.RESULT, f"tasks/list got error {response.error}")
        page = response.result.get("tasks")
        expect(isinstance(page, list), f"tasks/list result has no list 'tasks': {response.text()[:300]}")
        tasks += [t for t in page if isinstance(t, dict)]
        cursor = response.result.get("nextCursor")
        if cursor is None:
            return tasks
        expect(cursor not in seen, f"tasks/list returned cursor {cursor!r} twice: its pages loop")
        seen.add(cursor)
    fail(f"tasks/list: more than {MAX_PAGES} pages")


@requirement("tasks-060", "tasks-058", "tasks-057")
def test_task_list_includes_tasks(mcp, mcp_connect, mcp_target, revision):
    """With tasks.list declared, every task tasks/get still finds is listed by tasks/list
    (all pages followed by nextCursor). Three tasks are created, so a paging server shows
    more than one page."""
    if "list" not in task_capability(mcp, revision):
        not_applicable("the server does not declare tasks.list")
    tool, arguments = task_tools(mcp, revision, mcp_target.call_tools)[0]
    session = mcp_connect()
    created = [created_task(session, tool, arguments)["taskId"] for _ in range(3)]
    findable = [task_id for task_id in created if get_task(session, task_id).kind is Kind.RESULT]
    listed = {t.get("taskId") for t in all_tasks(session)}
    missing = [task_id for task_id in findable if task_id not in listed]
    expect(not missing, f"tasks/get finds tasks {missing} that tasks/list does not list")


@requirement("tasks-070")
def test_task_list_invalid_cursor_rejected(mcp, revision):
    """tasks/list with a cursor the server never issued gets error -32602."""
    if "list" not in task_capability(mcp, revision):
        not_applicable("the server does not declare tasks.list")
    response = mcp.request("tasks/list", {"cursor": "mcp-conformance-not-a-cursor"})
    expect(
        is_error(response, INVALID_PARAMS),
        f"tasks/list with an invalid cursor got {response.text()[:300]}; expected error -32602",
    )


# -- cancellation ----------------------------------------------------------------------------
@requirement("tasks-062", "tasks-063", "cancellation-004")
def test_task_cancel_marks_cancelled(mcp, mcp_connect, mcp_target, revision):
    """tasks/cancel of a working task is answered with the task in status cancelled, and
    the task stays cancelled after its work would have ended: once a twin task (the same
    call, made after the cancellation) has finished, or after twice its pollInterval (at
    least 0.3 s, at most 1 s) if the twin takes longer. If the task ended before the
    cancellation arrived, the cancellation is refused with -32602 and the check does not
    apply."""
    if "cancel" not in task_capability(mcp, revision):
        not_applicable("the server does not declare tasks.cancel")
    tool, arguments = task_tools(mcp, revision, mcp_target.call_tools)[0]
    session = mcp_connect()
    created = created_task(session, tool, arguments)
    if created.get("status") != "working":
        not_applicable(f"the task of {tool['name']} was {created.get('status')!r} at once: nothing to cancel")
    response = session.request("tasks/cancel", {"taskId": created["taskId"]})
    if is_error(response, INVALID_PARAMS):
        not_applicable(f"the task of {tool['name']} ended before it could be cancelled ({response.error})")
    expect(response.kind is Kind.RESULT, f"tasks/cancel of a working task got error {response.error}")
    problems = task_problems(session, response.result, "tasks/cancel result")
    expect(not problems, "\n".join(problems))
    expect(
        response.result.get("status") == "cancelled",
        f"tasks/cancel answered with status {response.result.get('status')!r}, not 'cancelled'",
    )
    limit = work_window(created)
    deadline = time.monotonic() + limit
    if not twin_finished(session, tool, arguments, limit):
        session.drain(max(0.0, deadline - time.monotonic()))
    later = get_task(session, created["taskId"])
    if later.kind is Kind.ERROR:
        info(f"the cancelled task is gone ({later.error}); a server may delete cancelled tasks")
        return
    expect(
        later.result.get("status") == "cancelled",
        f"the cancelled task later reports status {later.result.get('status')!r}",
    )


@requirement("tasks-061", "tasks-071")
def test_task_cancel_terminal_rejected(mcp, mcp_connect, mcp_target, revision):
    """tasks/cancel of a task already completed, failed or cancelled gets error -32602
    (the task polled for at most the --mcp-timeout, at least 2 s)."""
    if "cancel" not in task_capability(mcp, revision):
        not_applicable("the server does not declare tasks.cancel")
    session, tool, created, polled = finished_task(mcp_connect, mcp, revision, mcp_target.call_tools)
    status = (polled or [created])[-1].get("status")
    response = session.request("tasks/cancel", {"taskId": created["taskId"]})
    expect(
        is_error(response, INVALID_PARAMS),
        f"tasks/cancel of the {status} task of {tool['name']} got {response.text()[:300]}; expected -32602",
    )


# -- notifications ---------------------------------------------------------------------------
@requirement("tasks-054", "tasks-056")
def test_task_status_notifications(mcp, mcp_connect, mcp_target, revision):
    """notifications/tasks/status (optional) name a task of this connection and should not
    carry related-task _meta (the taskId is in the params). Their shape is checked against
    the schema with every message. They are collected until the task has ended (polled for
    at most the --mcp-timeout, at least 2 s) and a ping sent then is answered (on Streamable
    HTTP, 0.05 s more)."""
    session, tool, created, polled = finished_task(mcp_connect, mcp, revision, mcp_target.call_tools)
    session.barrier(window=0.05)  # notifications sent before the task's end was read
    notices = [
        m
        for m in session.received()
        if m.kind is Kind.NOTIFICATION and m.method == "notifications/tasks/status" and isinstance(m.params, dict)
    ]
    if not notices:
        not_applicable("the server sent no notifications/tasks/status (sending none is allowed)")
    foreign = [n.params.get("taskId") for n in notices if n.params.get("taskId") != created["taskId"]]
    expect(not foreign, f"status notifications for tasks never created on this connection: {foreign}")
    with_meta = [n for n in notices if RELATED in (n.params.get("_meta") or {})]
    should(not with_meta, f"{len(with_meta)} notifications/tasks/status carry {RELATED} _meta")
