"""completion: suggestions for prompt arguments and resource template variables.

The `completions` capability exists from 2025-03-26 on; in 2024-11-05 the method is
answered all the same, since that revision has it without a capability.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion
"""

from __future__ import annotations

from ... import jsonrpc
from ..faults import Fault
from . import ReferenceFeature
from .prompts import PROMPTS

MAX_VALUES = 100
NAMES = ["Alice", "Bob", "Carol", "Dave", "Eve"] + [f"guest-{n:03}" for n in range(150)]  # more than a page
CANDIDATES = {
    ("ref/prompt", "name"): NAMES,
    ("ref/prompt", "style"): ["casual", "formal", "friendly"],
    ("ref/prompt", "arg1"): ["paris", "park", "party"],
    ("ref/prompt", "arg2"): ["test", "testing", "tested"],
    ("ref/resource", "id"): ["1", "2", "3"],
    ("ref/resource", "name"): NAMES[:5],
    ("ref/resource", "n"): ["1", "12", "123"],
}

FAULTS = {
    "completion-too-many": Fault(
        "answers 101 completion values", "test_completion_values_bounded", also=("test_completion_complete",)
    ),
    "completion-total-too-small": Fault(
        "completion total is smaller than the values sent", "test_completion_values_bounded", "warned"
    ),
    "completion-unknown-prompt-result": Fault(
        "completion for an unknown prompt gets empty values, not -32602",
        "test_completion_unknown_prompt_rejected",
        "warned",
    ),
    "fixture-completion-error": Fault(
        "completion for test_prompt_with_arguments fails with -32603", "test_completion_complete"
    ),
}


class Feature(ReferenceFeature):
    capability_name = "completions"

    def capability(self) -> dict | None:
        offered = (self.server.current_revision or "") >= "2025-03-26"
        return {} if offered else None

    def handlers(self):
        return {"completion/complete": self.on_complete}

    def on_complete(self, message) -> list[dict]:
        params = message.params or {}
        ref, argument = params.get("ref") or {}, params.get("argument") or {}
        if not isinstance(argument.get("name"), str) or not isinstance(argument.get("value"), str):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "argument needs a name and a value")]
        if not isinstance(params.get("context", {}), dict):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "context must be an object")]
        problem = self.reference_problem(ref, argument["name"])
        if problem and not self.server.has("completion-unknown-prompt-result"):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, problem)]
        if ref.get("name") == "test_prompt_with_arguments" and self.server.has("fixture-completion-error"):
            return [self.server.error(message.id, jsonrpc.INTERNAL_ERROR, "completion is broken")]
        candidates = [] if problem else CANDIDATES.get((ref.get("type"), argument["name"]), [])
        return [self.server.result(message.id, {"completion": self.complete(candidates, argument["value"])})]

    def reference_problem(self, ref: dict, argument: str) -> str | None:
        if ref.get("type") == "ref/resource" and isinstance(ref.get("uri"), str):
            return None  # every template variable may be asked about; unknown ones get nothing
        if ref.get("type") != "ref/prompt":
            return f"unknown reference type {ref.get('type')!r}"
        prompt = next((p for p in PROMPTS if p["name"] == ref.get("name")), None)
        if prompt is None:
            return f"Unknown prompt: {ref.get('name')}"
        if argument not in [a["name"] for a in prompt.get("arguments", [])]:
            return f"prompt {prompt['name']} has no argument {argument!r}"
        return None

    def complete(self, candidates: list[str], prefix: str) -> dict:
        matches = [c for c in candidates if c.lower().startswith(prefix.lower())]
        if self.server.has("completion-too-many"):
            matches = [f"value-{n}" for n in range(MAX_VALUES + 1)]
            return {"values": matches, "total": len(matches), "hasMore": False}
        values = matches[:MAX_VALUES]
        total = 0 if self.server.has("completion-total-too-small") else len(matches)
        return {"values": values, "total": total, "hasMore": len(matches) > len(values)}
