"""A stdio MCP server that breaks one thing, chosen by its mode (tests/test_hostile.py):

    python tests/hostile_server.py MODE

Otherwise it answers well enough for a legacy-era client: initialize (echoing a known
revision), ping, tools/list with one read-only tool, tools/call, empty resource and prompt
lists, logging/setLevel; an unknown method gets -32601 and notifications are ignored.
server/discover gets -32601 (a legacy-only server), except in `clean` (the control: nothing
broken) and the modes named modern-..., which also serve 2026-07-28 (stateless requests
carrying _meta). Standard library only.
"""

from __future__ import annotations

import json
import sys
import threading
import time

KNOWN = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODES = {
    "clean": "nothing broken (dual-era): the control, which must pass",
    "banner": "a non-JSON banner line on stdout at startup",
    "garbage": "every answer is non-JSON text",
    "object-id": 'every response id is an object {"id": <id>}',
    "null-id": "every response id is null",
    "shifted-id": "after initialize, each response carries the previous request's id",
    "hang-after-handshake": "answers initialize, then never answers anything",
    "exit-mid-run": "exits after answering its 5th request",
    "flood-stdout": "after the handshake, endless valid notifications/message lines",
    "flood-stderr": "megabytes to stderr while working normally",
    "result-and-error": "every response carries both result and error",
    "result-and-error-after-init": "every response after the initialize response carries both result and error",
    "unknown-version": 'answers every initialize with protocolVersion "1999-01-01"',
    "modern-only-minus32601": "server/discover and initialize both get -32601: nothing testable",
    "modern-hang-after-discover": "dual-era; after answering one 2026-07-28 request, answers no other",
}
MODERN, META = "2026-07-28", "io.modelcontextprotocol/"
CACHEABLE = ("server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list")
REMOVED = ("initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe")
TOOL = {
    "name": "echo",
    "description": "Echoes its text.",
    "annotations": {"readOnlyHint": True},
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
}
CAPABILITIES = {"tools": {}, "resources": {}, "prompts": {}, "logging": {}}
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
LOG = {
    "jsonrpc": "2.0",
    "method": "notifications/message",
    "params": {"level": "info", "logger": "hostile", "data": "flood " * 20},
}


