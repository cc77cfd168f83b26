"""The protocol revisions the suite knows, from the pinned schema manifest (schema/).

Apart from conformance.schema so that what only needs the list of revisions (the
reference server and client, started once per connection over stdio) does not import
jsonschema: that import is most of a reference process's start-up."""

from __future__ import annotations

import functools
import json
from importlib import resources


@functools.cache
def manifest() -> dict:
    return json.loads(resources.files("conformance.pinned").joinpath("manifest.json").read_text())


def revisions() -> list[str]:
    return sorted(manifest()["revisions"])


def legacy_revisions() -> list[str]:
    return [r for r, pin in manifest()["revisions"].items() if pin["era"] == "legacy"]


URL_MODE_SINCE = "2025-11-25"  # elicitation modes (URL mode), and tools in sampling


def elicitation_modes(capabilities: dict, revision: str | None = None) -> set[str]:
    """The elicitation modes a client's capabilities declare: none without `elicitation`;
    form only for an empty object, and in any revision before URL mode."""
    elicitation = capabilities.get("elicitation") if isinstance(capabilities, dict) else None
    if not isinstance(elicitation, dict):
        return set()
    if revision is not None and revision < URL_MODE_SINCE:
        return {"form"}
    return {mode for mode in ("form", "url") if isinstance(elicitation.get(mode), dict)} or {"form"}


TASKS_REVISION = "2025-11-25"  # the one legacy revision with tasks (2026-07-28 moved them to an extension)


def declares_task_support(capabilities: dict, method: str) -> bool:
    """Whether the capabilities declare task augmentation for requests of `method`
    (sampling/createMessage: tasks.requests.sampling.createMessage)."""
    node = capabilities.get("tasks") if isinstance(capabilities, dict) else None
    for key in ("requests", *method.split("/")):
        node = node.get(key) if isinstance(node, dict) else None
    return isinstance(node, dict)


RESULT_TYPES = ("complete", "input_required")  # the core resultType values (2026-07-28); others are invalid
