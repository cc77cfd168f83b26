"""Tasks (2025-11-25) from the client's side. The client as the receiver: the suite's
server asks a request of a kind the client declared (sampling/createMessage, else
elicitation/create) as a task, then asks about the task: tasks/result, tasks/get,
tasks/list, tasks/get of an unknown task, tasks/list with a cursor it never got and
tasks/cancel of the ended task, then a second task cancelled at once and looked at, each
once the one before is answered (the peer's tasks scenario). A client that declares no
task support for that request kind is judged on answering it as if the `task` field were
not there. The client as the requestor: which tools it calls as tasks (the tool-tasks
scenarios). The validity of each answer against the schema (a CreateTaskResult for a
request run as a task) is test_client_messages_valid's.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks
"""

from __future__ import annotations

from conformance.scenarios.tasks import NEXT, RELATED, TERMINAL, iso_problem

from conformance.checks import blocked, expect, info, not_applicable, requirement
from conformance.jsonrpc import INVALID_PARAMS, Kind, Message, same_id
from conformance.peer import TASK_PROGRESS, TASK_SUPPORT, TOOL_TASK_SCENARIOS, UNKNOWN_CURSOR, UNKNOWN_TASK
from conformance.revisions import TASKS_REVISION, declares_task_support

SCENARIO = "tasks"


class TaskRun:
    """The tasks scenario as the client answered it."""

    def __init__(self, record):
        self.record = record
        self.sent = record.peer_requests()
        self.asked = next((m for m in self.sent if isinstance(m.params, dict) and "task" in m.params), None)
        self.answer = record.answer_to(self.asked) if self.asked else None

    def answers(self, method: str, **params) -> list[tuple[Message, Message | None]]:
        """(request, answer) of each request of `method` the server sent (with these params)."""
        return [
            (m, self.record.answer_to(m))
            for m in self.sent
            if m.method == method and all((m.params or {}).get(k) == v for k, v in params.items())
        ]

    @property
    def task(self) -> dict:
        result = self.answer.result if self.answer is not None and self.answer.kind is Kind.RESULT else {}
        return result.get("task") if isinstance(result.get("task"), dict) else {}


def task_run(client_run, declared: bool = True) -> TaskRun:
    """The tasks scenario's run, skipped unless the client speaks 2025-11-25 and, with
    `declared`, declares task support for the request it was asked, and created the task."""
    record = client_run(SCENARIO)
    record.require_session()
    if record.revision != TASKS_REVISION:
        not_applicable(f"tasks are a {TASKS_REVISION} feature; the session's revision is {record.revision}")
    run = TaskRun(record)
    if run.asked is None:
        not_applicable("the client declares neither sampling nor elicitation: nothing could be asked as a task")
    capabilities = record.client_capabilities()
    if declares_task_support(capabilities, run.asked.method) != declared:
        not_applicable(
            f"the client {'does not declare' if declared else 'declares'} task support for "
            f"{run.asked.method} (tasks.requests)"
        )
    if declared:
        if run.answer is None:
            not_applicable(f"the client never answered the task-augmented {run.asked.method}")
        if run.answer.kind is Kind.ERROR:
            not_applicable(
                f"the client refused the task-augmented {run.asked.method} "
                f"(error {run.answer.error_code}): no task to judge"
            )
    return run


@requirement("tasks-044", "tasks-023", "tasks-026", "tasks-037", "tasks-038")
def test_client_task_created(client_run):
    """A task-augmented request the client accepts (it declares task support for its kind)
    is answered with a CreateTaskResult: a task with a string taskId, in status `working`,
    with ISO 8601 createdAt and lastUpdatedAt."""
    run = task_run(client_run)
    expect(
        run.task,
        f"the client accepted the task-augmented {run.asked.method} but answered without a task "
        f"(a CreateTaskResult): {run.answer.text()[:300]}",
    )
    problems = [] if isinstance(run.task.get("taskId"), str) else [f"taskId {run.task.get('taskId')!r} is no string"]
    if run.task.get("status") != "working":
        problems.append(f"the new task's status is {run.task.get('status')!r}, not 'working'")
    problems += [f"{key} {why}" for key in ("createdAt", "lastUpdatedAt") if (why := iso_problem(run.task.get(key)))]
    expect(not problems, "the CreateTaskResult breaks the task rules:\n  " + "\n  ".join(problems))


