"""client_requests: tools that need the client's own features (sampling, elicitation in
form and URL mode, roots), asked for only when the client declared them at initialize.

    ask_llm         sampling/createMessage (with a tool loop when sampling.tools is declared)
    ask_user        elicitation/create in form mode
    ask_url         elicitation/create in URL mode, then notifications/elicitation/complete
    connect_account error -32042 (URL elicitation required) naming the URL elicitation to do
    list_roots      roots/list

A client that did not declare what a tool needs gets a result with `isError: true` (legacy
era) or error -32021 naming the missing capability (2026-07-28). In 2026-07-28 the server
asks the client inside an InputRequiredResult (multi round-trip): the question goes in
`inputRequests`, what the answer continues goes in a signed `requestState`, and the
client's retry carries the answer in `inputResponses`. connect_account (-32042) is legacy
only; 2026-07-28 dropped that code.

The server core routes neither extra tools nor responses to features, so this module hooks
in when the server builds its routes: it adds its tools to the tools feature's list and
call handler, and sees responses (to its own requests) before the server drops them.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/client/sampling (and
elicitation, roots)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from ... import jsonrpc
from ...jsonrpc import MISSING_REQUIRED_CLIENT_CAPABILITY, Kind
from ...revisions import elicitation_modes
from ..faults import Fault
from ..faults import modern as _modern
from ..modern import META
from . import ReferenceFeature

URL_ELICITATION_REQUIRED = -32042
INPUT_KEY = "answer"  # the one input request of an InputRequiredResult
MAX_TOOL_ROUNDS = 3  # sampling tool loop: at most this many createMessage requests per call
CONNECT_URL = "https://example.com/mcp-conformance/connect?elicitation="
READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": False, "openWorldHint": True}
LOOKUP_TOOL = {
    "name": "lookup",
    "description": "Looks a topic up in the reference server's notes.",
    "inputSchema": {"type": "object", "properties": {"topic": {"type": "string"}}},
}

TOOLS = [
    {
        "name": "ask_llm",
        "description": "Asks the client's LLM a question (sampling).",
        "since": "2024-11-05",
        "inputSchema": {
            "type": "object",
            "properties": {"question": {"type": "string"}},
            "required": ["question"],
            "additionalProperties": False,
        },
    },
    {
        "name": "list_roots",
        "description": "Lists the client's roots.",
        "since": "2024-11-05",
        "inputSchema": {"type": "object", "additionalProperties": False},
    },
    {
        "name": "ask_user",
        "description": "Asks the user for their name (form elicitation).",
        "since": "2025-06-18",
        "inputSchema": {"type": "object", "additionalProperties": False},
    },
    {
        "name": "ask_url",
        "description": "Sends the user to a web page (URL elicitation).",
        "since": "2025-11-25",
        "inputSchema": {"type": "object", "additionalProperties": False},
    },
    {
        "name": "connect_account",
        "description": "Needs an account link first (URL elicitation required).",
        "since": "2025-11-25",
        "until": "2025-11-25",
        "inputSchema": {"type": "object", "additionalProperties": False},
    },
]
NAMES = {tool["name"] for tool in TOOLS}

FAULTS = {
    # capabilities
    "sampling-request-invalid": Fault(
        "sends sampling/createMessage with maxTokens as a string (schema-invalid)", "test_messages_valid"
    ),
    "sampling-undeclared": Fault(
        "sends sampling/createMessage to a client that did not declare sampling", "test_sampling_only_when_declared"
    ),
    "sampling-tools-undeclared": Fault(
        "sends tool-enabled sampling to a client without sampling.tools", "test_sampling_only_when_declared"
    ),
    "elicitation-undeclared": Fault(
        "sends elicitation/create to a client that did not declare elicitation", "test_elicitation_only_declared_modes"
    ),
    "elicitation-url-undeclared": Fault(
        "sends URL-mode elicitation to a client that declared form mode only", "test_elicitation_only_declared_modes"
    ),
    "roots-undeclared": Fault(
        "sends roots/list to a client that did not declare roots", "test_roots_only_when_declared"
    ),
    # request shapes
    "elicitation-empty-message": Fault("elicitation requests with an empty message", "test_elicitation_request_shape"),
    "elicitation-bad-url": Fault(
        "a URL elicitation whose url is not a URL",
        "test_elicitation_request_shape",
        also=("test_url_elicitation_required_error",),
    ),
    "elicitation-form-link": Fault(
        "a form elicitation whose message holds a clickable link", "test_form_elicitation_has_no_links", "warned"
    ),
    "elicitation-complete-wrong-id": Fault(
        "elicitation/complete names an id no elicitation had", "test_elicitation_complete_ids"
    ),
    "url-required-no-elicitations": Fault("error -32042 lists no elicitations", "test_url_elicitation_required_error"),
    "url-required-form-mode": Fault(
        "error -32042 lists a form-mode elicitation without elicitationId", "test_url_elicitation_required_error"
    ),
    "sampling-tool-result-mixed": Fault(
        "a sampling user message mixes tool results with text", "test_sampling_tool_results_paired"
    ),
    "sampling-tool-result-unmatched": Fault(
        "tool results in sampling name a toolUseId that was never used", "test_sampling_tool_results_paired"
    ),
    "sampling-include-context": Fault(
        'sampling asks includeContext "thisServer" without sampling.context', "test_sampling_include_context", "warned"
    ),
    # the wire
    "meta-key-bad-prefix": Fault("a _meta key whose prefix label starts with a digit", "test_meta_keys_well_formed"),
    "meta-key-bad-name": Fault("a _meta key whose name starts with an underscore", "test_meta_keys_well_formed"),
    "server-request-id-null": Fault("requests to the client with id null", "test_server_request_ids"),
    "server-request-id-reused": Fault("every request to the client uses the same id", "test_server_request_ids"),
    "notification-with-id": Fault("notifications/elicitation/complete carries an id", "test_notifications_have_no_id"),
    "server-progress-token-float": Fault(
        "requests to the client carry progress token 1.5", "test_progress_tokens_typed"
    ),
    # 2026-07-28: multi round-trip requests and missing client capabilities
    "mrtr-server-request": _modern(
        "asks the client with a server-to-client request, not an InputRequiredResult",
        "test_no_server_requests_in_modern_era",
        also=("test_server_sends_no_requests",),
    ),
    "mrtr-empty-input-required": _modern(
        "an InputRequiredResult with neither inputRequests nor requestState", "test_input_required_result_shape"
    ),
    "mrtr-input-request-not-client-request": _modern(
        "inputRequests holds a tools/list request", "test_input_requests_valid", also=("test_messages_valid",)
    ),
    "mrtr-input-undeclared": _modern(
        "inputRequests asks for sampling from a client that did not declare it", "test_input_requests_declared"
    ),
    "mrtr-sampling-tool-result-mixed": _modern(
        "a sampling input request mixes tool results with text", "test_input_sampling_tool_results_paired"
    ),
    "mrtr-missing-input-error": _modern(
        "a retry without the asked-for input gets an error, not a new question",
        "test_missing_input_asked_again",
        "warned",
    ),
    "missing-capability-no-data": _modern(
        "error -32021 without data.requiredCapabilities", "test_missing_client_capability"
    ),
    "missing-capability-as-result": _modern(
        "a call needing an undeclared capability gets an isError result, not -32021",
        "test_missing_client_capability",
        "warned",
    ),
}


class Feature(ReferenceFeature):
    capability_name = None  # client features: nothing to declare
    # Signs requestState (2026-07-28). One key per process: over HTTP each modern request may
    # be served by a fresh server object, and a retry must verify against the same key.
    key = secrets.token_bytes(16)

    def __init__(self, server):
        super().__init__(server)
        self.waiting: dict[Any, dict] = {}  # id of our request -> what the answer continues
        self.sent = 0  # requests sent to the client (their ids)
        self.calling = ""  # the tool being called

    @property
    def modern(self) -> bool:
        return self.revision >= "2026"

    @property
    def client_capabilities(self) -> dict:
        """Declared at initialize (legacy) or in the request's _meta (2026-07-28)."""
        meta = self.server.modern_meta
        if meta is None:
            return self.server.client_capabilities
        declared = meta.get(META + "clientCapabilities")
        return declared if isinstance(declared, dict) else {}

    # -- listing -----------------------------------------------------------------------
    @property
    def revision(self) -> str:
        return self.server.current_revision or "2025-11-25"

    def offered_tools(self) -> list[dict]:
        revision = self.revision
        return [
            {**{k: v for k, v in tool.items() if k not in ("since", "until")}, "annotations": READ_ONLY}
            for tool in TOOLS
            if tool["since"] <= revision <= tool.get("until", revision)
        ]

    # -- what the client declared ----------------------------------------------------------
    def declared(self, name: str) -> dict | None:
        value = self.client_capabilities.get(name)
        return value if isinstance(value, dict) else None

    def elicitation_modes(self) -> set[str]:
        return elicitation_modes(self.client_capabilities)

    # -- calls ---------------------------------------------------------------------------
    def call_tool(self, message) -> list[dict]:
        tools = self.server.features["tools"]
        params = message.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        tool = next(t for t in self.offered_tools() if t["name"] == name)
        rejection = tools.check_arguments(message.id, tool, arguments)
        if rejection is not None:
            return [rejection]
        self.calling = name  # bound into requestState (2026-07-28)
        if self.modern and "requestState" in params:
            return self.resume(message, params)
        return getattr(self, "call_" + name)(message, arguments)

    def refuse(self, message, what: str, required: dict) -> list[dict]:
        """The client lacks a capability the tool needs: -32021 naming it (2026-07-28), an
        isError result before."""
        said = f"this tool needs {what}, which the client did not declare"
        if self.modern and not self.server.has("missing-capability-as-result"):
            data = {} if self.server.has("missing-capability-no-data") else {"requiredCapabilities": required}
            return [self.server.error(message.id, MISSING_REQUIRED_CLIENT_CAPABILITY, said, data)]
        return [self.server.result(message.id, {**text(said), "isError": True})]

    def call_ask_llm(self, message, arguments: dict) -> list[dict]:
        sampling = self.declared("sampling")
        asks_anyway = self.server.has("sampling-undeclared") or self.server.has("mrtr-input-undeclared")
        if sampling is None and not asks_anyway:
            return self.refuse(message, "sampling", {"sampling": {}})
        history = [{"role": "user", "content": {"type": "text", "text": str(arguments.get("question"))}}]
        with_tools = (
            isinstance((sampling or {}).get("tools"), dict) and self.revision >= "2025-11-25"
        ) or self.server.has("sampling-tools-undeclared")
        return [self.create_message(message.id, history, with_tools, 1)]

    def create_message(self, call_id, history: list[dict], with_tools: bool, round_: int) -> dict:
        params: dict = {"messages": history, "maxTokens": "200" if self.server.has("sampling-request-invalid") else 200}
        if with_tools:
            params["tools"] = [LOOKUP_TOOL]
            params["toolChoice"] = {"mode": "auto"}
        if self.server.has("sampling-include-context") and "context" not in (self.declared("sampling") or {}):
            params["includeContext"] = "thisServer"
        return self.ask(
            call_id,
            "sampling/createMessage",
            params,
            {"kind": "sampling", "history": history, "tools": with_tools, "round": round_},
        )

    def call_ask_user(self, message, arguments: dict) -> list[dict]:
        if "form" not in self.elicitation_modes() and not self.server.has("elicitation-undeclared"):
            return self.refuse(message, "form elicitation", {"elicitation": {"form": {}}})
        text_ = "" if self.server.has("elicitation-empty-message") else "What name should the reference server use?"
        if self.server.has("elicitation-form-link"):
            text_ += " See https://example.com/why-we-ask for details."
        params: dict = {
            "message": text_,
            "requestedSchema": {
                "type": "object",
                "properties": {"name": {"type": "string", "title": "Your name"}},
                "required": ["name"],
            },
        }
        if self.revision >= "2025-11-25":
            params = {"mode": "form", **params}
        return [self.ask(message.id, "elicitation/create", params, {"kind": "form"})]

    def call_ask_url(self, message, arguments: dict) -> list[dict]:
        if "url" not in self.elicitation_modes() and not self.server.has("elicitation-url-undeclared"):
            return self.refuse(message, "URL elicitation", {"elicitation": {"url": {}}})
        elicitation = self.url_elicitation()
        return [
            self.ask(
                message.id,
                "elicitation/create",
                elicitation,
                {"kind": "url", "elicitationId": elicitation.get("elicitationId")},
            )
        ]

    def url_elicitation(self) -> dict:
        elicitation_id = f"ref-elicitation-{self.sent + 1}"
        url = "not a url" if self.server.has("elicitation-bad-url") else CONNECT_URL + elicitation_id
        message = "" if self.server.has("elicitation-empty-message") else "Open this page to link your account."
        if self.modern:  # 2026-07-28 URL elicitations carry no id (and no completion notice)
            return {"mode": "url", "message": message, "url": url}
        return {"mode": "url", "message": message, "url": url, "elicitationId": elicitation_id}

    def call_connect_account(self, message, arguments: dict) -> list[dict]:
        if "url" not in self.elicitation_modes():
            return self.refuse(message, "URL elicitation", {"elicitation": {"url": {}}})
        elicitation = self.url_elicitation()
        self.sent += 1  # the id is spent
        if self.server.has("url-required-form-mode"):
            elicitation = {
                "mode": "form",
                "message": elicitation["message"],
                "requestedSchema": {"type": "object", "properties": {}},
            }
        listed = [] if self.server.has("url-required-no-elicitations") else [elicitation]
        return [
            self.server.error(
                message.id,
                URL_ELICITATION_REQUIRED,
                "This request requires more information.",
                {"elicitations": listed},
            )
        ]

    def call_list_roots(self, message, arguments: dict) -> list[dict]:
        if self.declared("roots") is None and not self.server.has("roots-undeclared"):
            return self.refuse(message, "roots", {"roots": {}})
        return [self.ask(message.id, "roots/list", None, {"kind": "roots"})]

    # -- requests to the client and their answers -------------------------------------------
    def ask(self, call_id, method: str, params: dict | None, state: dict) -> dict:
        """Ask the client: an InputRequiredResult (2026-07-28) or a request of our own."""
        if self.modern and not self.server.has("mrtr-server-request"):
            return self.input_required(call_id, {"method": method, "params": params or {}}, state)
        self.sent += 1
        request_id: Any = f"ref-{self.sent}"
        if self.server.has("server-request-id-null"):
            request_id = None
        elif self.server.has("server-request-id-reused"):
            request_id = "ref-1"
        token: Any = 1.5 if self.server.has("server-progress-token-float") else f"ref-progress-{self.sent}"
        meta: dict = {"progressToken": token, "org.mcp-conformance/origin": "reference"}
        if self.server.has("meta-key-bad-prefix"):
            meta["1reference/origin"] = "reference"
        if self.server.has("meta-key-bad-name"):
            meta["_origin"] = "reference"
        self.waiting[request_id] = {**state, "call": call_id}
        return jsonrpc.request(request_id, method, {**(params or {}), "_meta": meta})

    def on_response(self, message) -> list[dict]:
        if not message.has_id or message.id not in self.waiting:
            return []  # an answer to another feature's request
        state = self.waiting.pop(message.id)
        call_id = state["call"]
        if message.kind is not Kind.RESULT or not isinstance(message.result, dict):
            return [self.server.result(call_id, {**text(f"the client refused: {message.error}"), "isError": True})]
        return self.answered(call_id, state, message.result)

    # -- multi round-trip (2026-07-28) ----------------------------------------------------------
    def input_required(self, call_id, request: dict, state: dict) -> dict:
        if self.server.has("mrtr-input-request-not-client-request"):
            request = {"method": "tools/list", "params": {}}
        if self.server.has("mrtr-empty-input-required"):
            return self.server.result(call_id, {"resultType": "input_required"})
        return self.server.result(
            call_id,
            {
                "resultType": "input_required",
                "inputRequests": {INPUT_KEY: request},
                "requestState": self.seal({**state, "ask": request, "tool": self.calling}),
            },
        )

    def seal(self, state: dict) -> str:
        """requestState: the state as base64 JSON, signed, since the client could alter it."""
        body = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return body + "." + hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()

    def unseal(self, blob) -> dict | None:
        """The state, if the blob is one we sealed (else None: it was altered or is not ours)."""
        body, _, signature = str(blob).rpartition(".")
        expected = hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        return json.loads(base64.urlsafe_b64decode(body))

    def resume(self, message, params: dict) -> list[dict]:
        """A retry: the state must be ours and for this tool; a missing answer is asked again."""
        state = self.unseal(params["requestState"])
        if state is None or state.get("tool") != params.get("name"):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "requestState failed verification")]
        answers = params.get("inputResponses")
        answer = answers.get(INPUT_KEY) if isinstance(answers, dict) else None
        if not isinstance(answer, dict):
            if self.server.has("mrtr-missing-input-error"):
                return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "inputResponses lacks the answer")]
            return [self.input_required(message.id, state["ask"], state)]
        return self.answered(message.id, state, answer)

    def answered(self, call_id, state: dict, result: dict) -> list[dict]:
        """Continue a tool call with the client's answer to what it was asked."""
        kind = state["kind"]
        if kind == "sampling":
            return self.on_sampled(call_id, state, result)
        if kind == "form":
            return [
                self.server.result(
                    call_id,
                    text(
                        f"the user chose {result.get('action')}: {jsonrpc.encode(result.get('content') or {}).decode()}"
                    ),
                )
            ]
        if kind == "url":
            replies = []
            if result.get("action") == "accept" and not self.modern:
                elicitation_id = state["elicitationId"]
                if self.server.has("elicitation-complete-wrong-id"):
                    elicitation_id = "ref-elicitation-never-sent"
                notice = jsonrpc.notification("notifications/elicitation/complete", {"elicitationId": elicitation_id})
                if self.server.has("notification-with-id"):
                    notice["id"] = f"ref-notice-{self.sent}"
                replies.append(notice)
            return replies + [self.server.result(call_id, text(f"the user chose {result.get('action')}"))]
        roots = result.get("roots") if isinstance(result.get("roots"), list) else []
        uris = [str(root.get("uri")) for root in roots if isinstance(root, dict)]
        return [self.server.result(call_id, text("roots: " + ", ".join(uris)))]

    def on_sampled(self, call_id, state: dict, result: dict) -> list[dict]:
        content = result.get("content")
        blocks = content if isinstance(content, list) else [content]
        uses = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        if not uses or not state["tools"] or state["round"] >= MAX_TOOL_ROUNDS:
            said = " ".join(str(b.get("text")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            return [self.server.result(call_id, text(f"the LLM said: {said}"))]
        answers: list[dict] = [
            {
                "type": "tool_result",
                "toolUseId": str(use.get("id")),
                "content": [{"type": "text", "text": f"nothing noted on {use.get('input')}"}],
            }
            for use in uses
        ]
        if self.server.has("sampling-tool-result-unmatched"):
            answers[0]["toolUseId"] = "ref-no-such-tool-use"
        if self.server.has("sampling-tool-result-mixed") or self.server.has("mrtr-sampling-tool-result-mixed"):
            answers.append({"type": "text", "text": "and here is some more text"})
        history = [*state["history"], {"role": "assistant", "content": blocks}, {"role": "user", "content": answers}]
        return [self.create_message(call_id, history, True, state["round"] + 1)]


def text(value: str) -> dict:
    return {"content": [{"type": "text", "text": value}]}
