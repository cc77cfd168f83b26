"""Sans-IO JSON-RPC 2.0 core: framing, decoding, classification, envelope rules.

Nothing here touches a process or a socket, and nothing knows which side (client or
server) it is on: the same rules judge what a server sends and what a client sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021  # 2026-07-28: the client did not declare what is needed

RequestId = str | int


class Kind(str, Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESULT = "result"
    ERROR = "error"
    BATCH = "batch"
    INVALID = "invalid"  # JSON, but not a JSON-RPC 2.0 message
    NOT_JSON = "not-json"  # not even JSON (or not UTF-8)


@dataclass
class Message:
    """One decoded unit from the wire, whatever it turned out to be."""

    kind: Kind
    raw: bytes
    obj: Any = None
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> Any:
        return self.obj.get("id") if isinstance(self.obj, dict) else None

    @property
    def has_id(self) -> bool:
        return isinstance(self.obj, dict) and "id" in self.obj

    @property
    def method(self) -> str | None:
        return self.obj.get("method") if isinstance(self.obj, dict) else None

    @property
    def params(self) -> Any:
        return self.obj.get("params") if isinstance(self.obj, dict) else None

    @property
    def result(self) -> Any:
        return self.obj.get("result") if isinstance(self.obj, dict) else None

    @property
    def error(self) -> Any:
        return self.obj.get("error") if isinstance(self.obj, dict) else None

    @property
    def error_code(self) -> Any:
        return self.error.get("code") if isinstance(self.error, dict) else None

    @property
    def is_response(self) -> bool:
        return self.kind in (Kind.RESULT, Kind.ERROR)

    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity, which JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not valid JSON")


# Made once: json.loads and json.dumps with options build a new coder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def decode(raw: bytes) -> Message:
    """Decode one message (one stdio line, one HTTP body, one SSE data field)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Message(Kind.NOT_JSON, raw, problems=[f"not valid UTF-8: {exc}"])
    try:
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        return Message(Kind.NOT_JSON, raw, problems=[f"not valid JSON: {exc}"])
    return classify(obj, raw)


def classify(obj: Any, raw: bytes = b"") -> Message:
    if isinstance(obj, list):
        problems = [] if obj else ["empty batch"]
        return Message(Kind.BATCH, raw, obj, problems)
    problems = envelope_problems(obj)
    if not isinstance(obj, dict):
        return Message(Kind.INVALID, raw, obj, problems)
    if "method" in obj:
        kind = Kind.REQUEST if "id" in obj else Kind.NOTIFICATION
    elif "error" in obj:
        kind = Kind.ERROR
    elif "result" in obj:
        kind = Kind.RESULT
    else:
        kind = Kind.INVALID
    if problems and kind in (Kind.REQUEST, Kind.NOTIFICATION) and not isinstance(obj.get("method"), str):
        kind = Kind.INVALID
    return Message(kind, raw, obj, problems)


def _is_valid_id(value: Any) -> bool:
    # MCP narrows JSON-RPC: string or integer, never null, never fractional, never bool.
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope_problems(obj: Any) -> list[str]:
    """Violations of the JSON-RPC 2.0 envelope as MCP restricts it. Empty when fine."""
    if not isinstance(obj, dict):
        return [f"a message must be a JSON object, got {type(obj).__name__}"]
    problems = []
    if obj.get("jsonrpc") != "2.0":
        problems.append(f'"jsonrpc" must be "2.0", got {obj.get("jsonrpc")!r}')
    if "method" in obj:
        if not isinstance(obj["method"], str):
            problems.append(f'"method" must be a string, got {obj["method"]!r}')
        if "id" in obj and not _is_valid_id(obj["id"]):
            problems.append(f"a request id must be a string or an integer, got {obj['id']!r}")
        if "params" in obj and not isinstance(obj["params"], dict):
            problems.append(f'"params" must be an object, got {type(obj["params"]).__name__}')
        if "result" in obj or "error" in obj:
            problems.append('a request or notification must not carry "result" or "error"')
        return problems
    has_result, has_error = "result" in obj, "error" in obj
    if has_result == has_error:
        problems.append('a response must carry exactly one of "result" and "error"')
    if has_result and not isinstance(obj["result"], dict):
        problems.append(f'"result" must be an object, got {type(obj["result"]).__name__}')
    if has_error:
        problems.extend(_error_object_problems(obj["error"]))
    if "id" in obj and obj["id"] is not None and not _is_valid_id(obj["id"]):
        problems.append(f"a response id must be a string or an integer, got {obj['id']!r}")
    if has_result and obj.get("id") is None:
        problems.append("a result response must carry the id of its request")
    return problems


def _error_object_problems(error: Any) -> list[str]:
    if not isinstance(error, dict):
        return [f'"error" must be an object, got {type(error).__name__}']
    problems = []
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        problems.append(f"error code must be an integer, got {code!r}")
    if not isinstance(error.get("message"), str):
        problems.append(f'error "message" must be a string, got {error.get("message")!r}')
    return problems


# RFC 8259 section 6: integers in [-(2**53 - 1), 2**53 - 1] are exact in every JSON parser
# (IEEE 754 doubles); beyond, a peer may round them or refuse them (the TypeScript SDK does).
SAFE_INTEGER = 2**53 - 1


def same_id(sent: RequestId, received: Any) -> bool:
    """An id is echoed only with the same type and value (1 and "1" differ; so do 1 and 1.0)."""
    return type(sent) is type(received) and sent == received


def encode(obj: Any) -> bytes:
    """Compact single-line JSON: embedded newlines are impossible by construction."""
    return _ENCODER.encode(obj).encode("utf-8")


def request(id: RequestId, method: str, params: dict | None = None) -> dict:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: dict | None = None) -> dict:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def result(id: RequestId | None, value: dict) -> dict:
    return {"jsonrpc": "2.0", "id": id, "result": value}


def error(id: RequestId | None, code: int, message: str, data: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id, "error": err}


class LineFramer:
    """Newline-delimited framing (the stdio transport). Feed bytes, get complete lines.

    A line longer than max_line is cut off and reported as an oversized line rather than
    buffered without bound, so a peer flooding one endless line cannot exhaust memory.
    """

    def __init__(self, max_line: int = 16 * 1024 * 1024):
        self.max_line = max_line
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> Iterator[bytes | OversizedLine]:
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self.max_line:
                    if not self._discarding:
                        yield OversizedLine(bytes(self._buf[:200]))
                    self._discarding = True
                    self._buf.clear()
                return
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._discarding:
                self._discarding = False
                continue
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line

    def pending(self) -> bytes:
        """Bytes received after the last newline (a message not terminated when the peer closed)."""
        return bytes(self._buf)


@dataclass
class OversizedLine:
    head: bytes


class IdSequence:
    """Request ids a sender never reuses within a session."""

    def __init__(self, start: int = 1):
        self._next = start

    def __call__(self) -> int:
        value = self._next
        self._next += 1
        return value
