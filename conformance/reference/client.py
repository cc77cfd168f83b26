"""A reference MCP client for testing the client leg, with faults.

    python -m conformance.reference.client [--fault NAME] SERVER-COMMAND...
    python -m conformance.reference.client [--fault NAME] http://HOST:PORT/mcp

It starts the server command (stdio) or connects to the URL (Streamable HTTP) and probes
with server/discover (modern era). A server that offers 2026-07-28 gets a modern session
(`_meta` on every request); a refusal naming other versions, or no such method, leads to
initialize (asking for the newest legacy revision the server allows),
notifications/initialized. Either way it lists the tools (a result without resultType
counts as complete), calls the first one (with a progressToken; an InputRequiredResult is
answered by a retry with inputResponses and the requestState), answers the server's
requests (ping, roots/list, sampling/createMessage, elicitation/create) whenever they
come, and closes (stdin first). In the modern era it also lists, reads and gets what the
server declares, and subscribes to tools list changes when offered (subscriptions/listen,
re-listing on a change of its own subscription). In the official scenarios
json-schema-2020-12-preservation and elicitation-sep1034-client-defaults
(MCP_CONFORMANCE_SCENARIO) it echoes the rich tool schema and accepts forms with their
defaults. A server answering a version it does not know ends the session. Over HTTP, a
request refused with 401 or 403 is authorized (headless OAuth 2.1, oauth.py) and sent
again; a request's stream closed before its answer is polled after the retry named. Each
--fault breaks one rule, so the suite's checks can be shown to catch it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import signal
import sys
import time

from .. import jsonrpc
from ..jsonrpc import Kind
from ..revisions import RESULT_TYPES, declares_task_support, elicitation_modes, legacy_revisions, revisions
from ..transport.base import TransportError, TransportTimeout
from ..transport.http import PARAM_HEADER, HttpTransport, header_params
from ..transport.stdio import StdioTransport
from . import client_tasks
from .oauth import OAuth, OAuthError, scenario_context

FAULTS = {
    "no-initialized": "never sends notifications/initialized",
    "wrong-version-field": "initialize names the version `version` instead of `protocolVersion`",
    "ids-reused": "every request has id 1",
    "answers-ping-wrong": "answers ping with an error",
    "sends-request-before-initialize": "lists the tools before initializing",
    "ignores-version": "goes on whatever version the server answers",
    "bad-sampling-result": "answers sampling/createMessage with a result lacking role",
    "answers-undeclared-roots": "declares no roots, yet answers roots/list with a result",
    "not-json": "writes a line that is no JSON to the server",
    "ignores-server-requests": "never answers the server's requests",
    "ignores-sampling": "answers every server request but sampling/createMessage",
    "hangs": "never exits after its session",
    "sigterm-first": "ends the server with SIGTERM before closing its stdin",
    "no-meta": "modern-era requests after server/discover lack clientCapabilities in _meta",
    "retries-same-version": "refused a version, asks again with the same one",
    "exits-early": "exits with an error before starting the server",
    "bad-progress-token": "asks for progress with a token that is a fraction",
    "cancels-initialize": "sends notifications/cancelled for its initialize request",
    "chokes-on-cancel": "gives up when the server cancels a request it never sent",
    "rejects-missing-result-type": "takes a result without resultType as invalid and stops",
    "mrtr-same-id": "retries after an InputRequiredResult with the id of the first request",
    "mrtr-alters-state": "retries with a requestState of its own making",
    "mrtr-no-input-responses": "retries without the inputResponses asked for",
    "no-version-header": "over HTTP, sends no MCP-Protocol-Version header after initialize",
    "no-modern-headers": "over HTTP, sends modern-era requests without MCP-Protocol-Version and Mcp-Method",
    "http-accept-json-only": "over HTTP, POSTs with Accept: application/json only (no text/event-stream)",
    "http-drops-session-id": "over HTTP, leaves out the MCP-Session-Id it was given after initialize",
    "http-no-reinitialize": "over HTTP, gives up when its session ends (HTTP 404) instead of initializing anew",
    "answers-notifications": "answers each notification of the server with an empty result",
    "lists-prompts": "asks for prompts/list although the server declares no prompts",
    "keeps-invalid-header-tools": "over HTTP, calls tools whose x-mcp-header annotations break the rules",
    "no-param-headers": "over HTTP, mirrors no x-mcp-header argument into an Mcp-Param header",
    "http-ignores-sse": "over HTTP, takes the answer to a POST only from a JSON body, never from its SSE stream",
    "http-no-poll": "over HTTP, does not reconnect to a stream the server closed before its answer",
    "http-polls-at-once": "over HTTP, reconnects to a stream the server closed at once, whatever its retry field",
    "http-polls-without-last-event": "over HTTP, reconnects to a stream the server closed without Last-Event-ID",
    "strips-schema-keywords": "holds a tool's inputSchema as type, properties and required only (scenario "
    "json-schema-2020-12-preservation echoes it)",
    "partial-defaults": "pre-fills an elicitation form with the defaults of its string fields only (scenario "
    "elicitation-defaults)",
    "progress-goes-back": "reports progress on a server request backwards (2 of 2, then 1 of 2)",
    "task-progress-new-token": "reports progress on a task it runs under the task's id, not the request's "
    "progressToken",
    "case-sensitive-headers": "over HTTP, looks up response header names in lower case only: an answer whose "
    "Content-Type is named in another case goes unread, and the client gives up",
    "http-no-delete": "over HTTP, ends without DELETE for the session it was given",
    "unpublished-version": "asks for protocol version 2024-13-01, which was never published",
    "no-discover-probe": "lists the tools (modern era) before probing with server/discover",
    "unknown-elicitation-mode": "declares an elicitation mode `voice`, which no revision defines",
    "accepts-undeclared-elicitation-mode": "answers elicitation/create in the url mode, which it did not declare",
    "samples-with-undeclared-tools": "samples a message for a request offering tools, without declaring sampling.tools",
    "initialized-with-id": "sends notifications/initialized with an id",
    "mrtr-answers-input-requests": "answers an InputRequiredResult's inputRequests as JSON-RPC responses, then retries",
    "stalls-on-older-version": "answered an older version than it asked for, neither goes on nor exits",
    "http-batches-notification": "over HTTP, POSTs notifications/initialized inside a JSON-RPC batch (an array)",
    "http-posts-elsewhere": "over HTTP, also POSTs notifications/initialized to a path beside the MCP endpoint",
    "not-utf8": "writes notifications/initialized with a Latin-1 byte in it (no UTF-8)",
    "bad-meta-key": "asks for tools/list with a `_meta` key whose prefix starts with a hyphen",
    "bad-extension-id": "declares (modern era) an extension whose id has no prefix",
    "roots-change-silently": "declares roots.listChanged, and changes its roots without notifying",
    "roots-not-file": "gives a root whose URI is https://, not file://",
    "modern-elicitation-no-mode": "declares (modern era) elicitation with the mode `voice` only, neither form nor url",
    "accepts-unknown-result-type": "uses a tools/list result whose resultType it does not know",
    "derefs-network-refs": "fetches the network URIs its tools' inputSchema $refs name",
    "modern-needs-elicitation-mode": "leaves a modern-era elicitation input request without a mode unanswered",
    "modern-samples-with-undeclared-tools": "fulfils a modern-era sampling input request offering tools, without "
    "declaring sampling.tools",
    "tool-task-forbidden": "calls a tool whose taskSupport is forbidden as a task",
    "modern-answers-undeclared": "leaves sampling and roots out of its modern-era clientCapabilities, yet fulfils "
    "input requests for them",
    "tool-task-required-plain": "calls a tool whose taskSupport is required without a task",
    "tool-task-undeclared": "calls a required tool as a task on a server that declares no tasks capability",
    "uncorrelated-notifications": "(modern era, stdio) re-lists the tools on any tools list change notification, "
    "whatever subscription it names",
    "no-resubscribe": "(modern era, stdio) starts the server again after it exited, without subscribing again",
    "reuses-listen-id": "(modern era) sends its next request with the id of its open subscriptions/listen",
    "shares-progress-token": "(modern era) gives its tool calls made at once one progress token",
    # over HTTP, against a protected server (oauth.py)
    "oauth-openid-first": "looks for the OpenID configuration before the RFC 8414 metadata",
    "oauth-ignore-scopes-supported": "with no scope in the challenge, asks for none, whatever scopes_supported lists",
    "oauth-no-cimd": "registers even where the authorization server supports client ID metadata documents",
    "oauth-no-refresh-grant": "registers with grant_types authorization_code only (no refresh_token)",
    "oauth-no-pkce": "authorizes without code_challenge and redeems the code without code_verifier",
    "oauth-plain-pkce": "asks for the code with code_challenge_method=plain",
    "oauth-no-resource": "omits the resource parameter from the authorization and token requests",
    "oauth-resource-trailing-slash": "sends the resource metadata's resource with a '/' appended",
    "oauth-token-in-query": "sends the access token in the MCP URL's query (access_token=...), not in a header",
    "oauth-token-post-only": "sends the bearer on POST only, not on the GET stream or the DELETE",
    "oauth-ignore-state": "redeems the code whatever state the redirect carries",
    "oauth-ignore-iss": "redeems the code whatever iss the redirect carries, or lacks",
    "oauth-no-issuer-check": "uses authorization server metadata whose issuer is another one",
    "oauth-ignore-pkce-support": "authorizes even when the metadata does not offer PKCE with S256",
    "oauth-root-prm-first": "fetches the root resource metadata first, ignoring the challenge's resource_metadata",
    "oauth-ignore-challenge-scope": "asks for the resource metadata's scopes_supported, whatever the challenge names",
    "oauth-no-scope-union": "on step-up asks for the challenged scope only, dropping the ones asked for before",
    "oauth-no-retry-limit": "authorizes again on every 403, up to 10 times",
    "oauth-http-redirect-uri": "uses the redirect URI http://example.com/callback (plain HTTP, not loopback)",
    "oauth-no-application-type": "registers (DCR) without application_type",
    "oauth-no-refresh": "on an expired token neither refreshes nor authorizes again, and exits with an error",
    "oauth-reuse-refresh-token": "on a second expiry refreshes with the first refresh token, already rotated",
    "oauth-wrong-auth-method": "authenticates at the token endpoint with client_secret_post, whatever the AS takes",
    "oauth-ignore-resource-mismatch": "authorizes even when the resource metadata names another server",
    "oauth-ignore-metadata-endpoints": "with no resource metadata (2025-03-26), uses the default endpoints even "
    "where the authorization server metadata names others",
    "oauth-reuse-client-across-as": "keeps its client registration when the resource names a new authorization server",
    "oauth-offline-access-always": "asks for offline_access whether or not the authorization server lists it",
    "oauth-ignore-registration-error": "when its registration is refused, authorizes with a client_id of its own",
    "oauth-auth-header-on-icons": "fetches the tools' icons with its Authorization header",
    "oauth-incomplete-client-metadata": "serves a client ID metadata document without redirect_uris",
}
FAULTS.update(client_tasks.FAULTS)  # as a task receiver (client_tasks.py)
CLIENT_INFO = {"name": "mcp-conformance-reference-client", "version": "0.1.0"}
# the official elicitation-sep1034-client-defaults scenario: forms accepted with their defaults
DEFAULTS_SCENARIO = "elicitation-sep1034-client-defaults"
# the official json-schema-2020-12-preservation scenario (MCP_CONFORMANCE_SCENARIO) and its echo tool
SCHEMA_PRESERVATION, SCHEMA_ECHO_TOOL = "json-schema-2020-12-preservation", "json_schema_echo"
TIMEOUT = 5.0
META = "io.modelcontextprotocol/"
MODERN = max(revisions())
SUBSCRIPTION_ID = META + "subscriptionId"
UNSUPPORTED_PROTOCOL_VERSION = -32022
MAX_SENDS = 12  # of one request refused for want of authorization (oauth.py limits its own attempts)
POLL = 0.05  # seconds: over HTTP a refusal is looked for this often while waiting for an answer


class GaveUp(Exception):
    """The client ends its session on purpose (a fault, or a server it cannot work with)."""


class Refused(GaveUp):
    """Over HTTP, the server refused a request with an error status and no JSON-RPC answer."""

    def __init__(self, method: str, status: int):
        super().__init__(f"the server refused {method} with HTTP {status}")


class Client:
    def __init__(self, transport, fault: str | None, oauth: OAuth | None = None):
        self.transport = transport
        self.fault = fault
        self.oauth = oauth  # over HTTP (None over stdio): authorizes when the server refuses with 401 or 403
        self.next_id = jsonrpc.IdSequence()
        self.last_id = None  # of the latest request sent
        self.tokens = itertools.count(1)  # progress tokens, unique among the client's requests
        self.capabilities = {"sampling": {}, "elicitation": {"form": {}}}
        if fault == "unknown-elicitation-mode":
            self.capabilities["elicitation"]["voice"] = {}
        if fault != "answers-undeclared-roots":
            self.capabilities["roots"] = {"listChanged": fault == "roots-change-silently"}
        self.roots_listed = 0
        if fault != "tasks-undeclared":
            self.capabilities["tasks"] = client_tasks.CAPABILITY
        self.tasks = client_tasks.TaskStore(fault)
        self.server_capabilities: dict = {}  # from the initialize answer
        self.early: dict[str, jsonrpc.Message] = {}  # answers that came while another was awaited
        self.subscription = None  # the id of its open subscriptions/listen (modern era)
        self.subscribes = True  # False: the no-resubscribe fault's second connection
        self.relist = False  # a tools list change of its subscription came: list them again
        self.extra = dict  # the params every request carries (the modern era's _meta)

    def send(self, obj: dict) -> None:
        """Send a message; over HTTP, a notification or answer refused with 401 or 403 goes
        again once authorized (a refused request is sent again by request())."""
        for _ in range(MAX_SENDS):
            self.transport.send_message(jsonrpc.encode(obj))
            if self.oauth is None or "method" in obj and "id" in obj or not self.oauth.refused(obj):
                return
            self.oauth.recover(obj)
        raise GaveUp(f"{obj.get('method') or 'an answer'} was refused {MAX_SENDS} times")

    def request(self, method: str, params: dict | None = None, request_id=None) -> jsonrpc.Message:
        if request_id is None and self.fault == "reuses-listen-id" and self.subscription is not None:
            request_id, self.fault = self.subscription, None  # once
        if request_id is None:
            request_id = 1 if self.fault == "ids-reused" else self.next_id()
        message = jsonrpc.request(request_id, method, params)
        for _ in range(MAX_SENDS):
            self.last_id = request_id
            self.send(message)
            answer = self.answer_to(request_id)
            unauthorized = self.oauth is not None and self.oauth.refused(message)  # 401 or 403, answered or not
            if answer is not None and not unauthorized:
                return answer
            status = self.transport.refused.pop(str(request_id), None)
            if not unauthorized:
                raise Refused(method, status)
            self.oauth.recover(message)  # then the same request again, authorized
        raise GaveUp(f"{method} was refused {MAX_SENDS} times")

    def answer_to(self, request_id) -> jsonrpc.Message | None:
        """The response to the request; None when the HTTP server refused it (transport.refused)."""
        deadline = time.monotonic() + TIMEOUT
        if json.dumps(request_id) in self.early:
            return self.early.pop(json.dumps(request_id))
        while self.oauth is None or str(request_id) not in self.transport.refused:
            left = max(0.0, deadline - time.monotonic())
            try:
                inbound = self.transport.receive(min(left, POLL) if self.oauth else left)
            except TransportTimeout:
                if time.monotonic() < deadline:
                    continue
                raise TransportTimeout(f"nothing received within {TIMEOUT:g}s") from None
            message = jsonrpc.decode(inbound.raw)
            if message.is_response and jsonrpc.same_id(request_id, message.id):
                return message
            if message.is_response and message.has_id:
                self.early[json.dumps(message.id)] = message
            self.handle(message)
        return None

    def handle(self, message: jsonrpc.Message) -> None:
        if message.kind is Kind.REQUEST:
            self.answer(message)
        elif message.kind is Kind.NOTIFICATION and self.fault == "answers-notifications":
            self.send(jsonrpc.result(f"ack-{message.method}", {}))
        elif message.method == "notifications/cancelled" and self.fault == "chokes-on-cancel":
            raise GaveUp(f"the server cancelled request {(message.params or {}).get('requestId')!r}, unknown here")
        elif message.method == "notifications/tools/list_changed" and self.subscription is not None:
            params = message.params if isinstance(message.params, dict) else {}
            meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
            # stdio-008: on one channel the subscriptionId tells which subscription it belongs to
            ours = meta.get(SUBSCRIPTION_ID) is not None and jsonrpc.same_id(meta[SUBSCRIPTION_ID], self.subscription)
            self.relist = self.relist or ours or self.fault == "uncorrelated-notifications"

    def answer(self, message: jsonrpc.Message) -> None:
        if self.fault == "ignores-server-requests" or (
            self.fault == "ignores-sampling" and message.method == "sampling/createMessage"
        ):
            return
        if message.method in client_tasks.METHODS and "tasks" in self.capabilities:
            self.send(self.tasks.answer(message))
            return
        response = self.response_to(message)
        if "result" in response and not self.runs_as_task(message):
            self.report_progress(message)
        if self.runs_as_task(message):
            outcome = {"error": response["error"]} if "error" in response else {"result": response["result"]}
            response = jsonrpc.result(message.id, self.tasks.create(outcome))
            self.send(response)
            self.report_progress(message, task=response["result"]["task"]["taskId"])  # the task goes on
            return
        self.send(response)

    def report_progress(self, message: jsonrpc.Message, task: str | None = None) -> None:
        """Two progress notifications for a server request that asks for progress (its
        progressToken), each further along than the one before; for a request run as a
        task, after its CreateTaskResult, still with that token."""
        meta = message.params.get("_meta") if isinstance(message.params, dict) else None
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        if not isinstance(token, (str, int)) or isinstance(token, bool):
            return
        if task is not None and self.fault == "task-progress-new-token":
            token = task
        for done in (2, 1) if self.fault == "progress-goes-back" else (1, 2):
            self.send(
                jsonrpc.notification("notifications/progress", {"progressToken": token, "progress": done, "total": 2})
            )

    def response_to(self, message: jsonrpc.Message) -> dict:
        refusal = self.refusal_of(message)
        if refusal is not None:
            return jsonrpc.error(message.id, jsonrpc.INVALID_PARAMS, refusal)
        result = self.result_for(message.method, message.params)
        if result is None:
            return jsonrpc.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{message.method} is not offered")
        if message.method == "ping" and self.fault == "answers-ping-wrong":
            return jsonrpc.error(message.id, jsonrpc.INTERNAL_ERROR, "no ping here")
        return jsonrpc.result(message.id, result)

    def runs_as_task(self, message: jsonrpc.Message) -> bool:
        """A task-augmented request of a kind it declares task support for (tasks-021: any
        other is answered as if the `task` field were not there)."""
        params = message.params if isinstance(message.params, dict) else {}
        return isinstance(params.get("task"), dict) and (
            self.fault == "tasks-undeclared" or declares_task_support(self.capabilities, message.method)
        )

    def refusal_of(self, message: jsonrpc.Message) -> str | None:
        """Why a server request asks for what this client did not declare (elicitation-040,
        schema-027/028), or None."""
        params = message.params if isinstance(message.params, dict) else {}
        if message.method == "elicitation/create" and self.fault != "accepts-undeclared-elicitation-mode":
            mode = params.get("mode", "form")
            if mode not in elicitation_modes(self.capabilities):
                return f"elicitation mode {mode!r} is not supported by this client"
        if message.method == "sampling/createMessage" and self.fault != "samples-with-undeclared-tools":
            if ("tools" in params or "toolChoice" in params) and "tools" not in self.capabilities["sampling"]:
                return "this client does not support tools in sampling (no sampling.tools)"
        return None

    def result_for(self, method: str, params=None) -> dict | None:
        """The result for a server's request (sent as one, or as an MRTR input request)."""
        if method == "ping":
            return {}
        if method == "roots/list" and ("roots" in self.capabilities or self.fault == "answers-undeclared-roots"):
            self.roots_listed += 1
            if self.fault == "roots-change-silently" and self.roots_listed > 1:
                return {"roots": [{"uri": "file:///tmp/other-project", "name": "other project"}]}
            uri = "https://example.com/project" if self.fault == "roots-not-file" else "file:///tmp/project"
            return {"roots": [{"uri": uri, "name": "project"}]}
        if method == "sampling/createMessage":
            result = {"role": "assistant", "content": {"type": "text", "text": "Hello."}, "model": "scripted"}
            if self.fault == "bad-sampling-result":
                del result["role"]
            return result
        if method == "elicitation/create" and os.environ.get("MCP_CONFORMANCE_SCENARIO") == DEFAULTS_SCENARIO:
            return {"action": "accept", "content": self.defaults_of(params)}
        if method == "elicitation/create":
            return {"action": "decline"}
        return None

    def defaults_of(self, params) -> dict:
        """A form accepted as pre-filled: each field with a default gets it (with the fault,
        only the string fields)."""
        schema = params.get("requestedSchema") if isinstance(params, dict) else None
        fields = schema.get("properties") if isinstance(schema, dict) else None
        return {
            name: field["default"]
            for name, field in (fields if isinstance(fields, dict) else {}).items()
            if isinstance(field, dict)
            and "default" in field
            and (self.fault != "partial-defaults" or field.get("type") == "string")
        }

    def session(self) -> int:
        if self.fault == "sends-request-before-initialize":
            self.request("tools/list")
        if self.fault == "not-json":
            self.transport.send(b"hello server\n")
        if self.fault == "no-discover-probe":
            self.request("tools/list", {"_meta": self.meta()})
        try:
            probe = self.request("server/discover", {"_meta": self.meta()})
        except Refused:  # an HTTP 400 (or the like) without a modern error: a legacy server
            probe = None
        if probe is not None and probe.kind is Kind.RESULT and MODERN in (probe.result.get("supportedVersions") or []):
            self.server_capabilities = probe.result.get("capabilities") or {}
            return self.work(modern=True)
        newest = legacy_revisions()[-1]
        if probe is not None and probe.kind is Kind.ERROR and probe.error_code == UNSUPPORTED_PROTOCOL_VERSION:
            if self.fault == "retries-same-version":
                self.request("server/discover", {"_meta": self.meta()})
            supported = (probe.error.get("data") or {}).get("supported") or []
            shared = [v for v in legacy_revisions() if v in supported]
            if not shared:
                print(f"no protocol version shared with the server (it supports {supported})", file=sys.stderr)
                return 1
            newest = shared[-1]
        if self.fault == "unpublished-version":
            newest = "2024-13-01"
        version_key = "version" if self.fault == "wrong-version-field" else "protocolVersion"
        response = self.request(
            "initialize", {version_key: newest, "capabilities": self.capabilities, "clientInfo": CLIENT_INFO}
        )
        if response.kind is not Kind.RESULT:
            print(f"initialize failed: {response.error}", file=sys.stderr)
            return 1
        answered = response.result.get("protocolVersion")
        self.server_capabilities = response.result.get("capabilities") or {}
        if self.fault == "stalls-on-older-version" and answered != newest:
            time.sleep(3600)
        if answered not in legacy_revisions() and self.fault != "ignores-version":
            print(
                f"the server answered protocol version {answered!r}, which this client does not support",
                file=sys.stderr,
            )
            return 1
        if self.fault == "no-version-header":
            self.transport.protocol_version = None  # HttpTransport then leaves the header out
        if self.fault == "http-drops-session-id":
            self.transport.session_id = None  # nor this one (nor the DELETE at the end)
        if self.fault == "cancels-initialize":
            self.send(jsonrpc.notification("notifications/cancelled", {"requestId": self.last_id}))
        if self.fault == "initialized-with-id":
            self.send({**jsonrpc.notification("notifications/initialized"), "id": "initialized"})
        elif self.fault != "no-initialized":
            self.send_initialized()
        return self.work(modern=False)

    def send_initialized(self) -> None:
        initialized = jsonrpc.notification("notifications/initialized")
        http = isinstance(self.transport, HttpTransport)
        if self.fault == "http-batches-notification" and http:
            self.transport.send_message(json.dumps([initialized]).encode())
            return
        if self.fault == "not-utf8":
            noted = {**initialized, "params": {"_meta": {"note": "caf\u00e9"}}}
            self.transport.send_message(json.dumps(noted, ensure_ascii=False).encode("latin-1"))
            return
        self.send(initialized)
        if self.fault == "http-posts-elsewhere" and http:
            elsewhere = self.transport.url.rstrip("/") + "/elsewhere"
            self.transport._client.post(
                elsewhere, content=jsonrpc.encode(initialized), headers={"Content-Type": "application/json"}
            )

    def meta(self, full: bool = True) -> dict:
        meta = {META + "protocolVersion": MODERN, META + "clientInfo": CLIENT_INFO}
        if full:  # tasks are an extension in the modern era, not a capability
            left_out = ("tasks", "sampling", "roots") if self.fault == "modern-answers-undeclared" else ("tasks",)
            capabilities = {k: v for k, v in self.capabilities.items() if k not in left_out}
            if self.fault == "bad-extension-id":
                capabilities["extensions"] = {"conformance-demo": {}}
            if self.fault == "modern-elicitation-no-mode":
                capabilities["elicitation"] = {"voice": {}}
            meta[META + "clientCapabilities"] = capabilities
        return meta

    def work(self, modern: bool) -> int:
        extra = (lambda: {"_meta": self.meta(full=self.fault != "no-meta")}) if modern else self.progress_meta
        self.extra = extra
        if modern and self.subscribes and (self.server_capabilities.get("tools") or {}).get("listChanged") is True:
            self.listen()
        listing = extra()
        if self.fault == "bad-meta-key":
            listing = {**listing, "_meta": {**listing.get("_meta", {}), "-demo/trace": "x"}}
        tools = self.request("tools/list", listing)
        if (
            self.fault == "rejects-missing-result-type"
            and tools.kind is Kind.RESULT
            and "resultType" not in tools.result
        ):
            raise GaveUp("tools/list came back without resultType")
        listed = (tools.result or {}).get("tools") or [] if tools.kind is Kind.RESULT else []
        kind = (tools.result or {}).get("resultType", "complete") if tools.kind is Kind.RESULT else None
        if modern and kind not in (None, *RESULT_TYPES) and self.fault != "accepts-unknown-result-type":
            print(f"reference client: tools/list came back with resultType {kind!r}: invalid", file=sys.stderr)
            listed = []  # basic-013
        if self.fault == "lists-prompts":
            self.request("prompts/list", extra())
        if modern:
            self.use_modern_features(extra)
        if self.oauth is not None:
            self.oauth.fetch_icons(listed)
        if self.fault == "derefs-network-refs":
            fetch_network_refs(listed)
        if isinstance(self.transport, HttpTransport) and self.fault != "keeps-invalid-header-tools":
            listed = [tool for tool in listed if not header_problems(tool)]  # tools-031/032: dropped over HTTP
        calls = self.asked_calls(listed)
        if listed and not calls:
            calls = [(listed[0]["name"], {"text": "hi"})]
        if os.environ.get("MCP_CONFORMANCE_SCENARIO") == SCHEMA_PRESERVATION:
            calls = schema_echo(listed, self.fault)
        supports = {tool.get("name"): (tool.get("execution") or {}).get("taskSupport") for tool in listed}
        prepared = []
        for name, arguments in calls:
            call = {"name": name, "arguments": arguments, **extra()}
            if modern:  # progress is asked for the calls in the modern era as well
                call["_meta"] = {**call["_meta"], **self.progress_meta()["_meta"]}
            if not modern and self.as_task(supports.get(name)):
                call["task"] = {"ttl": client_tasks.TTL}
            prepared.append(call)
        at_once = modern and scenario_context(os.environ.get("MCP_CONFORMANCE_CONTEXT")).get("concurrent") is True
        if at_once and self.fault == "shares-progress-token":
            for call in prepared:
                call["_meta"]["progressToken"] = "progress-shared"
        answers = (
            self.request_all("tools/call", prepared)
            if at_once
            else (self.request("tools/call", call) for call in prepared)
        )
        for call, answer in zip(prepared, answers):
            if answer.kind is Kind.RESULT and answer.result.get("resultType") == "input_required":
                self.retry(call, answer)
            elif answer.kind is Kind.RESULT and isinstance(answer.result.get("task"), dict):
                self.request("tasks/result", {"taskId": answer.result["task"].get("taskId")})
        self.drain(0.3)  # late requests from the server get answered too
        if self.subscription is not None:  # stdio: the notification ends it; HTTP: closing its stream
            self.send(jsonrpc.notification("notifications/cancelled", {"requestId": self.subscription}))
        return 0

    def listen(self) -> None:
        """Open a subscription to tools list changes (2026 subscriptions/listen): its answer
        comes only when it ends, so it is not awaited."""
        self.subscription = self.next_id()
        self.send(
            jsonrpc.request(
                self.subscription, "subscriptions/listen", {**self.extra(), "notifications": {"toolsListChanged": True}}
            )
        )

    def request_all(self, method: str, many: list[dict]) -> list[jsonrpc.Message]:
        """Send the requests at once, then wait for each answer (none of them authorized)."""
        ids = []
        for params in many:
            ids.append(self.next_id())
            self.send(jsonrpc.request(ids[-1], method, params))
        answers = [self.answer_to(request_id) for request_id in ids]
        if any(answer is None for answer in answers):
            raise Refused(method, None)
        return answers

    def use_modern_features(self, extra) -> None:
        """In the modern era, list the prompts and resources the server declares, read the
        first resource, get the first prompt and ask for a completion of its first argument."""
        declared = self.server_capabilities
        prompts = self.request("prompts/list", extra()) if "prompts" in declared else None
        resources = self.request("resources/list", extra()) if "resources" in declared else None
        for resource in listed_items(resources, "resources")[:1]:
            self.request("resources/read", {"uri": resource.get("uri"), **extra()})
        listed = listed_items(prompts, "prompts")
        arguments = (listed[0].get("arguments") or []) if listed else []
        if listed:
            filled = {a.get("name"): "world" for a in arguments if isinstance(a, dict)}
            self.request("prompts/get", {"name": listed[0].get("name"), "arguments": filled, **extra()})
        if "completions" in declared and arguments:
            self.request(
                "completion/complete",
                {
                    "ref": {"type": "ref/prompt", "name": listed[0]["name"]},
                    "argument": {"name": arguments[0]["name"], "value": "w"},
                    **extra(),
                },
            )

    def as_task(self, support: str | None) -> bool:
        """Whether to call a tool as a task (tasks-004/005/008): a required one always, when
        the server declares tasks.requests.tools.call, and never otherwise."""
        if self.fault == "tool-task-forbidden" and support == "forbidden":
            return True
        if self.fault == "tool-task-undeclared" and support == "required":
            return True
        declared = declares_task_support(self.server_capabilities, "tools/call")
        return declared and support == "required" and self.fault != "tool-task-required-plain"

    @staticmethod
    def asked_calls(listed: list) -> list[tuple[str, dict]]:
        """The tool calls MCP_CONFORMANCE_CONTEXT names (toolCalls), of tools the server lists."""
        names = {tool.get("name") for tool in listed if isinstance(tool, dict)}
        asked = scenario_context(os.environ.get("MCP_CONFORMANCE_CONTEXT")).get("toolCalls")
        if not isinstance(asked, list):
            return []
        return [(c["name"], c.get("arguments") or {}) for c in asked if isinstance(c, dict) and c.get("name") in names]

    def progress_meta(self) -> dict:
        token = 1.5 if self.fault == "bad-progress-token" else f"progress-{next(self.tokens)}"
        return {"_meta": {"progressToken": token}}

    def retry(self, call: dict, answer: jsonrpc.Message) -> jsonrpc.Message:
        """Answer an InputRequiredResult: fulfil its inputRequests, echo its requestState,
        under a new id (mrtr-026, -028, -031)."""
        asked = answer.result.get("inputRequests") or {}
        if self.fault == "mrtr-answers-input-requests":  # as if they were requests of the server
            for key, request in asked.items():
                result = self.result_for(request.get("method")) or {}
                self.send(jsonrpc.result(key, {**result, "resultType": "complete"}))
        retry = dict(call)
        if self.fault != "mrtr-no-input-responses" and asked:
            retry["inputResponses"] = {
                key: self.result_for(r.get("method")) or {} for key, r in asked.items() if self.fulfils(r)
            }
        if "requestState" in answer.result:
            state = answer.result["requestState"]
            retry["requestState"] = state + "-mine" if self.fault == "mrtr-alters-state" else state
        return self.request("tools/call", retry, answer.id if self.fault == "mrtr-same-id" else None)

    def fulfils(self, input_request: dict) -> bool:
        """Whether it answers an input request: not sampling with tools, without sampling.tools
        declared (2026 sampling-006, schema-055/056: it cannot answer it with an error)."""
        params = input_request.get("params") if isinstance(input_request.get("params"), dict) else {}
        if (
            self.fault == "modern-needs-elicitation-mode"
            and input_request.get("method") == "elicitation/create"
            and "mode" not in params
        ):
            return False
        with_tools = input_request.get("method") == "sampling/createMessage" and (
            "tools" in params or "toolChoice" in params
        )
        return (
            not with_tools
            or "tools" in self.capabilities["sampling"]
            or self.fault == "modern-samples-with-undeclared-tools"
        )

    def drain(self, seconds: float) -> None:
        """Take what the server sends for `seconds` more (from the last re-list of the tools,
        which a list change of its subscription asks for)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.relist:
                self.relist = False
                self.request("tools/list", self.extra())
                deadline = time.monotonic() + seconds
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                message = jsonrpc.decode(self.transport.receive(left).raw)
            except TransportError:
                return
            self.handle(message)


def schema_echo(listed: list, fault: str | None) -> list[tuple[str, dict]]:
    """The official json-schema-2020-12-preservation scenario's contract: call json_schema_echo
    with the inputSchema held for json_schema_2020_12_tool."""
    focal = next((t for t in listed if isinstance(t, dict) and t.get("name") == "json_schema_2020_12_tool"), None)
    if focal is None:
        return []
    schema = focal.get("inputSchema")
    if fault == "strips-schema-keywords" and isinstance(schema, dict):
        schema = {k: v for k, v in schema.items() if k in ("type", "properties", "required")}
    return [(SCHEMA_ECHO_TOOL, {"schema": schema})]


def listed_items(answer: jsonrpc.Message | None, key: str) -> list[dict]:
    """The objects a list request's result holds under `key` (none for an error or no answer)."""
    if (
        answer is None
        or answer.kind is not Kind.RESULT
        or not isinstance(answer.result, dict)
        or not isinstance(answer.result.get(key), list)
    ):
        return []
    return [item for item in answer.result[key] if isinstance(item, dict)]


