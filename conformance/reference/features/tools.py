"""tools: a paged tool list, calls checked against each tool's inputSchema, structured
output for the revisions that have it, and a slow tool that reports progress and honours
cancellation.

The fixture tools of the official conformance suite (test_simple_text,
test_image_content, test_audio_content, test_error_handling, test_tool_with_progress) are
among them. Every tool is annotated read-only, so the suite may call them all by default.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/tools
"""

from __future__ import annotations

import base64
import io
import math
import os
import random
import threading
import time
import wave

from ... import jsonrpc
from ..faults import Fault, modern
from ..paging import InvalidCursor, page
from . import ReferenceFeature

PAGE_SIZE = 2
LATEST = "2025-11-25"  # assumed when a call comes before initialize
STEP_SECONDS = 0.05  # count_slowly's pace: slow enough to be cancelled in flight
SIMPLE_TEXT = "This is a simple text response for testing."
FAILURE_TEXT = "This tool intentionally returns an error for testing"
MISNAMED_ECHO = "echo this!"  # echo's listed name under tool-name-invalid
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}
NO_ARGUMENTS = {"type": "object", "additionalProperties": False}


def _silent_wav() -> str:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 80)
    return base64.b64encode(buffer.getvalue()).decode()


WAV_SILENCE = _silent_wav()