class Server:
    def __init__(self, mode: str):
        self.mode = mode
        self.requests = 0  # requests read so far
        self.shifted = None  # shifted-id: the id of the request before the one being answered
        self.handshake_done = False
        self.lock = threading.Lock()
        self.flooding = False
        self.modern_answered = False  # modern-hang-after-discover: a modern request was answered

    def write(self, data: bytes) -> None:
        with self.lock:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def send(self, message: dict) -> None:
        self.write(b"this is not JSON\n" if self.mode == "garbage" else json.dumps(message).encode() + b"\n")

    def respond(self, request_id, result=None, error=None) -> None:
        response = {"jsonrpc": "2.0", "id": request_id}
        if self.mode == "result-and-error" or self.mode == "result-and-error-after-init" and self.handshake_done:
            response["result"] = result if result is not None else {}
            response["error"] = error or {"code": -32603, "message": "and an error too"}
        elif error is not None:
            response["error"] = error
        else:
            response["result"] = result
        if self.mode == "object-id":
            response["id"] = {"id": request_id}
        elif self.mode == "null-id":
            response["id"] = None
        self.send(response)

    def flood(self) -> None:
        line = json.dumps(LOG).encode() + b"\n"
        while True:
            self.write(line)

    def handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            return self.respond(None, error={"code": -32700, "message": "Parse error"})
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            if isinstance(message, dict) and ("result" in message or "error" in message):
                return None  # a response to a request of ours: we send none
            return self.respond(None, error={"code": -32600, "message": "Invalid request"})
        method, params, request_id = message["method"], message.get("params"), message.get("id")
        params = params if isinstance(params, dict) else {}
        if "id" in message and (not isinstance(request_id, (str, int)) or isinstance(request_id, bool)):
            return self.respond(None, error={"code": -32600, "message": "Invalid request: bad id"})
        if "id" not in message:
            if method == "notifications/initialized" and self.mode == "flood-stdout" and not self.flooding:
                self.flooding = True
                threading.Thread(target=self.flood, daemon=True).start()
            return None
        self.requests += 1
        answer_id = self.shifted if self.mode == "shifted-id" and method != "initialize" else request_id
        self.shifted = request_id
        if self.mode == "hang-after-handshake" and self.handshake_done:
            return None
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        if META + "protocolVersion" in meta and self.mode in ("clean", "modern-hang-after-discover"):
            if self.mode == "modern-hang-after-discover" and self.modern_answered:
                return None
            self.modern_answered = True
            return self.respond(request_id, *self.modern(method, params, meta))
        result, error = self.dispatch(method, params)
        self.respond(answer_id, result, error)
        self.handshake_done = self.handshake_done or method == "initialize" and error is None
        if self.mode == "exit-mid-run" and self.requests >= 5:
            sys.stdout.flush()
            sys.exit(1)

    def modern(self, method: str, params: dict, meta: dict):
        """A 2026-07-28 request: checked, served like a legacy one, its result decorated."""
        if meta[META + "protocolVersion"] != MODERN:
            return None, {
                "code": -32022,
                "message": "protocol version not served here",
                "data": {"supported": [MODERN, *KNOWN[::-1]], "requested": meta[META + "protocolVersion"]},
            }
        if META + "clientCapabilities" not in meta or meta.get(META + "logLevel", "info") not in LEVELS:
            return None, {"code": -32602, "message": "Invalid _meta"}
        if method == "resources/read":
            return None, {"code": -32602, "message": "Resource not found"}  # the modern era's code
        if method in REMOVED:
            return None, {"code": -32601, "message": f"{method} does not exist in {MODERN}"}
        params = {k: v for k, v in params.items() if k != "_meta"}
        result, error = (
            ({"supportedVersions": [MODERN, *KNOWN[::-1]], "capabilities": CAPABILITIES}, None)
            if method == "server/discover"
            else self.dispatch(method, params)
        )
        if result is not None:
            result = {
                **result,
                "resultType": "complete",
                "_meta": {META + "serverInfo": {"name": "hostile-" + self.mode, "version": "1.0.0"}},
            }
            if method in CACHEABLE:
                result.update(ttlMs=60_000, cacheScope="public")
        return result, error

    def dispatch(self, method: str, params: dict):
        not_found = {"code": -32601, "message": f"Method not found: {method}"}
        invalid = {"code": -32602, "message": "Invalid params"}
        if "cursor" in params or not isinstance(params.get("_meta", {}), dict):  # it issues no cursors
            return None, invalid
        if method == "initialize":
            if self.mode == "modern-only-minus32601":
                return None, not_found
            asked = params.get("protocolVersion")
            version = "1999-01-01" if self.mode == "unknown-version" else asked if asked in KNOWN else KNOWN[-1]
            return {
                "protocolVersion": version,
                "capabilities": CAPABILITIES,
                "serverInfo": {"name": "hostile-" + self.mode, "version": "1.0.0"},
            }, None
        if method == "logging/setLevel" and params.get("level") not in LEVELS:
            return None, invalid
        if method in ("ping", "logging/setLevel"):
            return {}, None
        if method == "tools/list":
            return {"tools": [TOOL]}, None
        if method == "tools/call":
            arguments = params.get("arguments", {})
            if (
                params.get("name") != TOOL["name"]
                or not isinstance(arguments, dict)
                or not isinstance(arguments.get("text", ""), str)
            ):
                return None, invalid
            text = arguments.get("text", "")
            return {"content": [{"type": "text", "text": text}], "isError": False}, None
        if method == "resources/list":
            return {"resources": []}, None
        if method == "resources/templates/list":
            return {"resourceTemplates": []}, None
        if method == "prompts/list":
            return {"prompts": []}, None
        if method == "resources/read":
            return None, {"code": -32002, "message": "Resource not found", "data": {"uri": params.get("uri")}}
        if method == "prompts/get":
            return None, invalid  # no such prompt
        return None, not_found  # server/discover included: a legacy-only server


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in MODES:
        sys.stderr.write("usage: hostile_server.py MODE\n" + "".join(f"  {m:24} {d}\n" for m, d in MODES.items()))
        return 2
    server = Server(argv[0])
    if server.mode == "banner":
        server.write(b"hostile server 1.0 ready, listening on stdio\n")
    noise = ("noise " * 1000 + "\n") * 170  # about 1 MiB
    for line in sys.stdin.buffer:
        if server.mode == "flood-stderr":
            sys.stderr.write(noise)
            sys.stderr.flush()
        if line.strip():
            server.handle(line.rstrip(b"\r\n"))
    if server.mode == "hang-after-handshake":
        time.sleep(60)  # stdin closed: it still does not answer, nor exit (it is killed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
