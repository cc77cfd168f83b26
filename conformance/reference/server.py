"""Reference MCP server: the smallest correct server, with switchable faults.

    python -m conformance.reference.server [--fault NAME ...] [--versions REV,REV]

Built on the suite's own sans-IO core. `ReferenceServer.handle()` maps one input line to
the lines to write; `main()` is only the stdio loop around it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .. import __version__, jsonrpc
from ..jsonrpc import Kind
from ..schema import legacy_revisions
from .faults import FAULTS, HARMLESS

LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


class ReferenceServer:
    def __init__(self, faults: set[str] = frozenset(), versions: list[str] | None = None):
        self.faults = set(faults)
        self.versions = sorted(versions or legacy_revisions())
        self.revision: str | None = None
        self.initialized = False
        self.log_level = "info"
        self.ids = jsonrpc.IdSequence()

    def has(self, fault: str) -> bool:
        return fault in self.faults

    # -- framing -------------------------------------------------------------------
    def encode(self, obj: Any) -> bytes:
        if self.has("pretty-json"):
            return json.dumps(obj, indent=2).encode() + b"\n"
        return jsonrpc.encode(obj) + b"\n"

    def startup(self) -> list[bytes]:
        return [b"reference server ready\n"] if self.has("stdout-banner") else []

    def handle(self, line: bytes) -> list[bytes]:
        """All lines to write in reaction to one input line."""
        if self.has("garbage"):
            return [b"this is not JSON\n"]
        message = jsonrpc.decode(line)
        if message.kind is Kind.NOT_JSON:
            return [self.encode(obj) for obj in self.on_not_json()]
        if message.kind is Kind.BATCH:
            return [self.encode(obj) for obj in self.on_batch(message)]
        return [self.encode(obj) for obj in self.on_message(message)]

    # -- malformed input ---------------------------------------------------------------
    def on_not_json(self) -> list[dict]:
        if self.has("crash-on-garbage"):
            raise SystemExit(70)
        if self.has("parse-error-silent"):
            return []
        return [self.error(0 if self.has("parse-error-with-id") else None, jsonrpc.PARSE_ERROR, "Parse error")]

    def on_batch(self, message) -> list[Any]:
        # Only 2025-03-26 has batches (2025-06-18 removed them); faults invert that.
        process = (self.revision == "2025-03-26" and not self.has("batch-unsupported")) or self.has("batch-processed")
        if not process:
            return [self.error(None, jsonrpc.INVALID_REQUEST, f"no JSON-RPC batches in {self.revision}")]
        if not message.obj:
            return [self.error(None, jsonrpc.INVALID_REQUEST, "empty batch")]
        replies = [reply for item in message.obj for reply in self.on_message(jsonrpc.classify(item))]
        return [replies] if replies else []

    # -- messages ----------------------------------------------------------------------
    def on_message(self, message) -> list[dict]:
        if message.problems or message.kind is Kind.INVALID:
            if self.has("invalid-request-silent"):
                return []
            request_id = message.id if jsonrpc._is_valid_id(message.id) else None
            if self.has("invalid-request-result"):
                return [self.result(request_id, {})]
            return [self.error(request_id, jsonrpc.INVALID_REQUEST, "Invalid request: " + "; ".join(message.problems))]
        if message.kind is Kind.NOTIFICATION:
            if message.method == "notifications/initialized":
                self.initialized = True
            if self.has("answer-notifications"):
                return [self.error(None, jsonrpc.METHOD_NOT_FOUND, "notifications are not answered here")]
            return []
        if message.kind is not Kind.REQUEST:
            return []  # a response to one of our requests: nothing to do
        return self.before_response() + self.dispatch(message)

    def before_response(self) -> list[dict]:
        if not (self.has("notify-first") and self.initialized):
            return []
        return [jsonrpc.notification("notifications/message",
                                     {"level": "info", "logger": "reference", "data": "about to answer"}),
                jsonrpc.request(f"srv-{self.ids()}", "ping")]

    def dispatch(self, message) -> list[dict]:
        handler = {
            "initialize": self.on_initialize,
            "ping": self.on_ping,
            "logging/setLevel": self.on_set_level,
        }.get(message.method)
        if handler is None:
            if self.has("unknown-method-result"):
                return [self.result(message.id, {})]
            code = jsonrpc.INTERNAL_ERROR if self.has("unknown-method-code") else jsonrpc.METHOD_NOT_FOUND
            return [self.error(message.id, code, f"Method not found: {message.method}")]
        return handler(message)

    def on_initialize(self, message) -> list[dict]:
        requested = (message.params or {}).get("protocolVersion")
        self.revision = self.negotiate(requested)
        capabilities: Any = {"logging": {}}
        if self.has("capabilities-not-object"):
            capabilities = ["logging"]
        elif self.has("capability-not-object"):
            capabilities = {"logging": True}
        result: dict[str, Any] = {
            "protocolVersion": self.revision,
            "capabilities": capabilities,
            "serverInfo": {"name": "mcp-conformance-reference", "version": __version__},
        }
        if self.has("init-missing-server-info"):
            del result["serverInfo"]
        replies = [self.result(message.id, result)]
        if self.has("request-before-initialized"):
            replies.append(jsonrpc.request(f"srv-{self.ids()}", "roots/list"))
        return replies

    def negotiate(self, requested: Any) -> str:
        if self.has("version-mismatch"):
            return "2025-06-18" if requested == "2025-03-26" else "2025-03-26"
        if requested in self.versions:
            return requested
        if self.has("version-unsupported-answer"):
            return "2000-01-01"
        return self.versions[0] if self.has("version-oldest") else self.versions[-1]

    def on_ping(self, message) -> list[dict]:
        if self.has("ping-error"):
            return [self.error(message.id, jsonrpc.INTERNAL_ERROR, "ping is not supported")]
        return [self.result(message.id, {"status": "ok"} if self.has("ping-not-empty") else {})]

    def on_set_level(self, message) -> list[dict]:
        level = (message.params or {}).get("level")
        if level not in LOG_LEVELS:
            return [self.error(message.id, jsonrpc.INVALID_PARAMS, f"unknown log level {level!r}")]
        self.log_level = level
        return [self.result(message.id, {})]

    # -- envelopes (where the envelope faults live) -------------------------------------
    def _id(self, request_id: Any) -> Any:
        if self.has("id-as-string") and isinstance(request_id, int):
            return str(request_id)
        return request_id

    def result(self, request_id: Any, value: dict) -> dict:
        message = jsonrpc.result(self._id(request_id), value)
        if self.has("jsonrpc-version"):
            message["jsonrpc"] = "1.0"
        return message

    def error(self, request_id: Any, code: int, text: str) -> dict:
        message = jsonrpc.error(self._id(request_id), code, text)
        if request_id is None and not self.has("parse-error-with-id"):
            message["id"] = None
        if self.has("error-code-string"):
            message["error"]["code"] = str(code)
        if self.has("result-and-error"):
            message["result"] = {}
        if self.has("jsonrpc-version"):
            message["jsonrpc"] = "1.0"
        return message


def serve_stdio(server: ReferenceServer) -> int:
    out = sys.stdout.buffer
    if server.has("exit-at-start"):
        sys.stderr.write("reference server: fatal: refusing to start (fault exit-at-start)\n")
        return 3
    if server.has("slow-start"):
        time.sleep(1.0)
    if server.has("stdout-flood"):
        while True:
            out.write(b"flood " * 1000 + b"\n")
    for line in server.startup():
        out.write(line)
    out.flush()
    for line in sys.stdin.buffer:
        if server.has("stderr-flood"):
            sys.stderr.write("noise " * 20_000 + "\n")
            sys.stderr.flush()
        if not line.strip() or server.has("silent"):
            continue
        for reply in server.handle(line.rstrip(b"\r\n")):
            out.write(reply)
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fault", action="append", default=[], choices=sorted({*FAULTS, *HARMLESS}),
                        metavar="NAME", help="switch on a fault (repeatable); --list-faults shows them")
    parser.add_argument("--versions", help="comma-separated protocol revisions to support")
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    args = parser.parse_args(argv)
    if args.list_faults:
        for name, fault in sorted(FAULTS.items()):
            print(f"{name:28} {fault.description}  [caught by {fault.check}]")
        for name, description in sorted(HARMLESS.items()):
            print(f"{name:28} {description}  [harmless: must not change the verdict]")
        return 0
    versions = args.versions.split(",") if args.versions else None
    return serve_stdio(ReferenceServer(set(args.fault), versions))


if __name__ == "__main__":
    sys.exit(main())