def task_id(run: TaskRun) -> str:
    if not isinstance(run.task.get("taskId"), str):
        not_applicable("the client's answer named no task (see test_client_task_created)")
    return run.task["taskId"]


def answered(pairs, method: str) -> tuple[Message, Message]:
    if not pairs or pairs[0][1] is None:
        not_applicable(
            f"the suite's server sent no {method}, or the client never answered it (it ends its "
            "session when its own work is done)"
        )
    return pairs[0]


@requirement("progress-015")
def test_client_task_progress_keeps_token(client_run):
    """The task-augmented request asks for progress (progressToken TASK_PROGRESS): the
    progress the client reports on that task, also after its CreateTaskResult, names that
    token. Reporting none is allowed (not applicable)."""
    run = task_run(client_run)
    created = run.record.index(
        lambda i: i.from_client and i.message.is_response and same_id(i.message.id, run.asked.id)
    )
    later = [
        i.message.params
        for i in run.record.items[created or 0 :]
        if i.from_client and i.message.method == "notifications/progress" and isinstance(i.message.params, dict)
    ]
    if not later:
        not_applicable("the client reported no progress on the task after creating it: a receiver may send none")
    other = sorted({str(p.get("progressToken")) for p in later if p.get("progressToken") != TASK_PROGRESS})
    expect(
        not other,
        f"after its CreateTaskResult the client reported progress under {other}, not the "
        f"request's progressToken {TASK_PROGRESS!r}",
    )


@requirement("tasks-027", "tasks-028", "tasks-029", "tasks-047", "tasks-040")
def test_client_task_status_transitions(client_run):
    """The statuses the client reports for its task move only along the allowed paths, and
    once the task has ended it stays ended: tasks/result is answered only once the task is
    completed, failed or cancelled, so tasks/get after it names a terminal status. Every
    tasks/get answer states the task's ttl (null for unlimited)."""
    run = task_run(client_run)
    tid = task_id(run)
    _, result = answered(run.answers("tasks/result", taskId=tid), "tasks/result")
    _, got = answered(run.answers("tasks/get", taskId=tid), "tasks/get")
    expect(got.kind is Kind.RESULT, f"tasks/get of the task {tid!r} got error {got.error}")
    statuses = [run.task.get("status"), got.result.get("status")]
    problems = []
    before, after = statuses
    if before in TERMINAL and after != before:
        problems.append(f"the task left the terminal status {before!r} for {after!r}")
    elif before in NEXT and after not in NEXT[before]:
        problems.append(f"{before!r} -> {after!r} is not an allowed transition")
    if result.kind is Kind.RESULT and after not in TERMINAL:
        problems.append(f"tasks/result was answered with a result, yet tasks/get after it says {after!r}")
    if "ttl" not in got.result:
        problems.append("the tasks/get answer has no ttl (null stands for unlimited)")
    expect(not problems, f"task {tid!r}, statuses {statuses}:\n  " + "\n  ".join(problems))


def underlying_result_problems(run: TaskRun, result: Message, mcp_client) -> tuple[str, list[str]]:
    """The definition of the asked request's result, and how the tasks/result result breaks it."""
    schema = mcp_client.schema_for(run.record.revision)
    definition = schema.result_definition(run.asked.method)
    return definition, [f"{v.path}: {v.message}" for v in schema.validate(result.result, definition)]


@requirement("tasks-046", "tasks-048", "tasks-077", "tasks-076")
def test_client_task_result_is_underlying_result(client_run, mcp_client):
    """tasks/result of the ended task returns what the request itself would have: its
    result (a CreateMessageResult, an ElicitResult), or its JSON-RPC error for a task that
    failed."""
    run = task_run(client_run)
    tid = task_id(run)
    _, result = answered(run.answers("tasks/result", taskId=tid), "tasks/result")
    if result.kind is Kind.ERROR:
        final = [a.result.get("status") for _, a in run.answers("tasks/get", taskId=tid) if a and a.kind is Kind.RESULT]
        expect("completed" not in final, f"tasks/result got error {result.error}, though the task completed")
        info(f"the task failed; tasks/result gave its error {result.error_code}")
        return
    definition, problems = underlying_result_problems(run, result, mcp_client)
    expect(
        not problems,
        f"tasks/result is not the {run.asked.method} result ({definition}): "
        f"{result.text()[:300]}\n  " + "\n  ".join(problems),
    )


