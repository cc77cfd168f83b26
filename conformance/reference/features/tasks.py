"""tasks (2025-11-25 only): task-augmented tools/call for the tools whose
execution.taskSupport allows it, tasks/get, tasks/result (held back until the task ends),
tasks/list (paged), tasks/cancel and notifications/tasks/status.

Declared only when the negotiated revision is 2025-11-25: earlier revisions have no
tasks, and 2026-07-28 moved them to an extension.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ... import jsonrpc
from ..faults import Fault, modern
from ..paging import InvalidCursor, page
from . import ReferenceFeature

REVISION = "2025-11-25"
RELATED = "io.modelcontextprotocol/related-task"
TERMINAL = ("completed", "failed", "cancelled")
PAGE_SIZE = 2
DEFAULT_TTL = 60_000
MAX_TTL = 300_000
POLL_INTERVAL = 50  # ms
STEP_SECONDS = 0.1  # pace of a slow tool run as a task (time to cancel it in flight)

FAULTS = {
    "extension-id-unprefixed": modern(
        "advertises the tasks extension as 'tasks', an id without a prefix", "test_extension_ids_well_formed"
    ),
    "tasks-capability-no-tools-call": Fault(
        "tools declare taskSupport but tasks.requests.tools.call is not declared",
        "test_task_support_declared",
        also=("test_task_field_ignored_without_capability",),
    ),
    "tasks-create-returns-call-result": Fault(
        "a task-augmented tools/call answers with the tool result itself", "test_task_augmented_call_creates_task"
    ),
    "tasks-created-at-not-iso": Fault(
        "task objects carry createdAt 'just now', not an ISO 8601 timestamp", "test_task_augmented_call_creates_task"
    ),
    "tasks-status-leaves-terminal": Fault(
        "a completed task later reports working again", "test_task_status_transitions"
    ),
    "tasks-result-wrong-shape": Fault(
        "tasks/result answers with the task object, not the tool's result", "test_task_result_is_underlying_result"
    ),
    "tasks-result-not-blocking": Fault(
        "tasks/result on a working task answers at once with an error", "test_task_result_waits_for_terminal_status"
    ),
    "tasks-result-no-related-task": Fault(
        "tasks/result carries no related-task _meta", "test_task_related_task_metadata"
    ),
    "tasks-get-related-task": Fault(
        "tasks/get results carry related-task _meta", "test_task_related_task_metadata", "warned"
    ),
    "tasks-unknown-id-code": Fault("an unknown taskId gets -32603, not -32602", "test_task_unknown_id_rejected"),
    "tasks-list-omits-tasks": Fault(
        "tasks/list leaves out tasks that tasks/get still finds", "test_task_list_includes_tasks"
    ),
    "tasks-list-bad-cursor-accepted": Fault(
        "tasks/list answers an invalid cursor with the first page", "test_task_list_invalid_cursor_rejected"
    ),
    "tasks-cancel-not-cancelled": Fault(
        "tasks/cancel answers with the task still working", "test_task_cancel_marks_cancelled"
    ),
    "tasks-cancel-then-completes": Fault(
        "a cancelled task turns completed when its work ends", "test_task_cancel_marks_cancelled"
    ),
    "tasks-cancel-terminal-accepted": Fault(
        "tasks/cancel of a completed task succeeds", "test_task_cancel_terminal_rejected"
    ),
    "tasks-forbidden-tool-accepts-task": Fault(
        "a tool without taskSupport runs as a task when asked", "test_task_forbidden_tool_rejected", "warned"
    ),
    "tasks-required-tool-runs-plainly": Fault(
        "lists a tool requiring tasks, and runs it without one", "test_task_required_tool_rejects_plain_call"
    ),
    "tasks-status-notification-related-task": Fault(
        "notifications/tasks/status carry related-task _meta", "test_task_status_notifications", "warned"
    ),
    "tasks-undeclared-creates-task": Fault(
        "declares no tasks capability, yet answers a tools/call with a `task` field with a CreateTaskResult",
        "test_task_field_ignored_without_capability",
        also=("test_task_support_declared",),
    ),
    "tasks-progress-after-terminal": Fault(
        "sends a progress notification for a task after it completed", "test_task_progress_ends_with_task"
    ),
    "tasks-failed-reported-completed": Fault(
        "a task whose tool result has isError ends completed, not failed", "test_task_failed_status", "warned"
    ),
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Task:
    task_id: str
    ttl: int | None
    status: str = "working"
    status_message: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = ""
    outcome: tuple | None = None  # ("result", dict) or ("error", code, text)
    waiters: list = field(default_factory=list)  # ids of tasks/result requests held back
    cancelled: threading.Event = field(default_factory=threading.Event)
    reads: int = 0  # tasks/get calls after the task ended (for a fault)
    late_progress: tuple | None = None  # (token, value) a fault sends after the task ended

    def __post_init__(self):
        self.updated_at = self.updated_at or self.created_at


class Feature(ReferenceFeature):
    def __init__(self, server):
        super().__init__(server)
        self.tasks: dict[str, Task] = {}
        self.lock = threading.Lock()

    @property
    def misnamed_extension(self) -> bool:
        """Fault extension-id-unprefixed: the modern era, where tasks are an extension,
        advertises it under a bare id (the server serves none of it)."""
        return self.server.has("extension-id-unprefixed") and self.server.modern_meta is not None

    @property
    def capability_name(self) -> str:
        return "extensions" if self.misnamed_extension else "tasks"

    @property
    def active(self) -> bool:
        """Whether task-augmented requests are served (the revision has tasks)."""
        return self.server.current_revision == REVISION

    def capability(self) -> dict | None:
        if self.misnamed_extension:
            return {"tasks": {}}
        if not self.active or self.server.has("tasks-undeclared-creates-task"):
            return None
        declared: dict = {"list": {}, "cancel": {}}
        if not self.server.has("tasks-capability-no-tools-call"):
            declared["requests"] = {"tools": {"call": {}}}
        return declared

    def handlers(self):
        return {
            "tasks/get": self.on_get,
            "tasks/result": self.on_result,
            "tasks/list": self.on_list,
            "tasks/cancel": self.on_cancel,
        }

    # -- the task object -----------------------------------------------------------
    def describe(self, task: Task) -> dict:
        described = {
            "taskId": task.task_id,
            "status": task.status,
            "createdAt": "just now" if self.server.has("tasks-created-at-not-iso") else task.created_at,
            "lastUpdatedAt": task.updated_at,
            "ttl": task.ttl,
            "pollInterval": POLL_INTERVAL,
        }
        if task.status_message:
            described["statusMessage"] = task.status_message
        return described

    def set_status(self, task: Task, status: str, message: str | None = None) -> None:
        task.status, task.status_message, task.updated_at = status, message, now()
        notice = self.describe(task)
        if self.server.has("tasks-status-notification-related-task"):
            notice["_meta"] = {RELATED: {"taskId": task.task_id}}
        self.server.emit(jsonrpc.notification("notifications/tasks/status", notice))

    # -- creation (from tools/call) -----------------------------------------------------
    def create(self, message, run: Callable[[threading.Event], dict], steps: int) -> list[dict]:
        """Accept a task-augmented request: answer with CreateTaskResult, then run `run` in a
        thread after `steps` slow steps (each reported as progress when a token was given)."""
        requested = ((message.params or {}).get("task") or {}).get("ttl")
        ttl = min(requested, MAX_TTL) if isinstance(requested, int) and requested > 0 else DEFAULT_TTL
        task = Task(secrets.token_urlsafe(24), ttl)
        with self.lock:
            self.tasks[task.task_id] = task
        if self.server.has("tasks-create-returns-call-result"):
            return [self.server.result(message.id, run(task.cancelled))]
        answer = self.server.result(message.id, {"task": self.describe(task)})
        token = ((message.params or {}).get("_meta") or {}).get("progressToken")
        task.late_progress = (token, steps + 1) if token is not None else None
        threading.Thread(
            target=self.work, args=(task, run, steps, token), daemon=True, name=f"task-{task.task_id[:8]}"
        ).start()
        return [answer]

    def work(self, task: Task, run, steps: int, token) -> None:
        try:
            for step in range(1, steps + 1):
                time.sleep(STEP_SECONDS)
                if token is not None and not task.cancelled.is_set():
                    self.server.emit(self.progress(token, step, steps))
            result = run(task.cancelled)
            with self.lock:
                if task.status == "cancelled" and not self.server.has("tasks-cancel-then-completes"):
                    return
                failed = result.get("isError") is True and not self.server.has("tasks-failed-reported-completed")
                task.outcome = ("result", result)
                self.set_status(
                    task, "failed" if failed else "completed", "the tool reported an error" if failed else None
                )
                waiters, task.waiters = task.waiters, []
            for request_id in waiters:
                self.server.emit(self.payload(request_id, task))
        except (OSError, ValueError):
            pass  # the client has gone

    @staticmethod
    def progress(token, step: int, total: int) -> dict:
        return jsonrpc.notification(
            "notifications/progress", {"progressToken": token, "progress": step, "total": total}
        )

    # -- requests ------------------------------------------------------------------------
    def find(self, message) -> tuple[Task | None, list[dict]]:
        """The task named by the request, or None and the error to answer with (including
        method-not-found when tasks are not served in this revision)."""
        refusal = self.not_here(message)
        if refusal:
            return None, refusal
        task_id = (message.params or {}).get("taskId")
        task = self.tasks.get(task_id) if isinstance(task_id, str) else None
        if task is None:
            code = jsonrpc.INTERNAL_ERROR if self.server.has("tasks-unknown-id-code") else jsonrpc.INVALID_PARAMS
            return None, [self.server.error(message.id, code, f"Failed to retrieve task: no task {task_id!r}")]
        return task, []

    def not_here(self, message) -> list[dict] | None:
        if self.active:
            return None
        return [self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"Method not found: {message.method}")]

    def result_with(self, message, value: dict) -> dict:
        if self.server.has("tasks-get-related-task") and message.method == "tasks/get":
            value = {**value, "_meta": {RELATED: {"taskId": value["taskId"]}}}
        return self.server.result(message.id, value)

    def on_get(self, message) -> list[dict]:
        task, errors = self.find(message)
        if task is None:
            return errors
        with self.lock:
            described = self.describe(task)
            if task.status in TERMINAL:
                task.reads += 1
                if self.server.has("tasks-status-leaves-terminal") and task.reads > 1:
                    described["status"] = "working"
        replies = [self.result_with(message, described)]
        if task.status in TERMINAL and task.late_progress and self.server.has("tasks-progress-after-terminal"):
            token, value = task.late_progress
            task.late_progress = None
            replies.append(self.progress(token, value, value))
        return replies

    def on_result(self, message) -> list[dict]:
        task, errors = self.find(message)
        if task is None:
            return errors
        with self.lock:
            if task.status in TERMINAL:
                return [self.payload(message.id, task)]
            if self.server.has("tasks-result-not-blocking"):
                return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "the task has not finished")]
            task.waiters.append(message.id)
        return []

    def payload(self, request_id, task: Task) -> dict:
        """What tasks/result answers for a task in a terminal status."""
        if task.outcome is None:  # cancelled before it produced anything
            return self.server.error(request_id, jsonrpc.INVALID_PARAMS, "the task was cancelled")
        if task.outcome[0] == "error":
            return self.server.error(request_id, task.outcome[1], task.outcome[2])
        value = dict(task.outcome[1])
        if self.server.has("tasks-result-wrong-shape"):
            value = self.describe(task)
        if not self.server.has("tasks-result-no-related-task"):
            value["_meta"] = {**(value.get("_meta") or {}), RELATED: {"taskId": task.task_id}}
        return self.server.result(request_id, value)

    def on_list(self, message) -> list[dict]:
        refusal = self.not_here(message)
        if refusal:
            return refusal
        cursor = (message.params or {}).get("cursor")
        with self.lock:
            tasks = [self.describe(t) for t in self.tasks.values()]
        if self.server.has("tasks-list-omits-tasks"):
            tasks = tasks[:1]
        if self.server.has("tasks-list-bad-cursor-accepted"):
            try:
                page(tasks, cursor, PAGE_SIZE, "tasks")
            except InvalidCursor:
                cursor = None
        try:
            chunk, next_cursor = page(tasks, cursor, PAGE_SIZE, "tasks")
        except InvalidCursor as error:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, str(error))]
        result: dict = {"tasks": chunk}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return [self.server.result(message.id, result)]

    def on_cancel(self, message) -> list[dict]:
        task, errors = self.find(message)
        if task is None:
            return errors
        with self.lock:
            if task.status in TERMINAL and not self.server.has("tasks-cancel-terminal-accepted"):
                return [
                    self.server.error(
                        message.id,
                        jsonrpc.INVALID_PARAMS,
                        f"Cannot cancel task: already in terminal status {task.status!r}",
                    )
                ]
            if self.server.has("tasks-cancel-not-cancelled"):
                return [self.server.result(message.id, self.describe(task))]
            task.cancelled.set()
            if task.status not in TERMINAL:
                self.set_status(task, "cancelled", "The task was cancelled by request.")
            waiters, task.waiters = task.waiters, []
            described = self.describe(task)
        replies = [self.server.result(message.id, described)]
        return replies + [self.payload(request_id, task) for request_id in waiters]
