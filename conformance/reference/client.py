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
come, and closes (stdin first). A server answering a version it does not know ends the
session. Each --fault breaks one rule, so the suite's checks can be shown to catch it.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import signal
import sys
import time

from .. import jsonrpc
from ..jsonrpc import Kind
from ..revisions import legacy_revisions, revisions
from ..transport.base import TransportError
from ..transport.http import HttpTransport
from ..transport.stdio import StdioTransport

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
    "unpublished-version": "asks for protocol version 2024-13-01, which was never published",
    "no-discover-probe": "lists the tools (modern era) before probing with server/discover",
    "unknown-elicitation-mode": "declares an elicitation mode `voice`, which no revision defines",
    "stalls-on-older-version": "answered an older version than it asked for, neither goes on nor exits",
}
CLIENT_INFO = {"name": "mcp-conformance-reference-client", "version": "0.1.0"}
TIMEOUT = 5.0
META = "io.modelcontextprotocol/"
MODERN = max(revisions())
UNSUPPORTED_PROTOCOL_VERSION = -32022


class GaveUp(Exception):
    """The client ends its session on purpose (a fault, or a server it cannot work with)."""


class Client:
    def __init__(self, transport, fault: str | None):
        self.transport = transport
        self.fault = fault
        self.next_id = jsonrpc.IdSequence()
        self.last_id = None  # of the latest request sent
        self.tokens = itertools.count(1)  # progress tokens, unique among the client's requests
        self.capabilities = {"sampling": {}, "elicitation": {"form": {}}}
        if fault == "unknown-elicitation-mode":
            self.capabilities["elicitation"]["voice"] = {}
        if fault != "answers-undeclared-roots":
            self.capabilities["roots"] = {"listChanged": False}

    def send(self, obj: dict) -> None:
        self.transport.send_message(jsonrpc.encode(obj))

    def request(self, method: str, params: dict | None = None, request_id=None) -> jsonrpc.Message:
        if request_id is None:
            request_id = 1 if self.fault == "ids-reused" else self.next_id()
        self.last_id = request_id
        self.send(jsonrpc.request(request_id, method, params))
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = jsonrpc.decode(self.transport.receive(max(0.0, deadline - time.monotonic())).raw)
            if message.is_response and jsonrpc.same_id(request_id, message.id):
                return message
            self.handle(message)

    def handle(self, message: jsonrpc.Message) -> None:
        if message.kind is Kind.REQUEST:
            self.answer(message)
        elif message.method == "notifications/cancelled" and self.fault == "chokes-on-cancel":
            raise GaveUp(f"the server cancelled request {(message.params or {}).get('requestId')!r}, unknown here")

    def answer(self, message: jsonrpc.Message) -> None:
        if self.fault == "ignores-server-requests" or (
                self.fault == "ignores-sampling" and message.method == "sampling/createMessage"):
            return
        result = self.result_for(message.method)
        if result is None:
            self.send(jsonrpc.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{message.method} is not offered"))
        elif message.method == "ping" and self.fault == "answers-ping-wrong":
            self.send(jsonrpc.error(message.id, jsonrpc.INTERNAL_ERROR, "no ping here"))
        else:
            self.send(jsonrpc.result(message.id, result))

    def result_for(self, method: str) -> dict | None:
        """The result for a server's request (sent as one, or as an MRTR input request)."""
        if method == "ping":
            return {}
        if method == "roots/list" and ("roots" in self.capabilities or self.fault == "answers-undeclared-roots"):
            return {"roots": [{"uri": "file:///tmp/project", "name": "project"}]}
        if method == "sampling/createMessage":
            result = {"role": "assistant", "content": {"type": "text", "text": "Hello."}, "model": "scripted"}
            if self.fault == "bad-sampling-result":
                del result["role"]
            return result
        if method == "elicitation/create":
            return {"action": "decline"}
        return None

    def session(self) -> int:
        if self.fault == "sends-request-before-initialize":
            self.request("tools/list")
        if self.fault == "not-json":
            self.transport.send(b"hello server\n")
        if self.fault == "no-discover-probe":
            self.request("tools/list", {"_meta": self.meta()})
        probe = self.request("server/discover", {"_meta": self.meta()})
        if probe.kind is Kind.RESULT and MODERN in (probe.result.get("supportedVersions") or []):
            return self.work(modern=True)
        newest = legacy_revisions()[-1]
        if probe.kind is Kind.ERROR and probe.error_code == UNSUPPORTED_PROTOCOL_VERSION:
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
        response = self.request("initialize", {version_key: newest, "capabilities": self.capabilities,
                                               "clientInfo": CLIENT_INFO})
        if response.kind is not Kind.RESULT:
            print(f"initialize failed: {response.error}", file=sys.stderr)
            return 1
        answered = response.result.get("protocolVersion")
        if self.fault == "stalls-on-older-version" and answered != newest:
            time.sleep(3600)
        if answered not in legacy_revisions() and self.fault != "ignores-version":
            print(f"the server answered protocol version {answered!r}, which this client does not support",
                  file=sys.stderr)
            return 1
        if self.fault == "no-version-header":
            self.transport.protocol_version = None  # HttpTransport then leaves the header out
        if self.fault == "cancels-initialize":
            self.send(jsonrpc.notification("notifications/cancelled", {"requestId": self.last_id}))
        if self.fault != "no-initialized":
            self.send(jsonrpc.notification("notifications/initialized"))
        return self.work(modern=False)

    def meta(self, full: bool = True) -> dict:
        meta = {META + "protocolVersion": MODERN, META + "clientInfo": CLIENT_INFO}
        if full:
            meta[META + "clientCapabilities"] = self.capabilities
        return meta

    def work(self, modern: bool) -> int:
        extra = (lambda: {"_meta": self.meta(full=self.fault != "no-meta")}) if modern else self.progress_meta
        tools = self.request("tools/list", extra())
        if self.fault == "rejects-missing-result-type" and tools.kind is Kind.RESULT \
                and "resultType" not in tools.result:
            raise GaveUp("tools/list came back without resultType")
        listed = (tools.result or {}).get("tools") or [] if tools.kind is Kind.RESULT else []
        if listed:
            call = {"name": listed[0]["name"], "arguments": {"text": "hi"}, **extra()}
            answer = self.request("tools/call", call)
            if answer.kind is Kind.RESULT and answer.result.get("resultType") == "input_required":
                self.retry(call, answer)
        self.drain(0.3)  # late requests from the server get answered too
        return 0

    def progress_meta(self) -> dict:
        token = 1.5 if self.fault == "bad-progress-token" else f"progress-{next(self.tokens)}"
        return {"_meta": {"progressToken": token}}

    def retry(self, call: dict, answer: jsonrpc.Message) -> jsonrpc.Message:
        """Answer an InputRequiredResult: fulfil its inputRequests, echo its requestState,
        under a new id (mrtr-026, -028, -031)."""
        asked = answer.result.get("inputRequests") or {}
        retry = dict(call)
        if self.fault != "mrtr-no-input-responses" and asked:
            retry["inputResponses"] = {key: self.result_for(r.get("method")) or {} for key, r in asked.items()}
        if "requestState" in answer.result:
            state = answer.result["requestState"]
            retry["requestState"] = state + "-mine" if self.fault == "mrtr-alters-state" else state
        return self.request("tools/call", retry, answer.id if self.fault == "mrtr-same-id" else None)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = jsonrpc.decode(self.transport.receive(left).raw)
            except TransportError:
                return
            self.handle(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference.client",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", choices=sorted(FAULTS), help="break one rule: " + "; ".join(
        f"{k}: {v}" for k, v in FAULTS.items()))
    parser.add_argument("server", nargs=argparse.REMAINDER, help="the server command and its arguments, or the URL "
                                                                   "of a Streamable HTTP endpoint")
    args = parser.parse_args(argv)
    if not args.server:
        parser.error("give the server command")
    if args.fault == "exits-early":
        print("reference client: failing on purpose before connecting", file=sys.stderr)
        return 3
    url = args.server[0] if len(args.server) == 1 and args.server[0].startswith(("http://", "https://")) else None
    transport = (HttpTransport(url) if url else StdioTransport(shlex.join(args.server))).start()
    if args.fault == "no-modern-headers" and url:
        transport.modern_headers = lambda message: {}
    try:
        code = Client(transport, args.fault).session()
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
        transport.close()
    if args.fault == "hangs":
        time.sleep(3600)
    return code


if __name__ == "__main__":
    sys.exit(main())
