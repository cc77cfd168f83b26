"""fuzz_targets: no feature of its own, only faults that show under generated input, each
found by a check of scenarios/fuzz.py within its default budget. A fault wraps the
server's line handler when it is switched on."""

from __future__ import annotations

from ..faults import Fault
from . import ReferenceFeature

LONG_LINE = 4000  # bytes: longer valid requests crash the server under fuzz-crash-on-long-string

FAULTS = {
    "fuzz-crash-on-nul-or-long": Fault("exits on a request whose strings hold NUL or are very long",
                                       "test_fuzz_valid_requests"),
    "fuzz-crash-on-float-id": Fault("exits on a request with a fractional id", "test_fuzz_malformed_input",
                                    "warned"),
    "fuzz-cancel-corrupts": Fault("after a cancellation of a finished request, answers the next request "
                                  "with the cancelled id", "test_fuzz_session_machine"),
}


class Feature(ReferenceFeature):
    def __init__(self, server):
        super().__init__(server)
        self.corrupt_next = None
        if any(server.has(name) for name in FAULTS):
            self._wrap(server)

    def _wrap(self, server) -> None:
        handle = server.handle
        answered: set = set()

        def faulty(line: bytes) -> list[bytes]:
            if server.has("fuzz-crash-on-nul-or-long") and b'"method"' in line and b'"id"' in line and \
                    (b"\\u0000" in line or len(line) > LONG_LINE) and b'"pad"' not in line:
                raise SystemExit(70)
            if server.has("fuzz-crash-on-float-id") and b'"id":1.5' in line:
                raise SystemExit(70)
            out = handle(line)
            if server.has("fuzz-cancel-corrupts"):
                out = self._corrupt(line, out, answered)
            return out

        server.handle = faulty

    def _corrupt(self, line: bytes, out: list[bytes], answered: set) -> list[bytes]:
        import json
        try:
            message = json.loads(line)
        except ValueError:
            return out
        if not isinstance(message, dict):
            return out
        if message.get("method") == "notifications/cancelled":
            request_id = (message.get("params") or {}).get("requestId")
            if request_id in answered:
                self.corrupt_next = request_id
        elif "id" in message and "method" in message and isinstance(message["id"], (str, int)):
            if self.corrupt_next is not None and out:
                replies = [json.loads(o) for o in out]
                for reply in replies:
                    if reply.get("id") == message["id"]:
                        reply["id"] = self.corrupt_next
                self.corrupt_next = None
                out = [json.dumps(r).encode() + b"\n" for r in replies]
            answered.add(message["id"])
        return out
