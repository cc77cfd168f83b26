"""The official JSON Schema of each revision: located, verified against the pin, compiled once.

Search order for a revision's schema.json (each file must match the sha256 in the pinned
manifest, schema/manifest.json):
  1. an explicit directory (--mcp-schema-dir or MCP_CONFORMANCE_SCHEMA_DIR);
  2. ../shared/spec next to the project checkout or the current directory;
  3. the user cache, filled on first use by a download from the pinned upstream URL.
A directory holds <revision>/schema.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from .revisions import legacy_revisions, manifest, revisions  # noqa: F401 (this module's API too)

ENV_SCHEMA_DIR = "MCP_CONFORMANCE_SCHEMA_DIR"


class SchemaUnavailable(Exception):
    """No verified copy of a revision's schema could be found or fetched."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mcp-conformance" / "schema"


def candidate_dirs(explicit: str | os.PathLike | None = None) -> list[Path]:
    dirs = []
    explicit = explicit or os.environ.get(ENV_SCHEMA_DIR)
    if explicit:
        dirs.append(Path(explicit))
    project_root = Path(__file__).resolve().parents[1]
    for base in (project_root, Path.cwd()):
        shared = (base / ".." / "shared" / "spec").resolve()
        if shared not in dirs:
            dirs.append(shared)
    return dirs


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_bytes(revision: str, explicit_dir: str | os.PathLike | None = None) -> bytes:
    pin = manifest()["revisions"].get(revision)
    if pin is None:
        raise SchemaUnavailable(f"unknown revision {revision!r}; known: {', '.join(revisions())}")
    mismatched = []
    for directory in [*candidate_dirs(explicit_dir), cache_dir()]:
        path = directory / revision / "schema.json"
        if path.is_file():
            data = path.read_bytes()
            if _sha256(data) == pin["sha256"]:
                return data
            mismatched.append(str(path))
    return _download(revision, pin, mismatched)


def _download(revision: str, pin: dict, mismatched: list[str]) -> bytes:
    target = cache_dir() / revision / "schema.json"
    try:
        with urllib.request.urlopen(pin["url"], timeout=20) as response:
            data = response.read()
    except OSError as exc:
        hint = f" (found but not matching the pinned sha256: {', '.join(mismatched)})" if mismatched else ""
        raise SchemaUnavailable(
            f"no verified schema for {revision}{hint}, and downloading {pin['url']} failed: {exc}. "
            f"Point --mcp-schema-dir or {ENV_SCHEMA_DIR} at a directory holding {revision}/schema.json."
        ) from exc
    if _sha256(data) != pin["sha256"]:
        raise SchemaUnavailable(f"downloaded schema for {revision} does not match the pinned sha256; not used")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return data


@dataclass(frozen=True)
class Violation:
    """One way a message fails its schema: where, against which definition, and why."""

    definition: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (schema definition {self.definition})"


class RevisionSchema:
    """One revision's schema with a validator per definition, built on first use and reused."""

    def __init__(self, revision: str, document: dict):
        self.revision = revision
        self.document = document
        self.defs_key = "$defs" if "$defs" in document else "definitions"
        self.definitions: dict = document[self.defs_key]
        uri = f"urn:mcp-schema:{revision}"
        resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT7)
        self._registry = referencing.Registry().with_resource(uri, resource)
        self._uri = uri
        self._validator_class = jsonschema.validators.validator_for(document)
        self._validators: dict[str, Any] = {}
        self._valid: set = set()  # (definition, digest of the JSON text) of instances found valid
        self.request_defs = self._by_method("Request")
        self.notification_defs = self._by_method("Notification")

    def _by_method(self, suffix: str) -> dict[str, str]:
        """method name -> definition name, read off the `method` const of each definition."""
        found = {}
        for name, definition in self.definitions.items():
            method = definition.get("properties", {}).get("method", {}).get("const")
            if name.endswith(suffix) and not name.startswith("JSONRPC") and method:
                found[method] = name
        return found

    def has(self, definition: str) -> bool:
        return definition in self.definitions

    def validator(self, definition: str):
        validator = self._validators.get(definition)
        if validator is None:
            ref = {"$ref": f"{self._uri}#/{self.defs_key}/{definition}"}
            validator = self._validator_class(ref, registry=self._registry)
            self._validators[definition] = validator
        return validator

    def validate(self, instance: Any, definition: str, at: str = "$", memo: bytes | None = None) -> list[Violation]:
        """Violations of `instance`. `memo`, when given, is the memo_digest() of JSON data that
        determines `instance`: once found valid, the verdict is reused (a fuzz run sees the same
        responses again and again, and validating costs far more than the digest)."""
        key = None if memo is None else (definition, at, memo)
        if key is not None and key in self._valid:
            return []
        errors = sorted(self.validator(definition).iter_errors(instance), key=lambda e: list(e.absolute_path))
        if not errors and key is not None:
            if len(self._valid) >= MEMO_SIZE:
                self._valid.clear()
            self._valid.add(key)
        return [Violation(definition, _json_path(at, e.absolute_path), _best_message(e)) for e in errors]

    def result_definition(self, method: str, as_task: bool = False) -> str:
        """The result definition answering a request method (FooRequest -> FooResult). A
        task-augmented request (2025-11-25 tasks) may instead get a CreateTaskResult (when the
        receiver runs it as a task); `as_task` says the result is one (it carries `task`)."""
        if as_task and self.has("CreateTaskResult"):
            return "CreateTaskResult"
        request_def = self.request_defs.get(method)
        if request_def:
            candidate = request_def[: -len("Request")] + "Result"
            if self.has(candidate):
                return candidate
        return "EmptyResult" if self.has("EmptyResult") else "Result"


MEMO_SIZE = 20_000  # valid verdicts kept per revision (then forgotten all at once)


_MEMO_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # made once, not per call


def memo_digest(decoded: Any) -> bytes | None:
    """A digest of JSON-decoded data (lists, string keys): validation is deterministic, so the
    same JSON text gets the same verdict. None for what JSON cannot hold (NaN and the like)."""
    try:
        text = _MEMO_ENCODER.encode(decoded)
    except (TypeError, ValueError):
        return None
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _json_path(prefix: str, parts) -> str:
    path = prefix
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _best_message(error: jsonschema.ValidationError) -> str:
    best = jsonschema.exceptions.best_match([error])
    return best.message if len(best.message) < 300 else best.message[:300] + "..."


_loaded: dict[tuple[str, str | None], RevisionSchema] = {}


def load(revision: str, explicit_dir: str | os.PathLike | None = None) -> RevisionSchema:
    key = (revision, str(explicit_dir) if explicit_dir else None)
    if key not in _loaded:
        _loaded[key] = RevisionSchema(revision, json.loads(load_bytes(revision, explicit_dir)))
    return _loaded[key]