def _object(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


TOOLS = [
    {
        "name": "echo",
        "description": "Returns the text it is given.",
        "inputSchema": _object({"text": {"type": "string"}}, ["text"]),
        "outputSchema": _object({"text": {"type": "string"}}, ["text"]),
    },
    {
        "name": "add",
        "description": "Adds two numbers.",
        "inputSchema": _object({"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"]),
        "outputSchema": _object({"sum": {"type": "number"}}, ["sum"]),
    },
    {
        "name": "count_slowly",
        "description": "Counts to `count`, one step every 50 ms, reporting progress.",
        "inputSchema": _object({"count": {"type": "integer", "minimum": 1, "maximum": 3}}, ["count"]),
        "taskSupport": "optional",
    },
    {"name": "test_simple_text", "description": "Returns a fixed text.", "inputSchema": NO_ARGUMENTS},
    {"name": "test_image_content", "description": "Returns a 1x1 PNG image.", "inputSchema": NO_ARGUMENTS},
    {
        "name": "test_audio_content",
        "description": "Returns a short silent WAV.",
        "inputSchema": NO_ARGUMENTS,
        "since": "2025-03-26",
    },
    {
        "name": "test_error_handling",
        "description": "Always fails, reporting the failure in its result.",
        "inputSchema": NO_ARGUMENTS,
        "taskSupport": "optional",
    },
    {
        "name": "test_tool_with_progress",
        "description": "Reports progress 0, 50 and 100 of 100.",
        "inputSchema": NO_ARGUMENTS,
    },
]

# add's inputSchema under tool-header-annotations-invalid: every x-mcp-header rule a stdio
# client can see broken (type, uniqueness ignoring case, safe integers, static reachability).
BAD_HEADER_ANNOTATIONS = {
    **_object(
        {
            "a": {"type": "number", "x-mcp-header": "Operand"},
            "b": {"type": "number", "x-mcp-header": "operand"},
            "times": {"type": "integer", "default": 2**60, "x-mcp-header": "Times"},
            "unit": {"type": "string", "x-mcp-header": "TIMES"},
            "more": {"$ref": "#/$defs/more"},
        },
        ["a", "b"],
    ),
    "$defs": {"more": {"type": "object", "properties": {"c": {"type": "string", "x-mcp-header": "C"}}}},
}

TASKS_REVISION = "2025-11-25"
# Listed only under the tasks fault tasks-required-tool-runs-plainly: a plain call of it is
# an error, which the generated plain calls of the tools checks would report.
REQUIRES_TASK = {
    "name": "count_as_task",
    "description": "Counts to 100; runs only as a task.",
    "inputSchema": NO_ARGUMENTS,
    "taskSupport": "required",
}

FAULTS = {
    "tool-name-invalid": Fault("a tool name holds a space and a '!'", "test_tool_names_well_formed", "warned"),
    "tool-input-schema-invalid": Fault(
        "an inputSchema is not a valid JSON Schema (type 'strin')",
        "test_tool_schemas_valid",
        also=("test_fuzz_valid_requests", "test_fuzz_session_machine"),
    ),
    "tool-call-crash": Fault(
        "exits when the tool add is called",
        "test_tool_calls_answered",
        also=("test_fuzz_session_machine", "test_fuzz_valid_requests"),
    ),
    "tool-structured-content-mismatch": Fault(
        "add's structuredContent breaks its outputSchema", "test_tool_structured_content_conforms"
    ),
    "tool-structured-content-no-text": Fault(
        "add's text content is not the serialized structured result", "test_tool_structured_content_as_text", "warned"
    ),
    "tool-unknown-result": Fault("an unknown tool name gets a successful result", "test_unknown_tool_rejected"),
    "tool-unknown-is-error": Fault(
        "an unknown tool name gets a result with isError, not a protocol error", "test_unknown_tool_rejected", "warned"
    ),
    "tool-arguments-unchecked": Fault(
        "tool arguments are not validated: anything is accepted", "test_invalid_tool_arguments_rejected"
    ),
    "progress-foreign-token": Fault(
        "progress notifications carry a token the client never sent",
        "test_progress_tokens_known",
        also=("test_tools_call_with_progress",),
    ),
    "progress-repeats": Fault(
        "a progress value is sent twice in a row", "test_progress_increases", also=("test_tools_call_with_progress",)
    ),
    "progress-after-response": Fault(
        "the last progress notification follows the response",
        "test_no_progress_after_response",
        also=("test_tools_call_with_progress",),
    ),
    "cancel-ignored": Fault(
        "a cancelled count_slowly still sends its response", "test_cancelled_request_not_answered", "warned"
    ),
    "fixture-tools-order-varies": Fault(
        "each server process lists its tools in a different order", "test_tools_list", "warned"
    ),
    "fixture-simple-text-empty": Fault("test_simple_text returns no content", "test_tools_call_simple_text"),
    "fixture-image-not-base64": Fault("test_image_content's data is not base64", "test_tools_call_image"),
    "fixture-audio-missing": Fault("test_audio_content returns text, no audio", "test_tools_call_audio"),
    "fixture-error-not-flagged": Fault("test_error_handling's failure lacks isError", "test_tools_call_error"),
    "fixture-progress-missing": Fault(
        "test_tool_with_progress sends no progress", "test_tools_call_with_progress", "warned"
    ),
    "fixture-progress-decreasing": Fault(
        "test_tool_with_progress reports 100, 50, 0", "test_tools_call_with_progress", also=("test_progress_increases",)
    ),
    # judged in the modern era (most act in every era)
    "result-meta-bad-key": modern(
        "tools/list results carry the _meta key 'conformance/_note'", "test_meta_keys_well_formed"
    ),
    "progress-token-float": modern(
        "progress notifications carry the token 1.5",
        "test_progress_tokens_typed",
        also=("test_tools_call_with_progress",),
    ),
    "modern-server-request": modern(
        "sends a ping request while serving a modern tools/call", "test_server_sends_no_requests"
    ),
    "modern-server-request-id-float": modern(
        "sends a request with id 1.5 while serving a modern tools/call",
        "test_server_request_ids",
        also=("test_server_sends_no_requests",),
    ),
    "result-type-unknown": modern(
        "tools/call results carry resultType 'done'", "test_result_types_known", also=("test_messages_valid",)
    ),
    "tool-header-annotations-invalid": modern(
        "x-mcp-header on numbers, twice ignoring case, behind $ref, and on an integer whose default is 2**60",
        "test_tool_header_annotations",
    ),
    "features-undeclared": modern(
        "serves tools, prompts, resources and completions without declaring them", "test_offered_features_declared"
    ),
}


class Feature(ReferenceFeature):
    capability_name = "tools"

    def __init__(self, server):
        super().__init__(server)
        self.cancelled: dict = {}  # request id -> threading.Event, for calls running in threads

    def capability(self) -> dict | None:
        return {"listChanged": False}

    def handlers(self):
        return {"tools/list": self.on_list, "tools/call": self.on_call}

    def on_notification(self, message) -> list[dict]:
        if message.method == "notifications/cancelled":
            event = self.cancelled.get((message.params or {}).get("requestId"))
            if event is not None:
                event.set()
        return []

    # -- listing -------------------------------------------------------------------
    def others(self) -> list:
        return [feature for feature in self.server.features.values() if feature is not self]

    @property
    def revision(self) -> str:
        return self.server.current_revision or LATEST

    def tools(self) -> list[dict]:
        revision = self.revision
        listed = [self.describe(tool, revision) for tool in TOOLS if revision >= tool.get("since", "")]
        listed += [tool for feature in self.others() for tool in feature.offered_tools()]
        if self.server.has("tasks-required-tool-runs-plainly"):  # a fault of the tasks feature
            listed.append(self.describe(REQUIRES_TASK, revision))
        if self.server.has("fixture-tools-order-varies"):
            random.Random(os.getpid()).shuffle(listed)
        return listed

    def describe(self, tool: dict, revision: str) -> dict:
        described = {k: v for k, v in tool.items() if k not in ("since", "outputSchema", "taskSupport")}
        if "taskSupport" in tool and revision == TASKS_REVISION:  # tasks exist in 2025-11-25 only
            described["execution"] = {"taskSupport": tool["taskSupport"]}
        described["annotations"] = READ_ONLY  # an extra field before 2025-03-26, allowed there
        if "outputSchema" in tool and revision >= "2025-06-18":
            described["outputSchema"] = tool["outputSchema"]
        if tool["name"] == "echo" and self.server.has("tool-name-invalid"):
            described["name"] = MISNAMED_ECHO
        if tool["name"] == "echo" and self.server.has("tool-input-schema-invalid"):
            described["inputSchema"] = _object({"text": {"type": "strin"}}, ["text"])
        if tool["name"] == "add" and self.server.has("tool-header-annotations-invalid"):
            described["inputSchema"] = BAD_HEADER_ANNOTATIONS
        return described

    def on_list(self, message) -> list[dict]:
        try:
            chunk, next_cursor = page(self.tools(), (message.params or {}).get("cursor"), PAGE_SIZE, "tools")
        except InvalidCursor as error:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, str(error))]
        result: dict = {"tools": chunk}
        if self.server.has("result-meta-bad-key"):
            result["_meta"] = {"conformance/_note": "a key name must start with a letter or digit"}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return [self.server.result(message.id, result)]

    # -- calling -------------------------------------------------------------------
    def on_call(self, message) -> list[dict]:
        logs = self.server.features["logging"].tool_call((message.params or {}).get("name"))
        return self.stray_requests() + logs + [self.typed(reply) for reply in self.answer_call(message)]

    def stray_requests(self) -> list[dict]:
        """A request to the client, which the modern era no longer has (under a fault)."""
        if self.server.modern_meta is None:
            return []
        if self.server.has("modern-server-request-id-float"):
            return [jsonrpc.request(1.5, "ping")]
        return [jsonrpc.request(f"srv-{self.server.ids()}", "ping")] if self.server.has("modern-server-request") else []

    def typed(self, reply: dict) -> dict:
        if self.server.has("result-type-unknown") and isinstance(reply.get("result"), dict):
            reply["result"]["resultType"] = "done"
        return reply

    def answer_call(self, message) -> list[dict]:
        params = message.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        owner = next((f for f in self.others() if name in {t["name"] for t in f.offered_tools()}), None)
        if owner is not None:  # no tool of another feature runs as a task
            if "task" in params and self.tasks_active():
                return [self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{name} cannot run as a task")]
            return owner.call_tool(message)
        tool = next((t for t in self.tools() if t["name"] == name), None)
        if tool is None:
            return [self.unknown_tool(message.id, name)]
        if name == MISNAMED_ECHO:  # tool-name-invalid breaks the name only: the tool still works
            name = "echo"
        if not self.server.has("tool-arguments-unchecked"):
            rejection = self.check_arguments(message.id, tool, arguments)
            if rejection is not None:
                return [rejection]
        tasks = self.server.features.get("tasks")
        if self.tasks_active():  # else any `task` field is ignored
            if "task" in params and not isinstance(params["task"], dict):
                return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "task must be an object")]
            support = (tool.get("execution") or {}).get("taskSupport", "forbidden")
            if "task" in params and (support != "forbidden" or self.server.has("tasks-forbidden-tool-accepts-task")):
                return tasks.create(
                    message,
                    lambda cancelled: self.run_task(name, arguments, cancelled),
                    self.steps(arguments) if name == "count_slowly" else 0,
                )
            if "task" in params:
                return [self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{name} cannot run as a task")]
            if support == "required" and not self.server.has("tasks-required-tool-runs-plainly"):
                return [self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{name} runs only as a task")]
        if name in ("count_slowly", "test_tool_with_progress"):
            self.run_in_thread(message, name, arguments)
            return []
        if name == "add" and self.server.has("tool-call-crash"):
            raise SystemExit(70)
        try:
            return [self.server.result(message.id, self.run(name, arguments))]
        except (TypeError, KeyError, ValueError) as error:  # only with unchecked arguments
            return [self.server.result(message.id, {**text_result(f"{name} failed: {error}"), "isError": True})]

    def tasks_active(self) -> bool:
        tasks = self.server.features.get("tasks")
        return tasks is not None and tasks.active

    def unknown_tool(self, request_id, name) -> dict:
        if self.server.has("tool-unknown-result"):
            return self.server.result(request_id, text_result(f"called {name}"))
        if self.server.has("tool-unknown-is-error"):
            return self.server.result(request_id, {**text_result(f"Unknown tool: {name}"), "isError": True})
        return self.server.error(request_id, jsonrpc.INVALID_PARAMS, f"Unknown tool: {name}")

    def check_arguments(self, request_id, tool: dict, arguments) -> dict | None:
        """A missing argument is a protocol error (-32602); any other invalid input is a tool
        execution error (isError). Both forms are allowed; the server shows both."""
        if not isinstance(arguments, dict):
            return self.server.error(request_id, jsonrpc.INVALID_PARAMS, "arguments must be an object")
        missing = [k for k in tool["inputSchema"].get("required", []) if k not in arguments]
        if missing:
            return self.server.error(request_id, jsonrpc.INVALID_PARAMS, f"missing arguments: {missing}")
        import jsonschema  # here, not at the top: most reference processes call no tool, and it is

        # most of a process's start-up (a connection per check over stdio)
        try:
            jsonschema.Draft202012Validator(tool["inputSchema"]).validate(arguments)
        except (jsonschema.ValidationError, jsonschema.SchemaError, jsonschema.exceptions.UnknownType) as error:
            return self.server.result(request_id, {**text_result(f"invalid arguments: {error}"[:500]), "isError": True})
        return None

    @staticmethod
    def steps(arguments: dict) -> int:
        count = arguments.get("count")
        return max(1, min(count, 3)) if isinstance(count, int) else 1

    def run_task(self, name: str, arguments: dict, cancelled) -> dict:
        """The result of a tool run as a task (the tasks feature waits out the slow ones)."""
        if name in ("count_slowly", "test_tool_with_progress", REQUIRES_TASK["name"]):
            return text_result(f"counted to {self.steps(arguments) if name == 'count_slowly' else 100}")
        try:
            return self.run(name, arguments)
        except (TypeError, KeyError, ValueError) as error:
            return {**text_result(f"{name} failed: {error}"), "isError": True}

    def run(self, name: str, arguments: dict) -> dict:
        structured = self.revision >= "2025-06-18"  # structuredContent arrived in 2025-06-18
        if name == "echo":
            return with_structure(text_result(str(arguments["text"])), {"text": arguments["text"]}, structured)
        if name == "add":
            return self.add(arguments["a"], arguments["b"], structured)
        if name == "test_simple_text":
            return {"content": []} if self.server.has("fixture-simple-text-empty") else text_result(SIMPLE_TEXT)
        if name == "test_image_content":
            data = "not base64!" if self.server.has("fixture-image-not-base64") else PNG_1X1
            return {"content": [{"type": "image", "data": data, "mimeType": "image/png"}]}
        if name == "test_audio_content":
            if self.server.has("fixture-audio-missing"):
                return text_result("no audio today")
            return {"content": [{"type": "audio", "data": WAV_SILENCE, "mimeType": "audio/wav"}]}
        if name == "test_error_handling":
            flag = {} if self.server.has("fixture-error-not-flagged") else {"isError": True}
            return {**text_result(FAILURE_TEXT), **flag}
        if name == REQUIRES_TASK["name"]:
            return text_result("counted to 100")
        raise AssertionError(f"no implementation for tool {name}")

    def add(self, a: float, b: float, structured: bool) -> dict:
        total = a + b
        if not math.isfinite(total):  # JSON has no infinity: report it as a tool failure
            return {**text_result("the sum is too large"), "isError": True}
        if not structured:
            return text_result(repr(total))
        value = str(total) if self.server.has("tool-structured-content-mismatch") else total
        result = with_structure(text_result(""), {"sum": value}, True)
        if self.server.has("tool-structured-content-no-text"):
            result["content"] = [{"type": "text", "text": f"the sum is {total}"}]
        return result

    # -- slow tools (their results go out through emit, from a thread) --------------------
    def run_in_thread(self, message, name: str, arguments: dict) -> None:
        token = ((message.params or {}).get("_meta") or {}).get("progressToken")
        count = arguments.get("count") if isinstance(arguments.get("count"), int) else 1  # unchecked input
        steps = [0, 50, 100] if name == "test_tool_with_progress" else list(range(max(1, min(count, 3)) + 1))
        total = steps[-1]
        cancelled = self.cancelled.setdefault(message.id, threading.Event())
        worker = threading.Thread(
            target=self.work,
            args=(message.id, name, token, steps, total, cancelled),
            name=f"tool-{message.id}",
            daemon=True,
        )
        worker.start()

    def work(self, request_id, name: str, token, steps: list[int], total: int, cancelled: threading.Event) -> None:
        try:
            self._work(request_id, name, token, steps, total, cancelled)
        except (OSError, ValueError):
            pass  # the client has gone
        finally:
            self.cancelled.pop(request_id, None)

    def _work(self, request_id, name, token, steps, total, cancelled) -> None:
        if name == "test_tool_with_progress" and self.server.has("fixture-progress-decreasing"):
            steps = steps[::-1]
        if name == "test_tool_with_progress" and self.server.has("fixture-progress-missing"):
            token = None
        late = []
        for index, step in enumerate(steps):
            if index:
                time.sleep(STEP_SECONDS)
            if cancelled.is_set() and not self.server.has("cancel-ignored"):
                return  # cancelled: stop, and send nothing more
            if token is None:
                continue
            notice = self.progress(token, step, total)
            if self.is_late(index, len(steps)):
                late.append(notice)
                continue
            self.server.emit(notice)
            if self.server.has("progress-repeats") and index == 0:
                self.server.emit(notice)
        self.server.emit(self.server.result(request_id, text_result(f"counted to {total}")))
        for notice in late:
            self.server.emit(notice)

    def is_late(self, index: int, count: int) -> bool:
        return index == count - 1 and self.server.has("progress-after-response")

    def progress(self, token, step: int, total: int) -> dict:
        if self.server.has("progress-foreign-token"):
            token = f"{token}-not-yours"
        if self.server.has("progress-token-float"):
            token = 1.5
        return jsonrpc.notification(
            "notifications/progress", {"progressToken": token, "progress": step, "total": total}
        )


def text_result(text: str) -> dict:
    return {"content": [{"type": "text", "text": text}]}


def with_structure(result: dict, structured: dict, include: bool) -> dict:
    """The result with `structuredContent` (and its JSON as the text block), if `include`."""
    if not include:
        return result
    return {"content": [{"type": "text", "text": jsonrpc.encode(structured).decode()}], "structuredContent": structured}
