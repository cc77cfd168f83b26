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
