"""A reference MCP client (legacy era, stdio) for testing the client leg, with faults.

    python -m conformance.reference.client [--fault NAME] SERVER-COMMAND...

It starts the server command and probes with server/discover (modern era). A server that
offers 2026-07-28 gets a modern session (`_meta` on every request); a refusal naming other
versions, or no such method, leads to initialize (asking for the newest legacy revision
the server allows), notifications/initialized. Either way it lists the tools, calls the
first one, answers the server's
requests (ping, roots/list, sampling/createMessage, elicitation/create) whenever they come,
and closes (stdin first). A server answering a version it does not know ends the session.
Each --fault breaks one rule, so the suite's checks can be shown to catch it.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time

from .. import jsonrpc
from ..jsonrpc import Kind
from ..schema import legacy_revisions, revisions
from ..transport.base import TransportError
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
    "hangs": "never exits after its session",
    "sigterm-first": "ends the server with SIGTERM before closing its stdin",
    "no-meta": "modern-era requests after server/discover lack clientCapabilities in _meta",
    "retries-same-version": "refused a version, asks again with the same one",
    "exits-early": "exits with an error before starting the server",
}
CLIENT_INFO = {"name": "mcp-conformance-reference-client", "version": "0.1.0"}
TIMEOUT = 5.0
META = "io.modelcontextprotocol/"
MODERN = max(revisions())
UNSUPPORTED_PROTOCOL_VERSION = -32022


class Client:
    def __init__(self, transport: StdioTransport, fault: str | None):
        self.transport = transport
        self.fault = fault
        self.next_id = jsonrpc.IdSequence()
        self.capabilities = {"sampling": {}, "elicitation": {"form": {}}}
        if fault != "answers-undeclared-roots":
            self.capabilities["roots"] = {"listChanged": False}

    def send(self, obj: dict) -> None:
        self.transport.send_message(jsonrpc.encode(obj))

    def request(self, method: str, params: dict | None = None) -> jsonrpc.Message:
        request_id = 1 if self.fault == "ids-reused" else self.next_id()
        self.send(jsonrpc.request(request_id, method, params))
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = jsonrpc.decode(self.transport.receive(max(0.0, deadline - time.monotonic())).raw)
            if message.is_response and jsonrpc.same_id(request_id, message.id):
                return message
            if message.kind is Kind.REQUEST:
                self.answer(message)

    def answer(self, message: jsonrpc.Message) -> None:
        if self.fault == "ignores-server-requests":
            return
        method, request_id = message.method, message.id
        if method == "ping":
            if self.fault == "answers-ping-wrong":
                self.send(jsonrpc.error(request_id, jsonrpc.INTERNAL_ERROR, "no ping here"))
            else:
                self.send(jsonrpc.result(request_id, {}))
        elif method == "roots/list" and ("roots" in self.capabilities or self.fault == "answers-undeclared-roots"):
            self.send(jsonrpc.result(request_id, {"roots": [{"uri": "file:///tmp/project", "name": "project"}]}))
        elif method == "sampling/createMessage":
            result = {"role": "assistant", "content": {"type": "text", "text": "Hello."}, "model": "scripted"}
            if self.fault == "bad-sampling-result":
                del result["role"]
            self.send(jsonrpc.result(request_id, result))
        elif method == "elicitation/create":
            self.send(jsonrpc.result(request_id, {"action": "decline"}))
        else:
            self.send(jsonrpc.error(request_id, jsonrpc.METHOD_NOT_FOUND, f"{method} is not offered"))

    def session(self) -> int:
        if self.fault == "sends-request-before-initialize":
            self.request("tools/list")
        if self.fault == "not-json":
            self.transport.send(b"hello server\n")
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
        version_key = "version" if self.fault == "wrong-version-field" else "protocolVersion"
        response = self.request("initialize", {version_key: newest, "capabilities": self.capabilities,
                                               "clientInfo": CLIENT_INFO})
        if response.kind is not Kind.RESULT:
            print(f"initialize failed: {response.error}", file=sys.stderr)
            return 1
        answered = response.result.get("protocolVersion")
        if answered not in legacy_revisions() and self.fault != "ignores-version":
            print(f"the server answered protocol version {answered!r}, which this client does not support",
                  file=sys.stderr)
            return 1
        if self.fault != "no-initialized":
            self.send(jsonrpc.notification("notifications/initialized"))
        return self.work(modern=False)

    def meta(self, full: bool = True) -> dict:
        meta = {META + "protocolVersion": MODERN, META + "clientInfo": CLIENT_INFO}
        if full:
            meta[META + "clientCapabilities"] = self.capabilities
        return meta

    def work(self, modern: bool) -> int:
        extra = (lambda: {"_meta": self.meta(full=self.fault != "no-meta")}) if modern else dict
        tools = self.request("tools/list", extra())
        listed = (tools.result or {}).get("tools") or [] if tools.kind is Kind.RESULT else []
        if listed:
            self.request("tools/call", {"name": listed[0]["name"], "arguments": {"text": "hi"}, **extra()})
        self.drain(0.3)  # late requests from the server get answered too
        return 0

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = jsonrpc.decode(self.transport.receive(left).raw)
            except TransportError:
                return
            if message.kind is Kind.REQUEST:
                self.answer(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference.client",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", choices=sorted(FAULTS), help="break one rule: " + "; ".join(
        f"{k}: {v}" for k, v in FAULTS.items()))
    parser.add_argument("server", nargs=argparse.REMAINDER, help="the server command and its arguments")
    args = parser.parse_args(argv)
    if not args.server:
        parser.error("give the server command")
    if args.fault == "exits-early":
        print("reference client: failing on purpose before connecting", file=sys.stderr)
        return 3
    transport = StdioTransport(shlex.join(args.server)).start()
    try:
        code = Client(transport, args.fault).session()
    except TransportError as exc:
        print(f"reference client: {exc.explain()}", file=sys.stderr)
        code = 1
    finally:
        if args.fault == "sigterm-first":
            transport._signal_group(signal.SIGTERM)
            time.sleep(0.5)
        transport.close()
    if args.fault == "hangs":
        time.sleep(3600)
    return code


if __name__ == "__main__":
    sys.exit(main())