def fetch_network_refs(listed: list) -> None:
    """The derefs-network-refs fault: GET every http(s) $ref in the tools' input schemas."""
    import httpx

    def refs(value):
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith(("http://", "https://")):
                yield ref
            for inner in value.values():
                yield from refs(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from refs(inner)

    for url in {ref for tool in listed if isinstance(tool, dict) for ref in refs(tool.get("inputSchema"))}:
        try:
            httpx.get(url, timeout=2.0, trust_env=False)
        except httpx.HTTPError:
            pass


def header_problems(tool) -> list[str]:
    """What breaks the x-mcp-header rules in a listed tool's inputSchema (none: it may be used)."""
    schema = tool.get("inputSchema") if isinstance(tool, dict) else None
    return header_params(schema)[1] if isinstance(schema, dict) else []


def connect(url: str | None, args: argparse.Namespace):
    """The transport to the server: the command over stdio, or the URL; with the fault asked."""
    transport = (HttpTransport(url) if url else StdioTransport(shlex.join(args.server))).start()
    if args.fault == "no-modern-headers" and url:
        transport.modern_headers = lambda message: {}
    if args.fault == "http-accept-json-only" and url:
        transport.accept = "application/json"
    if args.fault == "no-param-headers" and url:
        derive = transport.modern_headers
        transport.modern_headers = lambda message: {
            k: v for k, v in derive(message).items() if not k.startswith(PARAM_HEADER)
        }
    if args.fault == "http-ignores-sse" and url:
        deliver = transport._deliver  # a POST's SSE stream is noted "HTTP 200 text/event-stream"
        transport._deliver = lambda raw, note: (
            jsonrpc.decode(raw) if "event-stream" in note and jsonrpc.decode(raw).is_response else deliver(raw, note)
        )
    if args.fault == "http-no-poll" and url:
        transport.resumes = False
    if args.fault == "http-polls-at-once" and url:
        transport.resume_wait = lambda retry: 0.0
    if args.fault == "http-polls-without-last-event" and url:
        transport.names_last_event = False
    if args.fault == "case-sensitive-headers" and url:
        consume = transport._consume

        def lower_case_names_only(response, note, *rest):
            names = [name for name, _ in response.headers.raw]
            if b"content-type" not in names and any(name.lower() == b"content-type" for name in names):
                transport._inbox.end("the answer has no content-type header (header names compared as written)")
                return []
            return consume(response, note, *rest)

        transport._consume = lower_case_names_only
    return transport


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference.client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--fault", choices=sorted(FAULTS), help="break one rule: " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items())
    )
    parser.add_argument(
        "server",
        nargs=argparse.REMAINDER,
        help="the server command and its arguments, or the URL of a Streamable HTTP endpoint",
    )
    args = parser.parse_args(argv)
    if not args.server:
        parser.error("give the server command")
    if args.fault == "exits-early":
        print("reference client: failing on purpose before connecting", file=sys.stderr)
        return 3
    url = args.server[0] if len(args.server) == 1 and args.server[0].startswith(("http://", "https://")) else None
    transport = connect(url, args)
    oauth = OAuth(transport, args.fault) if url else None
    client = Client(transport, args.fault, oauth)
    try:
        try:
            code = client.session()
        except (TransportError, Refused):  # which of the two a 404 gives depends on timing
            if not url and client.subscription is not None:
                # 2026 subscriptions-010: the server went away with a subscription open; start
                # it again, and subscribe again (the new process knows nothing of the old one).
                print("reference client: the server exited; starting it again", file=sys.stderr)
                transport.close()
                transport = connect(url, args)
                client = Client(transport, args.fault)
                client.subscribes = args.fault != "no-resubscribe"
            elif url and transport.session_ended and args.fault != "http-no-reinitialize":
                # transports-062: the server ended the session (HTTP 404): start a new one.
                print(f"reference client: session {transport.session_ended} ended; initializing anew", file=sys.stderr)
                transport.close()
                oauth.close()
                transport = connect(url, args)
                oauth = OAuth(transport, args.fault)
                client = Client(transport, args.fault, oauth)
            else:
                raise
            code = client.session()
    except OAuthError as exc:
        print(f"reference client: authorization failed: {exc}", file=sys.stderr)
        code = 1
    except TransportError as exc:
        print(f"reference client: {exc.explain()}", file=sys.stderr)
        code = 1
    except GaveUp as exc:
        print(f"reference client: giving up: {exc}", file=sys.stderr)
        code = 1
    finally:
        if args.fault == "sigterm-first" and not url:
            transport._signal_group(signal.SIGTERM)
            time.sleep(0.5)
        if args.fault == "http-no-delete" and url:
            transport.session_id = None  # HttpTransport.close() DELETEs only a session it knows
        transport.close()
        if oauth is not None:
            oauth.close()
    if args.fault == "hangs":
        time.sleep(3600)
    return code


if __name__ == "__main__":
    sys.exit(main())