@requirement("tasks-068", "tasks-049", "tasks-066")
def test_client_task_result_related_meta(client_run, mcp_client):
    """The tasks/result response carries `_meta` io.modelcontextprotocol/related-task with
    the task's id (the result itself does not name the task)."""
    run = task_run(client_run)
    tid = task_id(run)
    _, result = answered(run.answers("tasks/result", taskId=tid), "tasks/result")
    if result.kind is not Kind.RESULT:
        not_applicable(f"tasks/result got error {result.error_code}: no result to carry the _meta")
    if underlying_result_problems(run, result, mcp_client)[1]:
        blocked(f"tasks/result is not the {run.asked.method} result", "test_client_task_result_is_underlying_result")
    meta = result.result.get("_meta") if isinstance(result.result.get("_meta"), dict) else {}
    related = meta.get(RELATED)
    expect(
        isinstance(related, dict) and related.get("taskId") == tid,
        f"the tasks/result response has no _meta {RELATED} naming task {tid!r} (got {related!r})",
    )


@requirement("tasks-060")
def test_client_task_listed(client_run):
    """A task the client reports through tasks/get is also in its tasks/list."""
    run = task_run(client_run)
    tid = task_id(run)
    pairs = [(q, a) for q, a in run.answers("tasks/list") if "cursor" not in (q.params or {})]
    if not pairs:
        not_applicable("the client declares no tasks.list")
    _, listing = answered(pairs, "tasks/list")
    expect(listing.kind is Kind.RESULT, f"tasks/list got error {listing.error}")
    listed = {t.get("taskId") for t in listing.result.get("tasks") or [] if isinstance(t, dict)}
    if tid not in listed and listing.result.get("nextCursor"):
        not_applicable(f"task {tid!r} is not on the first page of tasks/list (the suite asks for one page)")
    expect(tid in listed, f"task {tid!r} is not in tasks/list, which lists {sorted(map(str, listed))}")


@requirement("tasks-069", "tasks-070", "tasks-071")
def test_client_task_errors(client_run):
    """Protocol errors are -32602 (invalid params): tasks/get of a task that does not
    exist, tasks/list with a cursor the client never gave, tasks/cancel of a task that has
    ended."""
    run = task_run(client_run)
    tid = task_id(run)
    asked = [
        ("tasks/get of an unknown task", run.answers("tasks/get", taskId=UNKNOWN_TASK)),
        ("tasks/list with an unknown cursor", run.answers("tasks/list", cursor=UNKNOWN_CURSOR)),
    ]
    ended = [a.result.get("status") for _, a in run.answers("tasks/get", taskId=tid) if a and a.kind is Kind.RESULT]
    if ended and ended[-1] in TERMINAL:
        asked.append((f"tasks/cancel of the {ended[-1]} task", run.answers("tasks/cancel", taskId=tid)))
    judged = [(what, pairs[0][1]) for what, pairs in asked if pairs and pairs[0][1] is not None]
    if not judged:
        not_applicable("the client answered none of the requests that must be refused")
    wrong = [
        f"{what}: {answer.text()[:200]}"
        for what, answer in judged
        if not (answer.kind is Kind.ERROR and answer.error_code == INVALID_PARAMS)
    ]
    expect(not wrong, "answered otherwise than with error -32602:\n  " + "\n  ".join(wrong))


