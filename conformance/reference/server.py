"""Reference MCP server: the smallest correct server, with switchable faults.

    python -m conformance.reference.server [--fault NAME ...] [--versions REV,REV]

Built on the suite's own sans-IO core. `ReferenceServer.handle()` maps one input line to
the lines to write; `main()` is only the stdio loop around it.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import __version__, jsonrpc
from ..jsonrpc import Kind
from ..revisions import legacy_revisions
from .faults import HARMLESS, registry
from .features import modules as feature_modules
from .modern import ModernEra, is_modern

UNDECLARED_FEATURES = ("tools", "prompts", "resources", "completions")  # what features-undeclared hides


class ReferenceServer:
    def __init__(self, faults: set[str] = frozenset(), versions: list[str] | None = None, era: str = "dual"):
        self.faults = set(faults)
        self.versions = sorted(versions or legacy_revisions())  # legacy revisions served
        self.era = era  # legacy, modern or dual
        self.modern_meta: dict | None = None  # _meta of the modern request being served, if any
        self.client_capabilities: dict = {}  # declared by the client at initialize (legacy era)
        self.modern = ModernEra(self)
        self.revision: str | None = None
        self.initialized = False
        self.ids = jsonrpc.IdSequence()
        # Work that outlives one input line (slow tools, progress) writes through emit().
        self.emit: Callable[[dict], None] = lambda obj: None
        self.features = {m.__name__.rsplit(".", 1)[1]: m.Feature(self) for m in feature_modules()}
        self.routes = {
            method: handler for feature in self.features.values() for method, handler in feature.handlers().items()
        }

    def has(self, fault: str) -> bool:
        return fault in self.faults

    @property
    def current_revision(self) -> str | None:
        """The revision of the request being served: its _meta (modern) or the negotiated one."""
        if self.modern_meta is not None:
            return self.modern_meta.get("io.modelcontextprotocol/protocolVersion")
        return self.revision

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
        out = [reply for item in message.obj for reply in self.on_message(jsonrpc.classify(item))]
        # A batch response holds responses only; anything else travels on its own, first.
        responses = [m for m in out if "id" in m and "method" not in m]
        others = [m for m in out if m not in responses]
        return others + ([responses] if responses else [])

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
            replies = [reply for feature in self.features.values() for reply in feature.on_notification(message)]
            if self.has("answer-notifications"):  # acted on all the same: the answer is the only fault
                return [self.error(None, jsonrpc.METHOD_NOT_FOUND, "notifications are not answered here"), *replies]
            return replies
        if message.is_response:  # to a request a feature sent: that feature continues
            return [reply for feature in self.features.values() for reply in feature.on_response(message)]
        if message.kind is not Kind.REQUEST:
            return []
        broken = self.broken_handshake(message)
        if broken is not None:
            return broken
        self.modern_meta = None
        if self.era != "legacy" and is_modern(message):
            self.modern_meta = message.params["_meta"]  # the modern request being served
            return self.modern.handle(message)
        if self.era == "modern":
            return self.refuse_legacy(message)
        return self.before_response() + self.dispatch(message)

    def broken_handshake(self, message) -> list[dict] | None:
        """Faults that leave nothing to test: a server that stops answering after the
        handshake, or one that offers no version any revision defines."""
        opening = message.method in ("initialize", "server/discover")
        if self.has("stops-answering") and not opening:
            return []
        if self.has("no-known-version") and opening:
            if message.method == "server/discover":
                return [self.error(message.id, jsonrpc.METHOD_NOT_FOUND, "unknown method")]
            return [
                self.result(
                    message.id,
                    {
                        "protocolVersion": "1999-01-01",
                        "capabilities": {},
                        "serverInfo": {"name": "mcp-conformance-reference", "version": "0"},
                    },
                )
            ]
        return None

    def refuse_legacy(self, message) -> list[dict]:
        """A modern-only server: initialize names the versions it does support."""
        if message.method == "initialize":
            requested = (message.params or {}).get("protocolVersion")
            if self.has("initialize-error-names-no-versions"):
                return [self.error(message.id, jsonrpc.METHOD_NOT_FOUND, "unknown method")]
            return [
                self.error(
                    message.id,
                    -32022,
                    "this server speaks only modern protocol versions",
                    {"supported": self.modern.supported_versions(), "requested": requested},
                )
            ]
        return [
            self.error(
                message.id,
                jsonrpc.INVALID_PARAMS,
                "a request must carry _meta with io.modelcontextprotocol/protocolVersion",
            )
        ]

    def before_response(self) -> list[dict]:
        if not (self.has("notify-first") and self.initialized):
            return []
        return [*self.features["logging"].log("info", "about to answer"), jsonrpc.request(f"srv-{self.ids()}", "ping")]

    def dispatch(self, message) -> list[dict]:
        handler = {"initialize": self.on_initialize, "ping": self.on_ping, **self.routes}.get(message.method)
        if handler is None:
            if self.has("unknown-method-result"):
                return [self.result(message.id, {})]
            code = jsonrpc.INTERNAL_ERROR if self.has("unknown-method-code") else jsonrpc.METHOD_NOT_FOUND
            return [self.error(message.id, code, f"Method not found: {message.method}")]
        try:
            return handler(message)
        except (AttributeError, TypeError, KeyError, ValueError):  # params of the wrong shape (found by fuzzing)
            return [self.error(message.id, jsonrpc.INVALID_PARAMS, "Invalid params")]

    def on_initialize(self, message) -> list[dict]:
        params = message.params or {}
        self.revision = self.negotiate(params.get("protocolVersion"))
        capabilities = params.get("capabilities")
        self.client_capabilities = capabilities if isinstance(capabilities, dict) else {}
        capabilities: Any = {name: cap for name, cap in self.declared().items()}
        if self.has("capabilities-not-object"):
            capabilities = list(capabilities)
        elif self.has("capability-not-object"):
            capabilities["logging"] = True
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

    def declared(self) -> dict[str, dict]:
        """Capabilities of every feature that declares one (fault features-undeclared: all but
        logging are hidden, while the features go on serving)."""
        hidden = UNDECLARED_FEATURES if self.has("features-undeclared") else ()
        return {
            f.capability_name: f.capability()
            for f in self.features.values()
            if f.capability() is not None and f.capability_name not in hidden
        }

    def negotiate(self, requested: Any) -> str:
        if self.has("version-mismatch"):
            return "2025-06-18" if requested == "2025-03-26" else "2025-03-26"
        if requested in self.versions:
            return requested
        if self.has("version-unsupported-answer"):  # offers a version it then refuses
            return "2000-01-01" if requested != "2000-01-01" else self.versions[-1]
        return self.versions[0] if self.has("version-oldest") else self.versions[-1]

    def on_ping(self, message) -> list[dict]:
        if self.has("ping-error"):
            return [self.error(message.id, jsonrpc.INTERNAL_ERROR, "ping is not supported")]
        return [self.result(message.id, {"status": "ok"} if self.has("ping-not-empty") else {})]

    # -- envelopes (where the envelope faults live) -------------------------------------
    def _id(self, request_id: Any) -> Any:
        if self.has("id-as-string") and isinstance(request_id, int):
            return str(request_id)
        return request_id

    def result(self, request_id: Any, value: dict) -> dict:
        if request_id in self.modern.requests:
            value = self.modern.decorate(request_id, value)
        message = jsonrpc.result(self._id(request_id), value)
        if self.has("jsonrpc-version"):
            message["jsonrpc"] = "1.0"
        return message

    def error(self, request_id: Any, code: int, text: str, data: Any = None) -> dict:
        self.modern.requests.pop(request_id, None)
        message = jsonrpc.error(self._id(request_id), code, text, data)
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
    lock = threading.Lock()

    def write(lines: list[bytes]) -> None:
        with lock:
            for line in lines:
                out.write(line)
            out.flush()

    server.emit = lambda obj: write([server.encode(obj)])
    if server.has("exit-at-start"):
        sys.stderr.write("reference server: fatal: refusing to start (fault exit-at-start)\n")
        return 3
    if server.has("slow-start"):
        time.sleep(1.0)
    if server.has("stdout-flood"):
        while True:
            out.write(b"flood " * 1000 + b"\n")
    write(server.startup())
    for line in sys.stdin.buffer:
        if server.has("stderr-flood"):
            sys.stderr.write("noise " * 20_000 + "\n")
            sys.stderr.flush()
        if line.strip() and not server.has("silent"):
            write(server.handle(line.rstrip(b"\r\n")))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    faults = registry()
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted({*faults, *HARMLESS}),
        metavar="NAME",
        help="switch on a fault (repeatable); --list-faults shows them",
    )
    parser.add_argument("--versions", help="comma-separated legacy protocol revisions to support")
    parser.add_argument(
        "--era",
        choices=["legacy", "modern", "dual"],
        default="dual",
        help="legacy (initialize handshake), modern (2026-07-28, stateless) or dual (both)",
    )
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    args = parser.parse_args(argv)
    if args.list_faults:
        for name, fault in sorted(faults.items()):
            print(f"{name:28} {fault.description}  [caught by {fault.check}]")
        for name, description in sorted(HARMLESS.items()):
            print(f"{name:28} {description}  [harmless: must not change the verdict]")
        return 0
    versions = args.versions.split(",") if args.versions else None
    return serve_stdio(ReferenceServer(set(args.fault), versions, args.era))


if __name__ == "__main__":
    sys.exit(main())
