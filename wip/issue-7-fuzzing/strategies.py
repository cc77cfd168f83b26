"""Hypothesis strategies for every client-to-server request and notification of a revision,
built from that revision's loaded JSON Schema; every message drawn validates against it.

What is generated and what is hand-written:

- The values come from hypothesis-jsonschema (`from_schema`), which handles the JSON
  Schema itself: types, required members, enums, consts, bounds, composition.
- Hand-written, because they are about MCP rather than JSON Schema:
  * which methods the client sends: read off the schema's `ClientRequest` /
    `ClientNotification` unions; a revision without such a union (2026-07-28 describes
    `ClientNotification` differently) falls back to a fixed list of client methods;
  * each definition is made self-contained by inlining its `$ref`s; a reference that
    would recurse (content blocks, JSON values) is cut to a small closed object, so no
    recursive or huge schema reaches the generator;
  * `_meta` is not generated: the session adds the per-request `_meta` the era needs
    (modern) or none (legacy), see `finish`; random `_meta` keys would just test the key
    naming rules, which are the client's to keep;
  * `task` (task-augmented execution) is left out: it changes the result type, which is
    negotiated by capability, so a drawn one would make a valid answer look wrong;
  * string leaves are sometimes swapped for edge cases (NUL, very long, astral and
    right-to-left characters): a generator rarely draws them, servers often trip on them.
    A swap is kept only if the message still validates.

Every message passes `RevisionSchema.validate` against its definition (a filter, so a
patch that broke validity would show as a health-check failure, never as a bad message).
"""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any

from hypothesis import strategies as st

from .schema import RevisionSchema

# Client-sent notifications, for revisions whose schema has no ClientNotification union.
CLIENT_NOTIFICATIONS = ("notifications/cancelled", "notifications/progress", "notifications/initialized",
                        "notifications/roots/list_changed", "notifications/tasks/status")
CLIENT_REQUESTS_FALLBACK = ("ping", "initialize", "server/discover", "tools/list", "tools/call", "prompts/list",
                            "prompts/get", "resources/list", "resources/read", "resources/templates/list",
                            "resources/subscribe", "resources/unsubscribe", "completion/complete",
                            "logging/setLevel", "tasks/get", "tasks/list", "tasks/cancel", "tasks/result",
                            "subscriptions/listen")
LEFT_OUT = ("_meta", "task")  # params members not generated (see the module docstring)
CUT = {"type": "object", "properties": {}, "additionalProperties": False}  # where a $ref would recurse
MAX_DEPTH = 12
LONG = 5000
EDGE_STRINGS = ("", "\x00", "a\x00b", "x" * LONG, "\U0001f600\u202e\ufeff", "\\u0000 \"quoted\" \n\r\t",
                "../../../etc/passwd", "%s%n{}", "\ud7ff\ue000")


# -- which messages ---------------------------------------------------------------------------
def _union(schema: RevisionSchema, name: str) -> list[str]:
    union = schema.definitions.get(name, {})
    refs = union.get("anyOf") or union.get("oneOf") or []
    return [alt["$ref"].rsplit("/", 1)[-1] for alt in refs if isinstance(alt, dict) and "$ref" in alt]


def client_requests(schema: RevisionSchema) -> dict[str, str]:
    """method -> definition of every request a client may send in this revision."""
    names = set(_union(schema, "ClientRequest"))
    if names:
        return {m: d for m, d in schema.request_defs.items() if d in names}
    return {m: d for m, d in schema.request_defs.items() if m in CLIENT_REQUESTS_FALLBACK}


def client_notifications(schema: RevisionSchema) -> dict[str, str]:
    names = set(_union(schema, "ClientNotification"))
    if names:
        return {m: d for m, d in schema.notification_defs.items() if d in names}
    return {m: d for m, d in schema.notification_defs.items() if m in CLIENT_NOTIFICATIONS}


