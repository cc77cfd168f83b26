"""The suite's scripted MCP server, the peer of a client under test (the client leg).

    python -m conformance.peer --scenario NAME --report FILE

It speaks stdio to the client that started it, follows the scenario's script, records
every message both ways with a timestamp into FILE (JSON lines, flushed as they happen, so
a killed peer still leaves its record) and exits when the client closes its stdin.
Nothing is judged here: the test process reads the record and grades it.

Scenarios (legacy era):
  initialize        answer initialize with the version asked for; tools/list, tools/call
  server-requests   after notifications/initialized, send a log notification, ping, and
                    roots/list, sampling/createMessage (asking for progress),
                    elicitation/create (roots/list also
                    when roots is not declared); hold the answer to the client's next request
                    until these are answered (at most HOLD seconds); a client declaring
                    roots.listChanged is asked roots/list once more after its first answer
  version-mismatch  answer initialize with a version no client can support
  version-fallback  answer initialize with the revision before the one asked for
  undeclared-requests  after notifications/initialized, send what the client did not declare:
                    elicitation/create in a mode it left out (2025-11-25 on, when it declared
                    elicitation in one mode only) and sampling/createMessage offering tools
                    (when it declared sampling without sampling.tools); hold its next request
                    as server-requests does
  session-expired   as initialize; over Streamable HTTP the first request past the handshake
                    gets HTTP 404: the session ended (conformance.peer_http)
  modern            also serve the modern era (server/discover, `_meta` on every request),
                    declaring prompts, resources and completions besides tools (MODERN_FEATURES)
  modern-retry      refuse every modern-era request with UnsupportedProtocolVersionError
                    naming only legacy revisions (initialize still works)
  tasks             (2025-11-25) after notifications/initialized, a task-augmented request
                    of a kind the client declares (sampling/createMessage, else
                    elicitation/create; asking for progress); when it declares task support for that kind, then
                    tasks/result, tasks/get, tasks/list, tasks/get of an unknown task,
                    tasks/list with a cursor it never gave and tasks/cancel of the ended task;
                    then a second task, cancelled at once and then looked at; each request
                    once the one before is answered (TaskScript); the client's requests are
                    held until the script ends, as in server-requests
  tool-tasks        (2025-11-25) a server declaring tasks.requests.tools.call, with a tool of
                    each execution.taskSupport (none, forbidden, optional, required); the
                    context asks for a call of each; a call made as a task gets a task, which
                    tasks/get and tasks/result then serve
  tool-tasks-undeclared  the same tools from a server that declares no tasks capability
  progress          a tools/call with a progressToken gets two progress notifications and a
                    cancellation naming a request the client never received, then its result
  modern-mrtr       the modern era with multi round-trip requests: the first tools/call is
                    answered with an InputRequiredResult (inputRequests for the declared
                    capabilities, one elicitation without a mode, and a requestState to
                    echo), its retry with the result
  modern-network-ref  the modern era with a tool whose inputSchema holds a same-document $ref
                    and a $ref to a canary URL on the suite's server (Streamable HTTP only:
                    over stdio the URL names no server), which a client must not fetch
  modern-unknown-result-type  the modern era with a tools/list result whose resultType no
                    revision defines (a client must take it as invalid)
  modern-undeclared-inputs  as modern-mrtr, but the InputRequiredResult asks for elicitation,
                    sampling (also with tools offered) and roots whatever the client declared
  modern-custom-headers  the modern era with tools whose parameters carry x-mcp-header
                    annotations (the official http-custom-headers scenario's tools); the
                    environment's MCP_CONFORMANCE_CONTEXT names the calls to make (CONTEXTS)
  modern-invalid-tool-headers  the modern era with one valid x-mcp-header tool and tools whose
                    annotations break the rules (the official http-invalid-tool-headers');
                    the context asks for a call of each: a client drops the invalid ones
  modern-subscriptions  the modern era with tools.listChanged declared: a subscriptions/listen
                    is acknowledged and left open; after the first tools/list answer, a
                    notifications/tools/list_changed of that subscription; after the next
                    (the client's re-list), over stdio, two the client cannot correlate (no
                    subscriptionId, an unknown one); the context asks for two tool calls at
                    once, whose answers wait until both are open (at most CALL_HOLD seconds)
  modern-subscriptions-restart  as modern-subscriptions without the notifications, except
                    that over stdio the first server process exits after its first tools/list
                    answer (the connection ends); a server the client starts again serves
  sse-retry         (2025-11-25, the official sse-retry) over Streamable HTTP the stream of a
                    tools/call gets an event id and a retry of SSE_RETRY_MS, then closes
                    before the answer, which comes on the GET that names that event in
                    Last-Event-ID (conformance.peer_http); over stdio as initialize
  json-schema-2020-12-preservation  (the official scenario) tools/list offers a tool whose
                    inputSchema uses JSON Schema 2020-12 keywords ($schema, $defs, $anchor,
                    allOf/anyOf, if/then/else, additionalProperties) and json_schema_echo; the
                    client is to call json_schema_echo with that inputSchema as it holds it
  elicitation-defaults  (2025-06-18 on; the official elicitation-sep1034-client-defaults) a
                    tools/call of a client declaring elicitation in form mode gets an
                    elicitation/create whose fields all have defaults (DEFAULTS_SCHEMA), and
                    its answer once that one is answered (at most HOLD seconds)
  modern-standard-headers  the modern era with the official http-standard-headers scenario's
                    tools, resources and prompt (names and URIs that Mcp-Name must carry);
                    over Streamable HTTP every response header name is written in upper case
                    (CONTENT-TYPE...), which a client must read as it reads lower case

Over Streamable HTTP (conformance.peer_http) the same script runs behind an HTTP endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time

from . import jsonrpc
from .revisions import (
    TASKS_REVISION,
    URL_MODE_SINCE,
    declares_task_support,
    elicitation_modes,
    legacy_revisions,
    revisions,  # not conformance.schema: jsonschema would cost every start about 130 ms
)
from .transport.base import pipe_chunks

SCENARIOS = (
    "initialize",
    "server-requests",
    "undeclared-requests",
    "tasks",
    "tool-tasks",
    "tool-tasks-undeclared",
    "version-mismatch",
    "version-fallback",
    "progress",
    "session-expired",
    "modern",
    "modern-retry",
    "modern-mrtr",
    "modern-undeclared-inputs",
    "modern-unknown-result-type",
    "modern-network-ref",
    "modern-custom-headers",
    "modern-invalid-tool-headers",
    "modern-subscriptions",
    "modern-subscriptions-restart",
    "modern-standard-headers",
    "sse-retry",
    "json-schema-2020-12-preservation",
    "elicitation-defaults",
)
META = "io.modelcontextprotocol/"
UNSUPPORTED_PROTOCOL_VERSION = -32022
CACHEABLE = {"server/discover", "tools/list", "prompts/list", "resources/list"}
# modern: what the server offers besides tools, method -> its result
MODERN_FEATURES = {
    "prompts/list": {"prompts": [{"name": "greet", "arguments": [{"name": "who"}]}]},
    "resources/list": {"resources": [{"uri": "file:///tmp/readme.txt", "name": "readme"}]},
    "completion/complete": {"completion": {"values": ["world"]}},
    "resources/read": {"contents": [{"uri": "file:///tmp/readme.txt", "mimeType": "text/plain", "text": "Read me."}]},
    "prompts/get": {"messages": [{"role": "user", "content": {"type": "text", "text": "Hello, world."}}]},
}
STANDARD_HEADERS = "modern-standard-headers"
SSE_RETRY, SSE_RETRY_MS = "sse-retry", 500  # the official scenario's retry field
_NO_ARGUMENTS = {"type": "object", "properties": {}}
# modern-standard-headers: the official http-standard-headers scenario's fixtures (resources/read
# answers with the URI asked for)
STANDARD_HEADER_FEATURES = {
    "tools/list": {
        "tools": [
            {"name": "test_headers", "description": "Checks the standard headers.", "inputSchema": _NO_ARGUMENTS},
            {"name": "my-hyphenated-tool", "description": "A name with a hyphen.", "inputSchema": _NO_ARGUMENTS},
        ]
    },
    "resources/list": {
        "resources": [
            {"uri": "file:///path/to/file%20name.txt", "name": "File with spaces"},
            {"uri": "https://example.com/resource?id=123", "name": "Resource with query string"},
        ]
    },
    "prompts/list": {"prompts": [{"name": "test_prompt", "description": "A prompt without arguments."}]},
    "prompts/get": MODERN_FEATURES["prompts/get"],
}
IMPOSSIBLE_VERSION = "2099-12-31"
SAMPLING_PROGRESS = "peer-sampling"  # server-requests: the progressToken of its sampling request
TASK_PROGRESS = "peer-task"  # tasks: the progressToken of its task-augmented request
HOLD = 5.0
CALL_HOLD = 0.5  # modern-subscriptions: seconds a tools/call answer waits for a second call
SUBSCRIPTIONS, RESTART = "modern-subscriptions", "modern-subscriptions-restart"
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
UNKNOWN_SUBSCRIPTION = "mcp-conformance-no-such-subscription"
TASK_TTL = 60_000  # ms, asked for each task
UNKNOWN_TASK = "mcp-conformance-no-such-task"
UNKNOWN_CURSOR = "mcp-conformance-no-such-cursor"
RELATED_TASK = "io.modelcontextprotocol/related-task"
UNKNOWN_RESULT_TYPE = "mcp-conformance-unknown"
FORM_BY_DEFAULT = "name_no_mode"  # modern-mrtr: the input request of an elicitation without a mode
CANARY_PATH = "/canary/profile-schema.json"  # modern-network-ref: fetching it dereferences a network $ref
TASK_REQUESTS = {  # what the tasks scenario may ask as a task: method -> (capability, params)
    "sampling/createMessage": (
        "sampling",
        {"messages": [{"role": "user", "content": {"type": "text", "text": "Say hello."}}], "maxTokens": 16},
    ),
    "elicitation/create": (
        "elicitation",
        {"message": "Your name?", "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}},
    ),
}
SERVER_INFO = {"name": "mcp-conformance-peer", "version": "0"}
REQUEST_STATE = "st:v1/9f+Q==;opaque"  # echoed byte for byte on the retry (mrtr-028)
STRAY_CANCEL_ID = "never-sent-by-the-server"
TOOL = {
    "name": "echo",
    "description": "Echoes its text.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
}

# modern-custom-headers: the official http-custom-headers scenario's tools and calls (a subset
# of its parameters), so that a conformance client written for it runs unchanged.
_HEADER_PARAMS = {
    "region": ("string", "Region"),
    "priority": ("integer", "Priority"),
    "verbose": ("boolean", "Verbose"),
    "debug": ("boolean", "Debug"),
    "empty_val": ("string", "EmptyVal"),
    "method_val": ("string", "Method"),
    "non_ascii_val": ("string", "NonAscii"),
    "whitespace_val": ("string", "Whitespace"),
    "internal_space_val": ("string", "InternalSpace"),
    "control_char_val": ("string", "ControlChar"),
    "tab_val": ("string", "Tab"),
}
_UNANNOTATED = {"float_val": {"type": "number"}, "query": {"type": "string"}}


def _header_tool(name: str, params: list[str]) -> dict:
    properties = {p: {"type": _HEADER_PARAMS[p][0], "x-mcp-header": _HEADER_PARAMS[p][1]} for p in params}
    return {
        "name": name,
        "description": "Mirrors x-mcp-header parameters into Mcp-Param headers.",
        "inputSchema": {
            "type": "object",
            "properties": {**properties, **_UNANNOTATED},
            "required": ["region", "priority", "query"],
        },
    }


HEADER_TOOLS = [
    _header_tool("test_custom_headers", list(_HEADER_PARAMS)),
    _header_tool("test_custom_headers_null", ["region", "priority", "verbose"]),
]
# modern-invalid-tool-headers: tool name -> the annotated property (the official scenario's)
_INVALID = {
    "valid_tool": ("region", {"type": "string", "x-mcp-header": "Region"}),
    "invalid_empty_header": ("value", {"type": "string", "x-mcp-header": ""}),
    "invalid_object_header": ("data", {"type": "object", "x-mcp-header": "Data"}),
    "invalid_space_in_name": ("value", {"type": "string", "x-mcp-header": "My Region"}),
    "invalid_non_ascii_name": ("value", {"type": "string", "x-mcp-header": "Région"}),
}
INVALID_HEADER_TOOLS = [
    {
        "name": name,
        "description": "A tool with an x-mcp-header annotation.",
        "inputSchema": {"type": "object", "properties": {prop: schema}, "required": [prop]},
    }
    for name, (prop, schema) in _INVALID.items()
] + [
    {
        "name": "invalid_duplicate_diff_case",
        "description": "Two properties mirrored into one header.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "field1": {"type": "string", "x-mcp-header": "MyField"},
                "field2": {"type": "string", "x-mcp-header": "myfield"},
            },
            "required": ["field1", "field2"],
        },
    }
]
CONTEXTS = {
    "modern-invalid-tool-headers": {
        "toolCalls": [
            {
                "name": tool["name"],
                "arguments": {
                    p: {"a": 1} if s["type"] == "object" else "x" for p, s in tool["inputSchema"]["properties"].items()
                },
            }
            for tool in INVALID_HEADER_TOOLS
        ]
    },
    "modern-custom-headers": {
        "toolCalls": [
            {
                "name": "test_custom_headers",
                "arguments": {
                    "region": "us-west1",
                    "priority": 42,
                    "verbose": False,
                    "debug": True,
                    "empty_val": "",
                    "method_val": "test-method",
                    "float_val": 3.14159,
                    "non_ascii_val": "Hello, 世界",
                    "whitespace_val": " padded ",
                    "internal_space_val": "us west 1",
                    "control_char_val": "line1\nline2",
                    "tab_val": "\tindented",
                    "query": "SELECT * FROM users",
                },
            },
            {
                "name": "test_custom_headers_null",
                "arguments": {"region": "us-east1", "priority": 1, "verbose": None, "query": "SELECT 1"},
            },
        ]
    },
}
# tool-tasks: a tool of each execution.taskSupport (None: no execution field)
TASK_SUPPORT = {
    "echo_plain": None,
    "echo_forbidden": "forbidden",
    "echo_optional": "optional",
    "echo_required": "required",
}
TASK_TOOLS = [
    {**TOOL, "name": name, **({"execution": {"taskSupport": support}} if support else {})}
    for name, support in TASK_SUPPORT.items()
]
TOOL_TASK_SCENARIOS = ("tool-tasks", "tool-tasks-undeclared")
CONTEXTS.update(
    {
        name: {"toolCalls": [{"name": tool, "arguments": {"text": "hi"}} for tool in TASK_SUPPORT]}
        for name in TOOL_TASK_SCENARIOS
    }
)
CONTEXTS[SUBSCRIPTIONS] = {
    "toolCalls": [{"name": "echo", "arguments": {"text": "one"}}, {"name": "echo", "arguments": {"text": "two"}}],
    "concurrent": True,
}
# json-schema-2020-12-preservation: the official scenario's tools and fixture
SCHEMA_PRESERVATION, SCHEMA_ECHO_TOOL = "json-schema-2020-12-preservation", "json_schema_echo"
RICH_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}
SCHEMA_TOOLS = [
    {
        "name": "json_schema_2020_12_tool",
        "description": "Tool with JSON Schema 2020-12 features",
        "inputSchema": RICH_SCHEMA,
    },
    {
        "name": SCHEMA_ECHO_TOOL,
        "description": "Echoes the inputSchema the client holds for json_schema_2020_12_tool.",
        "inputSchema": {"type": "object", "properties": {"schema": {"type": "object"}}, "required": ["schema"]},
    },
]
# elicitation-defaults: the official elicitation-sep1034-client-defaults scenario's tool and form,
# but for the score's default (95.5 there): schema.json of 2025-11-25 admits only integers among
# the numbers of an ElicitResult's content, so a client filling in 95.5 would send an invalid answer
ELICITATION_DEFAULTS = "elicitation-defaults"
DEFAULTS_TOOL = {
    "name": "test_client_elicitation_defaults",
    "inputSchema": _NO_ARGUMENTS,
    "description": "Asks for a form whose fields have defaults.",
}
DEFAULTS_SCHEMA = {
    "type": "object",
    "required": [],
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
}
RECONNECTION_TOOL = {
    "name": "test_reconnection",
    "description": "Its answer comes after the client reconnects.",
    "inputSchema": _NO_ARGUMENTS,
}  # sse-retry: the official scenario's tool
CONTEXTS[SSE_RETRY] = {"toolCalls": [{"name": RECONNECTION_TOOL["name"], "arguments": {}}]}
CONTEXTS[STANDARD_HEADERS] = {
    "toolCalls": [{"name": tool["name"], "arguments": {}} for tool in STANDARD_HEADER_FEATURES["tools/list"]["tools"]]
}
SCENARIO_TOOLS = {
    "modern-custom-headers": HEADER_TOOLS,
    "modern-invalid-tool-headers": INVALID_HEADER_TOOLS,
    SSE_RETRY: [RECONNECTION_TOOL],
    SCHEMA_PRESERVATION: SCHEMA_TOOLS,
    ELICITATION_DEFAULTS: [DEFAULTS_TOOL],
    **{name: TASK_TOOLS for name in TOOL_TASK_SCENARIOS},
}


class Peer:
    shared_channel = True  # stdio: every subscription's notifications travel on one channel

    def __init__(self, scenario: str, report_path: str, out=None, announce: bool = True):
        self.scenario = scenario
        self.report = open(report_path, "a", encoding="utf-8")
        self.out = out or sys.stdout.buffer
        self.started = time.monotonic()
        self.revision: str | None = None
        self.capabilities: dict = {}
        self.next_id = jsonrpc.IdSequence(1000)
        self.outstanding: dict = {}  # id of a request the peer sent -> method
        self.held: list[dict] = []  # client requests whose answers wait for `outstanding`
        self.hold_until: float | None = None
        self.tool = TOOL  # what tools/list offers (the authorization harness adds an icon)
        self.task_script: TaskScript | None = None  # the tasks scenario's requests still to send
        self.roots_asked = 0  # roots/list requests sent (server-requests)
        self.tool_tasks: ToolTasks | None = None  # the tool-tasks scenarios' tasks (2025-11-25)
        self.origin = "http://mcp-conformance.invalid"  # where the canary of modern-network-ref lives (peer_http)
        self.subscription = None  # the id of the open subscriptions/listen (the subscription scenarios)
        self.modern_tool_lists = 0  # tools/list answered in the modern era
        self.held_calls: list[tuple[dict, str]] = []  # modern-subscriptions: tools/call requests, their version
        self.calls_due: float | None = None  # when the held calls get answered anyway
        self.restarted = False  # a server process of this run started before this one (it serves in full)
        self.elicited = False  # elicitation-defaults: the form has been asked for
        if announce:  # over HTTP the first request announces the client instead
            earlier = first_start(report_path)
            if earlier is not None:  # one clock for the whole record, so that it reads in order
                self.started, self.restarted = earlier, True
            self.record({"event": "start", "scenario": scenario, "pid": os.getpid(), "clock": self.started})

    # -- the record ------------------------------------------------------------------
    def record(self, item: dict) -> None:
        item.setdefault("t", round(time.monotonic() - self.started, 6))
        self.report.write(json.dumps(item) + "\n")
        self.report.flush()

    def send(self, obj: dict, related=None) -> None:
        """Send one message; `related` is the id of the client request it belongs to (over
        HTTP it then travels on that request's stream)."""
        data = jsonrpc.encode(obj)
        self.record({"dir": "s2c", "data": data.decode("utf-8")})
        self.deliver(data, obj, related)

    def deliver(self, data: bytes, obj: dict, related) -> None:
        try:
            self.out.write(data + b"\n")
            self.out.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.record({"event": "write-failed"})

    def request(self, method: str, params: dict | None = None, related=None) -> None:
        request_id = self.next_id()
        self.outstanding[request_id] = method
        self.send(jsonrpc.request(request_id, method, params), related=related)

    # -- the script --------------------------------------------------------------------
    def on_line(self, raw: bytes, **extra) -> None:
        text, utf8 = readable(raw)
        self.record({"dir": "c2s", "data": text, **extra, **({} if utf8 else {"utf8": False})})
        message = jsonrpc.decode(text.encode("utf-8"))
        if message.kind is jsonrpc.Kind.BATCH:  # judged from the record; its members are still acted on
            for member in message.obj:
                self.act(jsonrpc.decode(json.dumps(member).encode("utf-8")))
        else:
            self.act(message)

    def act(self, message: jsonrpc.Message) -> None:
        if message.is_response:
            answered = self.outstanding.pop(message.id, None)
            if self.task_script is not None and answered is not None:
                self.next_task_step(message)
            elif answered == "roots/list" and self.scenario == "server-requests" and self.roots_asked == 1:
                self.ask_roots_again()
            self.release()
        elif message.kind is jsonrpc.Kind.NOTIFICATION:
            if message.method == "notifications/initialized" and self.scenario == "server-requests":
                self.start_server_requests()
            elif message.method == "notifications/initialized" and self.scenario == "undeclared-requests":
                self.start_undeclared_requests()
            elif message.method == "notifications/initialized" and self.scenario == "tasks":
                self.start_task_script()
        elif message.kind is jsonrpc.Kind.REQUEST:
            if (self.outstanding or self.task_script) and message.method not in ("initialize", "ping"):
                self.held.append(message.obj)
                self.hold_until = self.hold_until or time.monotonic() + HOLD
            else:
                self.answer(message.obj)

    def release(self, force: bool = False) -> None:
        if self.held and (force or not self.outstanding):
            held, self.held, self.hold_until = self.held, [], None
            for obj in held:
                self.answer(obj)

    def tick(self) -> None:
        if self.hold_until is not None and time.monotonic() >= self.hold_until:
            self.record({"event": "hold-expired", "unanswered": sorted(map(str, self.outstanding))})
            self.release(force=True)
        if self.calls_due is not None and time.monotonic() >= self.calls_due:
            self.answer_held_calls()

    def answer(self, obj: dict) -> None:
        method, request_id, params = obj.get("method"), obj.get("id"), obj.get("params") or {}
        meta = params.get("_meta") if isinstance(params, dict) else None
        if self.scenario.startswith("modern") and isinstance(meta, dict) and META + "protocolVersion" in meta:
            self.modern(obj, meta[META + "protocolVersion"])
        elif method == "initialize":
            self.send(jsonrpc.result(request_id, self.initialize_result(params)))
        elif method == "ping":
            self.send(jsonrpc.result(request_id, {}))
        elif method == "tools/list" and self.revision:
            self.send(jsonrpc.result(request_id, {"tools": SCENARIO_TOOLS.get(self.scenario, [self.tool])}))
        elif method == "tools/call" and self.revision:
            if self.asks_form_first(obj):
                return
            if self.scenario == "progress":
                self.progress_and_stray_cancel(request_id, params)
            text = str((params.get("arguments") or {}).get("text", ""))
            result = {"content": [{"type": "text", "text": text}], "isError": False}
            self.send(
                self.tool_tasks.call(request_id, params, result)
                if self.tool_tasks
                else jsonrpc.result(request_id, result)
            )
        elif method in ("tasks/get", "tasks/result") and self.tool_tasks:
            self.send(self.tool_tasks.answer(request_id, method, params))
        else:
            self.send(
                jsonrpc.error(request_id, jsonrpc.METHOD_NOT_FOUND, f"the scripted server does not offer {method}")
            )

    def asks_form_first(self, obj: dict) -> bool:
        """elicitation-defaults: before its first tool call is answered, a form whose fields all
        have defaults (for a client declaring form elicitation); the call waits (held)."""
        if (
            self.scenario != ELICITATION_DEFAULTS
            or self.elicited
            or (self.revision or "") < "2025-06-18"
            or "form" not in elicitation_modes(self.capabilities, self.revision)
        ):
            return False
        self.elicited = True
        self.request(
            "elicitation/create",
            {"message": "Please accept with the defaults.", "requestedSchema": DEFAULTS_SCHEMA},
            related=obj.get("id"),
        )
        self.held.append(obj)
        self.hold_until = time.monotonic() + HOLD
        return True

    def modern(self, obj: dict, version) -> None:
        """A modern-era request: answered, or (the subscription scenarios) a subscription
        opened or a tool call held; then what the script does after a tools/list."""
        method = obj.get("method")
        subscribing = self.scenario in (SUBSCRIPTIONS, RESTART)
        if method == "subscriptions/listen" and subscribing:
            self.open_subscription(obj)
            return
        if method == "tools/call" and self.scenario == SUBSCRIPTIONS:
            self.held_calls.append((obj, version))
            self.calls_due = self.calls_due or time.monotonic() + CALL_HOLD
            if len(self.held_calls) >= 2:
                self.answer_held_calls()
            return
        self.send(self.modern_answer(obj, version))
        if method == "tools/list" and subscribing and self.subscription is not None:
            self.modern_tool_lists += 1
            self.after_tool_list()

    def open_subscription(self, obj: dict) -> None:
        """Acknowledge a subscriptions/listen (tools list changes only) and leave it open."""
        params = obj.get("params") if isinstance(obj.get("params"), dict) else {}
        asked = params.get("notifications") if isinstance(params.get("notifications"), dict) else {}
        self.subscription = obj.get("id")
        agreed = {"toolsListChanged": True} if asked.get("toolsListChanged") is True else {}
        self.send(
            jsonrpc.notification(
                "notifications/subscriptions/acknowledged",
                {"_meta": {SUBSCRIPTION_ID: self.subscription}, "notifications": agreed},
            ),
            related=self.subscription,
        )

    def after_tool_list(self) -> None:
        changed = "notifications/tools/list_changed"
        if self.scenario == RESTART and not self.restarted and self.shared_channel:
            self.record({"event": "exit", "why": "the script ends the connection after the first tools/list"})
            os._exit(0)  # stdout closes with the process: the client sees the connection end
        if self.scenario != SUBSCRIPTIONS:
            return
        if self.modern_tool_lists == 1:
            self.send(
                jsonrpc.notification(changed, {"_meta": {SUBSCRIPTION_ID: self.subscription}}),
                related=self.subscription,
            )
        elif self.modern_tool_lists == 2 and self.shared_channel:  # two a client cannot correlate
            self.record({"event": "uncorrelated-notifications"})
            self.send(jsonrpc.notification(changed))
            self.send(jsonrpc.notification(changed, {"_meta": {SUBSCRIPTION_ID: UNKNOWN_SUBSCRIPTION}}))

    def answer_held_calls(self) -> None:
        held, self.held_calls, self.calls_due = self.held_calls, [], None
        for obj, version in held:
            self.send(self.modern_answer(obj, version))

    def modern_answer(self, obj: dict, version) -> dict:
        method, request_id = obj.get("method"), obj.get("id")
        modern = [r for r in revisions() if r >= "2026"]
        legacy = sorted(legacy_revisions(), reverse=True)
        if self.scenario == "modern-retry" or version not in modern:
            supported = legacy if self.scenario == "modern-retry" else [*modern, *legacy]
            return jsonrpc.error(
                request_id,
                UNSUPPORTED_PROTOCOL_VERSION,
                "protocol version not served here",
                {"supported": supported, "requested": str(version)},
            )
        if method == "server/discover":
            features = (
                {"prompts": {}, "resources": {}, "completions": {}}
                if self.scenario == "modern"
                else {"prompts": {}, "resources": {}}
                if self.scenario == STANDARD_HEADERS
                else {}
            )
            tools = {"listChanged": True} if self.scenario in (SUBSCRIPTIONS, RESTART) else {}
            value = {"supportedVersions": [*modern, *legacy], "capabilities": {"tools": tools, **features}}
        elif method in MODERN_FEATURES and self.scenario == "modern":
            value = MODERN_FEATURES[method]
        elif method == "resources/read" and self.scenario == STANDARD_HEADERS:
            uri = str((obj.get("params") or {}).get("uri", ""))
            value = {"contents": [{"uri": uri, "mimeType": "text/plain", "text": "Read me."}]}
        elif method in STANDARD_HEADER_FEATURES and self.scenario == STANDARD_HEADERS:
            value = STANDARD_HEADER_FEATURES[method]
        elif method == "tools/list" and self.scenario == "modern-network-ref":
            value = {"tools": [network_ref_tool(self.origin + CANARY_PATH)]}
        elif method == "tools/list":
            value = {"tools": SCENARIO_TOOLS.get(self.scenario, [self.tool])}
        elif method == "tools/call":
            value = self.tool_call_or_input_required(obj.get("params") or {})
            if value is None:
                return jsonrpc.error(request_id, jsonrpc.INVALID_PARAMS, "requestState is not the one the server sent")
        else:
            return jsonrpc.error(request_id, jsonrpc.METHOD_NOT_FOUND, f"the scripted server does not offer {method}")
        self.revision = version
        value = {"resultType": "complete", **value, "_meta": {META + "serverInfo": SERVER_INFO}}
        if method == "tools/list" and self.scenario == "modern-unknown-result-type":
            value["resultType"] = UNKNOWN_RESULT_TYPE
        if method in CACHEABLE:
            value.update(ttlMs=0, cacheScope="public")
        return jsonrpc.result(request_id, value)

    def tool_call_or_input_required(self, params: dict) -> dict | None:
        """A tool result; in modern-mrtr first an InputRequiredResult, then (None) a refusal
        of a retry whose requestState differs from the one sent."""
        if self.scenario in ("modern-mrtr", "modern-undeclared-inputs"):
            if "requestState" not in params:
                declared = (params.get("_meta") or {}).get(META + "clientCapabilities") or {}
                asked = input_requests(declared) if self.scenario == "modern-mrtr" else every_input_request()
                return {
                    "resultType": "input_required",
                    **({"inputRequests": asked} if asked else {}),
                    "requestState": REQUEST_STATE,
                }
            if params["requestState"] != REQUEST_STATE:
                return None
        text = str((params.get("arguments") or {}).get("text", ""))
        return {"content": [{"type": "text", "text": text}], "isError": False}

    def progress_and_stray_cancel(self, request_id, params: dict) -> None:
        token = (params.get("_meta") or {}).get("progressToken") if isinstance(params.get("_meta"), dict) else None
        if isinstance(token, (str, int)) and not isinstance(token, bool):
            for done in (1, 2):
                self.send(
                    jsonrpc.notification(
                        "notifications/progress",
                        {"progressToken": token, "progress": done, "total": 2, "message": f"step {done} of 2"},
                    ),
                    related=request_id,
                )
        self.send(
            jsonrpc.notification(
                "notifications/cancelled",
                {"requestId": STRAY_CANCEL_ID, "reason": "a cancellation the client must tolerate"},
            ),
            related=request_id,
        )

    def initialize_result(self, params: dict) -> dict:
        asked = params.get("protocolVersion")
        known = legacy_revisions()
        self.capabilities = params.get("capabilities") if isinstance(params.get("capabilities"), dict) else {}
        if self.scenario == "version-mismatch":
            version = IMPOSSIBLE_VERSION
        elif self.scenario == "version-fallback":
            older = [r for r in known if isinstance(asked, str) and r < asked]
            version = older[-1] if older else known[0]
        else:
            version = asked if asked in known else known[-1]
        self.revision = version
        capabilities = {"tools": {}, "logging": {}}
        if self.scenario in TOOL_TASK_SCENARIOS and version == TASKS_REVISION:
            self.tool_tasks = ToolTasks()
            if self.scenario == "tool-tasks":
                capabilities["tasks"] = {"requests": {"tools": {"call": {}}}}
        return {"protocolVersion": version, "capabilities": capabilities, "serverInfo": SERVER_INFO}

    def start_server_requests(self) -> None:
        self.send(
            jsonrpc.notification(
                "notifications/message", {"level": "info", "logger": "peer", "data": "scripted notice"}
            )
        )
        self.request("ping")
        self.roots_asked = 1
        self.request("roots/list")  # also when undeclared: a client without roots answers -32601
        if "sampling" in self.capabilities:
            self.request(
                "sampling/createMessage",
                {
                    "messages": [{"role": "user", "content": {"type": "text", "text": "Say hello."}}],
                    "maxTokens": 16,
                    "_meta": {"progressToken": SAMPLING_PROGRESS},
                },
            )
        if "elicitation" in self.capabilities and (self.revision or "") >= "2025-06-18":
            self.request(
                "elicitation/create",
                {
                    "message": "Your name?",
                    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            )

    def ask_roots_again(self) -> None:
        """roots-002: a second roots/list shows whether the roots changed since the first."""
        roots = self.capabilities.get("roots")
        if isinstance(roots, dict) and roots.get("listChanged") is True:
            self.roots_asked += 1
            self.request("roots/list")

    def start_task_script(self) -> None:
        if self.revision != TASKS_REVISION:
            return
        script = TaskScript(self.capabilities)
        if script.request is not None:
            self.task_script = script
            self.request(*script.request)

    def next_task_step(self, answer: jsonrpc.Message) -> None:
        step = self.task_script.next(answer)
        if step is None:
            self.task_script = None
        else:
            self.request(*step)

    def start_undeclared_requests(self) -> None:
        """Requests a client must refuse, since it did not declare what they need: the
        revision's modes and tool-enabled sampling came in 2025-11-25."""
        if (self.revision or "") < URL_MODE_SINCE:
            return
        modes = elicitation_modes(self.capabilities, self.revision)
        if modes == {"form"}:
            self.request(
                "elicitation/create",
                {
                    "mode": "url",
                    "message": "Open this page to go on.",
                    "elicitationId": "undeclared-url-mode",
                    "url": "https://example.com/mcp-conformance/undeclared-url-mode",
                },
            )
        elif modes == {"url"}:
            self.request(
                "elicitation/create",
                {
                    "mode": "form",
                    "message": "Your name?",
                    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            )
        sampling = self.capabilities.get("sampling")
        if isinstance(sampling, dict) and "tools" not in sampling:
            self.request("sampling/createMessage", TOOL_SAMPLING)


class TaskScript:
    """The tasks scenario's requests, one at a time: a task-augmented request, then (when
    the client declares task support for it and answers with a task) the task requests."""

    def __init__(self, capabilities: dict):
        declared = [
            (method, params) for method, (capability, params) in TASK_REQUESTS.items() if capability in capabilities
        ]
        supported = [(method, params) for method, params in declared if declares_task_support(capabilities, method)]
        method, params = (supported or declared or [(None, None)])[0]
        self.request = (
            (method, {**params, "task": {"ttl": TASK_TTL}, "_meta": {"progressToken": TASK_PROGRESS}})
            if method
            else None
        )
        self.tasks = capabilities.get("tasks") if supported else None
        self.steps: list[tuple[str, dict]] | None = None  # once the task is created

    def next(self, answer: jsonrpc.Message) -> tuple[str, dict] | None:
        task = answer.result.get("task") if answer.kind is jsonrpc.Kind.RESULT else None
        created = isinstance(task, dict) and isinstance(task.get("taskId"), str)
        if self.steps is None:
            if self.tasks is None or not created:
                return None
            self.steps = self.task_requests(task["taskId"])
        elif created and not self.steps:  # the second task: cancelled at once, then looked at
            self.steps = [("tasks/cancel", {"taskId": task["taskId"]}), ("tasks/get", {"taskId": task["taskId"]})]
        return self.steps.pop(0) if self.steps else None

    def task_requests(self, task_id: str) -> list[tuple[str, dict]]:
        steps = [("tasks/result", {"taskId": task_id}), ("tasks/get", {"taskId": task_id})]
        if isinstance(self.tasks, dict) and "list" in self.tasks:
            steps += [("tasks/list", {}), ("tasks/list", {"cursor": UNKNOWN_CURSOR})]
        steps.append(("tasks/get", {"taskId": UNKNOWN_TASK}))
        if isinstance(self.tasks, dict) and "cancel" in self.tasks:
            steps.append(("tasks/cancel", {"taskId": task_id}))
            steps.append(self.request)  # a second task, cancelled before anyone asks about it
        return steps


class ToolTasks:
    """The tool-tasks scenarios' server side of tasks: a tools/call made as a task gets a
    working task, done by the time it is asked about (tasks/get, tasks/result). A required
    tool called without a task is refused with -32600, as a server may (tasks-073)."""

    def __init__(self):
        self.results: dict[str, dict] = {}

    def call(self, request_id, params: dict, result: dict) -> dict:
        if not isinstance(params.get("task"), dict):
            if TASK_SUPPORT.get(params.get("name")) == "required":
                return jsonrpc.error(request_id, jsonrpc.INVALID_REQUEST, "this tool must be called as a task")
            return jsonrpc.result(request_id, result)
        task_id = f"tool-task-{len(self.results) + 1}"
        self.results[task_id] = result
        return jsonrpc.result(request_id, {"task": self.task(task_id, "working")})

    @staticmethod
    def task(task_id: str, status: str) -> dict:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"taskId": task_id, "status": status, "createdAt": stamp, "lastUpdatedAt": stamp, "ttl": TASK_TTL}

    def answer(self, request_id, method: str, params: dict) -> dict:
        task_id = params.get("taskId")
        if task_id not in self.results:
            return jsonrpc.error(request_id, jsonrpc.INVALID_PARAMS, f"no task {task_id!r}")
        if method == "tasks/get":
            return jsonrpc.result(request_id, self.task(task_id, "completed"))
        return jsonrpc.result(request_id, {**self.results[task_id], "_meta": {RELATED_TASK: {"taskId": task_id}}})


def first_start(report_path: str) -> float | None:
    """The clock of the first server process that recorded into this report (a client that
    starts the server again gets a second process), or None."""
    try:
        with open(report_path, encoding="utf-8") as report:
            for line in report:
                if '"start"' in line:
                    clock = json.loads(line).get("clock")
                    return clock if isinstance(clock, (int, float)) else None
    except (OSError, ValueError):
        pass
    return None


def readable(raw: bytes) -> tuple[str, bool]:
    """The client's bytes as text, and whether they were UTF-8: bytes that are not are read
    with replacement characters, so that one bad byte (judged from the record,
    transports-001) does not also stop the script."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), False


def network_ref_tool(canary_url: str) -> dict:
    """The official json-schema-ref-no-deref scenario's tool: a same-document $ref, which a
    client may resolve, and a network one, which it must not fetch (2026 basic-043)."""
    return {
        "name": "lookup_user",
        "description": "Look up a user profile by id",
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"userId": {"type": "string", "pattern": "^[a-z0-9-]+$"}},
            "properties": {"id": {"$ref": "#/$defs/userId"}, "profile": {"$ref": canary_url}},
            "required": ["id"],
        },
    }


TOOL_SAMPLING = {  # sampling with tools offered: for a client declaring sampling.tools only
    "messages": [{"role": "user", "content": {"type": "text", "text": "What time is it?"}}],
    "maxTokens": 16,
    "toolChoice": {"mode": "auto"},
    "tools": [{"name": "clock", "description": "Tells the time.", "inputSchema": {"type": "object"}}],
}


def every_input_request() -> dict:
    """modern-undeclared-inputs: an input request of each kind, whatever the client
    declared, and a sampling request offering tools, whether or not it declared sampling.tools."""
    return {
        **input_requests({"elicitation": {}, "roots": {}}),
        "sample": {"method": "sampling/createMessage", "params": TASK_REQUESTS["sampling/createMessage"][1]},
        "sample_with_tools": {"method": "sampling/createMessage", "params": TOOL_SAMPLING},
    }


def input_requests(declared: dict) -> dict:
    """InputRequests only for capabilities the client declared (mrtr-022); a requestState
    alone when it declared none."""
    requests = {}
    if isinstance(declared, dict) and "elicitation" in declared:
        requests["confirm"] = {
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": "Go on?",
                "requestedSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
            },
        }
    if "form" in elicitation_modes(declared):  # without a mode: form, as a client must read it (2026 elicitation-015)
        requests[FORM_BY_DEFAULT] = {
            "method": "elicitation/create",
            "params": {
                "message": "Your name?",
                "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        }
    if isinstance(declared, dict) and "roots" in declared:
        requests["roots"] = {"method": "roots/list"}
    return requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.peer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="initialize")
    parser.add_argument("--report", required=True, help="file to append the JSON-lines record to")
    args = parser.parse_args(argv)
    peer = Peer(args.scenario, args.report)

    def terminated(signum, frame) -> None:  # lifecycle-017/018: was stdin closed first?
        peer.record({"event": "sigterm"})
        os._exit(0)

    signal.signal(signal.SIGTERM, terminated)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        framer = jsonrpc.LineFramer()
        for chunk in pipe_chunks(sys.stdin.buffer.fileno()):
            for line in framer.feed(chunk):
                if isinstance(line, jsonrpc.OversizedLine):
                    lines.put(line.head)
                elif line.strip():
                    lines.put(line)
        if framer.pending().strip():
            lines.put(framer.pending())
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            raw = lines.get(timeout=0.1)
        except queue.Empty:
            peer.tick()
            continue
        if raw is None:
            break
        peer.on_line(raw)
        peer.tick()
    peer.record({"event": "eof"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