@requirement("tasks-063", "tasks-062")
def test_client_task_cancel_sticks(client_run):
    """A working task that tasks/cancel names is cancelled before the answer, which says
    so, and stays cancelled whatever its work does (the suite's server creates a second
    task, cancels it at once and then asks tasks/get)."""
    run = task_run(client_run)
    first = task_id(run)
    cancels = [(q, a) for q, a in run.answers("tasks/cancel") if (q.params or {}).get("taskId") != first]
    if not cancels:
        not_applicable("the client declares no tasks.cancel, or made no second task")
    request, answer = answered(cancels, "tasks/cancel")
    tid = request.params["taskId"]
    if answer.kind is Kind.ERROR:
        not_applicable(f"tasks/cancel of the second task got error {answer.error_code}: it had ended already")
    _, got = answered(run.answers("tasks/get", taskId=tid), "tasks/get")
    statuses = [answer.result.get("status"), got.result.get("status") if got.kind is Kind.RESULT else None]
    expect(
        statuses[0] == "cancelled",
        f"tasks/cancel of the working task {tid!r} answered with status {statuses[0]!r}, not 'cancelled'",
    )
    expect(
        statuses[1] == "cancelled",
        f"the cancelled task {tid!r} is {statuses[1]!r} at the next tasks/get: a "
        f"cancelled task stays cancelled ({got.text()[:200]})",
    )


@requirement("tasks-021", "tasks-001", "schema-001")
def test_client_ignores_task_without_capability(client_run):
    """A client that declares no task support for a request kind (tasks.requests) answers
    a request of that kind carrying a `task` field as a plain one: with its own result or
    error, never with a CreateTaskResult, and not with an error where the plain request
    (scenario server-requests) got a result. Creating tasks needs the declared capability."""
    run = task_run(client_run, declared=False)
    if run.answer is None:
        not_applicable(f"the client never answered the {run.asked.method} with a `task` field")
    expect(
        not run.task,
        f"the client ran {run.asked.method} as a task though it declares no task support for "
        f"it: {run.answer.text()[:300]}",
    )
    if run.answer.kind is Kind.ERROR:
        plain = client_run("server-requests")
        asked = next((m for m in plain.peer_requests() if m.method == run.asked.method), None)
        answer = plain.answer_to(asked) if asked else None
        expect(
            answer is None or answer.kind is Kind.ERROR,
            f"{run.asked.method} with a `task` field got error {run.answer.error}, but without it a result: "
            "the field was not ignored",
        )


def tool_task_problems(record) -> list[str]:
    """The client's tools/call requests in a tool-tasks scenario that break the tool-level
    negotiation: a task where the server declares no task support for tools/call, or where
    the tool's taskSupport is absent or forbidden; no task for a required tool where the
    server supports them."""
    declared = declares_task_support(record.server_capabilities(), "tools/call")
    problems = []
    for call in (m for m in record.client_requests() if m.method == "tools/call"):
        params = call.params if isinstance(call.params, dict) else {}
        name, as_task = params.get("name"), "task" in params
        support = TASK_SUPPORT.get(name, "unknown")
        if as_task and not declared:
            problems.append(
                f"{record.scenario}: {name} called as a task, though the server declares no "
                "tasks.requests.tools.call (tasks-004)"
            )
        elif as_task and support in (None, "forbidden"):
            problems.append(
                f"{record.scenario}: {name} (taskSupport {support or 'absent'}) called as a task (tasks-005)"
            )
        elif not as_task and declared and support == "required":
            problems.append(f"{record.scenario}: {name} (taskSupport required) called without a task (tasks-008)")
    return problems


@requirement("tasks-004", "tasks-005", "tasks-008")
def test_client_tool_tasks_as_declared(client_run):
    """The client calls a tool as a task only when the server declares task support for
    tools/call and the tool's execution.taskSupport is optional or required, and a required
    one always as a task (scenario tool-tasks, its context asking for a call of each tool;
    tool-tasks-undeclared, the same tools from a server without the tasks capability). A
    client that does not call a tool is not judged on it."""
    records = [client_run(name) for name in TOOL_TASK_SCENARIOS]
    for record in records:
        record.require_session()
    judged = [r for r in records if r.revision == TASKS_REVISION]
    if not judged:
        not_applicable(f"tasks are a {TASKS_REVISION} feature; the session's revision is {records[0].revision}")
    if not any(m.method == "tools/call" for r in judged for m in r.client_requests()):
        not_applicable("the client called no tool in the tool-tasks scenarios")
    problems = [p for record in judged for p in tool_task_problems(record)]
    expect(not problems, "tool calls against the tool-level task negotiation:\n  " + "\n  ".join(problems))