# -- self-contained, MCP-patched schemas ------------------------------------------------------------
def _inline(schema: RevisionSchema, node: Any, seen: tuple[str, ...], depth: int) -> Any:
    if isinstance(node, list):
        return [_inline(schema, item, seen, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or depth > MAX_DEPTH or name not in schema.definitions:
            return dict(CUT)
        target = _inline(schema, schema.definitions[name], (*seen, name), depth + 1)
        rest = {k: v for k, v in node.items() if k not in ("$ref", "description")}
        return {**target, **_inline(schema, rest, seen, depth)} if rest else target
    out = {}
    for key, value in node.items():
        if key in ("description", "$comment", "examples", "default", "title"):
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            out[key] = {k: _inline(schema, v, seen, depth + 1) for k, v in value.items()}
        else:
            out[key] = _inline(schema, value, seen, depth + 1)
    return out


def patched_definition(schema: RevisionSchema, definition: str) -> dict:
    """The definition inlined, with the hand-written MCP patches applied (see the docstring)."""
    inlined = _inline(schema, schema.definitions[definition], (definition,), 0)
    params = inlined.get("properties", {}).get("params")
    if isinstance(params, dict):
        params = copy.deepcopy(params)
        for member in LEFT_OUT:
            params.get("properties", {}).pop(member, None)
            if member in params.get("required", []):
                params["required"] = [r for r in params["required"] if r != member]
        inlined["properties"]["params"] = params
    # Ids are replaced by the session's own; keep the drawn ones plain.
    inlined.setdefault("properties", {})["id"] = {"type": "integer", "minimum": 1, "maximum": 2 ** 31}
    return inlined


# -- strategies -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _base(schema: RevisionSchema, definition: str) -> st.SearchStrategy:
    from hypothesis_jsonschema import from_schema
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return from_schema(patched_definition(schema, definition))


def _string_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_paths(v, (*path, i))]
    return []


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy_ = list(value)
    copy_[head] = _replace(copy_[head], rest, new)
    return copy_


@st.composite
def _with_edges(draw, base: st.SearchStrategy, schema: RevisionSchema, definition: str, meta: dict | None):
    message = finish(draw(base), meta)
    paths = _string_paths(message.get("params", {}), ("params",))
    if paths and draw(st.booleans()):
        path = draw(st.sampled_from(paths))
        edged = _replace(message, path, draw(st.sampled_from(EDGE_STRINGS)))
        if not schema.validate(edged, definition):
            message = edged
    return message


def finish(message: dict, meta: dict | None) -> dict:
    """Add the era's `_meta` (modern: the per-request one; legacy: none)."""
    if meta is not None and "id" in message:
        message = {**message, "params": {**message.get("params", {}), "_meta": meta}}
    return message


@functools.lru_cache(maxsize=None)
def message(schema: RevisionSchema, definition: str, meta: dict | None = None) -> st.SearchStrategy:
    """Messages valid against `definition`; `meta` is the `_meta` every request carries (modern)."""
    return _with_edges(_base(schema, definition), schema, definition, meta).filter(
        lambda m: not schema.validate(m, definition))


def requests(schema: RevisionSchema, methods: list[str] | None = None, meta: dict | None = None):
    """Any client request of the revision (or of `methods`)."""
    defs = client_requests(schema)
    chosen = sorted(m for m in (methods or defs) if m in defs)
    # Lazily: a method's strategy is built (and cached) only once it is drawn.
    return st.sampled_from(chosen).flatmap(lambda m: message(schema, defs[m], meta))


def notifications(schema: RevisionSchema, methods: list[str] | None = None):
    defs = client_notifications(schema)
    chosen = sorted(m for m in (methods or defs) if m in defs)
    return st.sampled_from(chosen).flatmap(lambda m: message(schema, defs[m]))


def client_messages(schema: RevisionSchema, request_methods: list[str] | None = None,
                    notification_methods: list[str] | None = None, meta: dict | None = None):
    """Requests (three in four) and notifications, mixed."""
    return st.one_of(requests(schema, request_methods, meta), requests(schema, request_methods, meta),
                     requests(schema, request_methods, meta), notifications(schema, notification_methods))
