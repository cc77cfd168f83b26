"""fuzz_targets: no feature of its own, only faults that show under generated input, each
found by a check of scenarios/fuzz.py within its default budget. When one is switched on,
the server's line handler is wrapped (stdio and HTTP alike)."""

from __future__ import annotations

import json
from typing import Any

from ..faults import Fault
from . import ReferenceFeature

LONG_LINE = 256 * 1024  # bytes: fuzz-long-line-dropped ignores longer lines
DEEP = 32  # levels: fuzz-hang-on-deep-nesting stops answering after a deeper message
STRING_MEMBERS = ("name", "uri", "cursor", "level")  # members fuzz-crash-on-wrong-type expects to be strings

FAULTS = {
    "fuzz-crash-on-nul": Fault(
        "exits when a string in a request's params holds U+0000",
        "test_fuzz_valid_requests",
        also=("test_fuzz_invalid_params",),
    ),  # its mutations hold U+0000 too
    "fuzz-id-large-int": Fault(
        "echoes integer ids of 2^31 or more truncated to 31 bits",
        "test_fuzz_valid_requests",
        also=("test_fuzz_malformed_input",),
    ),  # its id classes include large integers
    "fuzz-hang-on-deep-nesting": Fault(
        f"stops answering after a message nested over {DEEP} levels deep", "test_fuzz_malformed_input"
    ),
    "fuzz-long-line-dropped": Fault(f"ignores lines over {LONG_LINE // 1024} KiB", "test_fuzz_framing"),
    "fuzz-crash-on-wrong-type": Fault(
        f"exits when a params member {'/'.join(STRING_MEMBERS)} is a number", "test_fuzz_invalid_params"
    ),
    "fuzz-cancel-corrupts": Fault(
        "after a cancellation of a finished request, answers the next request with the cancelled id",
        "test_fuzz_session_machine",
    ),
}


class Feature(ReferenceFeature):
    def __init__(self, server):
        super().__init__(server)
        self.hung = False
        self.answered: set = set()  # ids answered (fuzz-cancel-corrupts)
        self.corrupt_next = None  # the id the next response wrongly carries
        if any(server.has(name) for name in FAULTS):
            handle = server.handle
            server.handle = lambda line: self.faulty(handle, line)

    def faulty(self, handle, line: bytes) -> list[bytes]:
        if self.server.has("fuzz-long-line-dropped") and len(line) > LONG_LINE:
            return []
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if self.server.has("fuzz-hang-on-deep-nesting") and (self.hung or _depth(message) > DEEP):
            self.hung = True
            return []
        params = message.get("params") if isinstance(message, dict) else None
        if self.server.has("fuzz-crash-on-nul") and any("\x00" in text for text in _strings(params)):
            raise SystemExit(70)
        if (
            self.server.has("fuzz-crash-on-wrong-type")
            and isinstance(params, dict)
            and any(isinstance(params.get(k), (int, float)) for k in STRING_MEMBERS)
        ):
            raise SystemExit(70)
        replies = handle(line)
        if isinstance(message, dict) and (
            self.server.has("fuzz-id-large-int") or self.server.has("fuzz-cancel-corrupts")
        ):
            replies = [json.dumps(self.rewrite(message, json.loads(r))).encode() + b"\n" for r in replies]
        return replies

    def rewrite(self, message: dict, reply: Any) -> Any:
        """The reply with its id changed the way the switched-on fault changes it."""
        if not isinstance(reply, dict) or "method" in reply or "id" not in reply:
            return reply
        if self.server.has("fuzz-id-large-int") and type(reply["id"]) is int and reply["id"] >= 2**31:
            return {**reply, "id": reply["id"] & (2**31 - 1)}
        if self.server.has("fuzz-cancel-corrupts"):
            return self.corrupt(message, reply)
        return reply

    def corrupt(self, message: dict, reply: dict) -> dict:
        request_id = reply["id"]
        if self.corrupt_next is not None and request_id == message.get("id"):
            reply, self.corrupt_next = {**reply, "id": self.corrupt_next}, None
        self.answered.add(json.dumps(request_id))
        return reply

    def on_notification(self, message) -> list[dict]:
        if self.server.has("fuzz-cancel-corrupts") and message.method == "notifications/cancelled":
            request_id = (message.params or {}).get("requestId")
            if json.dumps(request_id) in self.answered:
                self.corrupt_next = request_id
        return []


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (dict, list)):
        for inner in value.values() if isinstance(value, dict) else value:
            yield from _strings(inner)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0
