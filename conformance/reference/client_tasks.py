"""The reference client as a task receiver (2025-11-25): sampling/createMessage and
elicitation/create asked as tasks, and tasks/get, tasks/result, tasks/list, tasks/cancel.

Its work is done at once (a scripted answer), so a task is created `working` and has ended
by the time anyone asks about it: the first tasks/get or tasks/result finds it completed
(failed, for a request the client refused). All tasks fit in one tasks/list page.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from .. import jsonrpc

RELATED = "io.modelcontextprotocol/related-task"
CAPABILITY = {"list": {}, "cancel": {}, "requests": {"sampling": {"createMessage": {}}, "elicitation": {"create": {}}}}
METHODS = ("tasks/get", "tasks/result", "tasks/list", "tasks/cancel")
TERMINAL = ("completed", "failed", "cancelled")
TTL = 60_000  # ms: whatever the server asks, tasks are kept this long (tasks-039)
FAULTS = {
    "task-starts-completed": "answers a task-augmented request with a task already completed",
    "task-reopens": "reports an ended task as working again at the next tasks/get",
    "task-result-is-task": "answers tasks/result with the task, not the result of its request",
    "task-result-no-related-meta": "answers tasks/result without the related-task _meta",
    "task-not-listed": "leaves its tasks out of tasks/list",
    "task-unknown-id-internal-error": "answers tasks/get of an unknown task with -32603, not -32602",
    "tasks-undeclared": "declares no tasks capability, yet runs task-augmented requests as tasks",
    "task-cancel-lost": "answers tasks/cancel of a working task as cancelled, then reports it completed",
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TaskStore:
    def __init__(self, fault: str | None):
        self.fault = fault
        self.tasks: dict[str, dict] = {}
        self.outcomes: dict[str, dict] = {}  # taskId -> {"result": ...} or {"error": ...}
        self.looked_at: set[str] = set()

    def create(self, outcome: dict) -> dict:
        """The CreateTaskResult of a request run as a task, whose outcome is already known."""
        stamp = now()
        task_id = uuid.uuid4().hex
        status = "completed" if self.fault == "task-starts-completed" else "working"
        self.tasks[task_id] = {
            "taskId": task_id,
            "status": status,
            "createdAt": stamp,
            "lastUpdatedAt": stamp,
            "ttl": TTL,
            "pollInterval": 100,
        }
        self.outcomes[task_id] = outcome
        return {"task": dict(self.tasks[task_id])}

    def task(self, task_id, finish: bool = True) -> dict | None:
        """The task; with `finish`, ended now that it is looked at (its work was done when it
        was created)."""
        task = self.tasks.get(task_id) if isinstance(task_id, str) else None
        if finish and task is not None and task["status"] == "working":
            task.update(status="failed" if "error" in self.outcomes[task_id] else "completed", lastUpdatedAt=now())
        return task

    def answer(self, message: jsonrpc.Message) -> dict:
        """The response to a tasks/* request."""
        params = message.params if isinstance(message.params, dict) else {}
        if message.method == "tasks/list":
            if "cursor" in params:
                return jsonrpc.error(message.id, jsonrpc.INVALID_PARAMS, "no such cursor: tasks/list has one page")
            listed = [] if self.fault == "task-not-listed" else [self.task(i) for i in self.tasks]
            return jsonrpc.result(message.id, {"tasks": listed})
        task = self.task(params.get("taskId"), finish=message.method != "tasks/cancel")
        if task is None:
            code = jsonrpc.INTERNAL_ERROR if self.fault == "task-unknown-id-internal-error" else jsonrpc.INVALID_PARAMS
            return jsonrpc.error(message.id, code, f"no task {params.get('taskId')!r}")
        if message.method == "tasks/get":
            seen_before = task["taskId"] in self.looked_at
            self.looked_at.add(task["taskId"])
            if self.fault == "task-reopens" and seen_before:
                return jsonrpc.result(message.id, {**task, "status": "working"})
            return jsonrpc.result(message.id, dict(task))
        if message.method == "tasks/cancel":
            return self.cancel(message.id, task)
        return self.result(message.id, task)

    def cancel(self, request_id, task: dict) -> dict:
        """tasks/cancel: a working task becomes cancelled before the answer (tasks-062), for good."""
        if task["status"] in TERMINAL:
            ended = f"task {task['taskId']} has ended ({task['status']})"
            return jsonrpc.error(request_id, jsonrpc.INVALID_PARAMS, ended)
        answer = {**task, "status": "cancelled", "lastUpdatedAt": now()}
        if self.fault != "task-cancel-lost":
            task.update(answer)
        return jsonrpc.result(request_id, answer)

    def result(self, request_id, task: dict) -> dict:
        """tasks/result: what the request itself would have been answered with."""
        self.looked_at.add(task["taskId"])
        outcome = self.outcomes[task["taskId"]]
        if self.fault == "task-result-is-task":
            return jsonrpc.result(request_id, dict(task))
        if "error" in outcome:
            return jsonrpc.error(request_id, outcome["error"]["code"], outcome["error"]["message"])
        meta = {} if self.fault == "task-result-no-related-meta" else {"_meta": {RELATED: {"taskId": task["taskId"]}}}
        return jsonrpc.result(request_id, {**outcome["result"], **meta})
