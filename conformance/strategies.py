"""Hypothesis strategies for the messages a client sends: every request and notification of
a revision, built from that revision's loaded schema, and tool arguments from a tool's
`inputSchema`. Every message drawn validates against its schema definition.

Hand-written, and why:

- The schema-to-strategy translation (`_compile`) is a small compiler for the subset of
  JSON Schema the MCP schemas use (type, properties, required, const, enum, anyOf, allOf,
  items, minimum/maximum, additionalProperties, format). hypothesis-jsonschema handles all of
  JSON Schema but canonicalises and merges each definition first: 0.1 to 3 s per definition,
  about 10 s per revision, which the fuzz checks would pay on every run. This one builds a
  revision in milliseconds (drawing 150 messages of a revision takes about a second); each
  message is still validated against the real schema (a filter), so a translation mistake
  shows as a test failure, never as a bad message. A tool's `inputSchema` comes from the
  server and may use any keyword: one using only those above is compiled the same way,
  any other goes to hypothesis-jsonschema (`conformance.generate.strategy`); both are cached
  per schema and filtered by validation.
- MCP patches: which methods a client sends is read off the `ClientRequest` /
  `ClientNotification` unions (2026-07-28's `ClientNotification` is a single notification,
  so a fixed list of client notifications completes it); `_meta` is not generated but added
  from the session (the modern era's per-request `_meta`, none in the legacy era), since
  random `_meta` keys only test key naming, the sender's rule; `task` is left out, since it
  changes the result type by negotiation; ids are the fuzzer's to choose.
- Strings are sometimes edge cases a generator rarely draws and servers often trip on (NUL,
  very long, astral and right-to-left characters, path traversal, format directives).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import strategies as st

from . import generate
from .jsonrpc import SAFE_INTEGER
from .schema import RevisionSchema

CLIENT_NOTIFICATIONS = (
    "notifications/cancelled",
    "notifications/progress",
    "notifications/initialized",
    "notifications/roots/list_changed",
    "notifications/tasks/status",
)
LEFT_OUT = ("_meta", "task")  # params members not generated (see the module docstring)
MAX_DEPTH = 8  # $ref levels followed before only the required members are drawn
LONG = 5000
EDGE_STRINGS = (
    "",
    "\x00",
    "a\x00b",
    "\U0001f600\u202e\ufeff",
    '\\u0000 "quoted" \n\r\t',
    "../../../etc/passwd\x00.txt",
    "%s%n{}",
    "\ud7ff\ue000",
)
LONG_STRING = st.builds(lambda: "x" * LONG)  # built, not listed: a strategy's repr stays short
STRINGS = st.one_of(st.text(max_size=12), st.sampled_from(EDGE_STRINGS), LONG_STRING)
URIS = st.one_of(
    st.sampled_from(
        ["file:///tmp/x", "https://example.com/a?b=c#d", "urn:x:y", "test://static/resource/1", "file:///tmp/a%00b\x00"]
    ),
    LONG_STRING.map(lambda text: f"file:///{text}"),
    st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=8).map(lambda s: f"file:///{s}"),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-SAFE_INTEGER, SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


# -- which messages --------------------------------------------------------------------------
def _union(schema: RevisionSchema, name: str) -> set[str]:
    union = schema.definitions.get(name, {})
    return {
        alt["$ref"].rsplit("/", 1)[-1]
        for alt in union.get("anyOf") or union.get("oneOf") or []
        if isinstance(alt, dict) and "$ref" in alt
    }


def client_requests(schema: RevisionSchema) -> dict[str, str]:
    """method -> definition of every request a client may send in this revision."""
    names = _union(schema, "ClientRequest")
    return {m: d for m, d in sorted(schema.request_defs.items()) if d in names}


def client_notifications(schema: RevisionSchema) -> dict[str, str]:
    names = _union(schema, "ClientNotification")
    return {m: d for m, d in sorted(schema.notification_defs.items()) if d in names or m in CLIENT_NOTIFICATIONS}


# -- the compiler ------------------------------------------------------------------------------
def resolved(schema: RevisionSchema, node: dict) -> dict:
    """`node` with its `$ref`s followed (an `allOf` merged into one object schema)."""
    while isinstance(node.get("$ref"), str):
        node = schema.definitions[node["$ref"].rsplit("/", 1)[-1]]
    return _merge(schema, node) if "allOf" in node else node


def params_schema(schema: RevisionSchema, definition: str) -> dict:
    """The schema of a request's or notification's params ({} when it has none)."""
    params = schema.definitions[definition].get("properties", {}).get("params")
    return resolved(schema, params) if isinstance(params, dict) else {}


def _compile(schema: RevisionSchema, node: Any, depth: int = 0) -> st.SearchStrategy:
    if not isinstance(node, dict) or not node:
        return JSON_VALUES
    if "$ref" in node:
        return _compile(schema, resolved(schema, node), depth + 1)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node or "oneOf" in node:
        alternatives = node.get("anyOf") or node["oneOf"]
        return st.one_of([_compile(schema, alt, depth) for alt in alternatives[: 1 if depth > MAX_DEPTH else None]])
    if "allOf" in node:
        return _compile(schema, resolved(schema, node), depth)
    kind = node.get("type", "object" if "properties" in node else None)
    if isinstance(kind, list):
        return st.one_of([_compile(schema, {**node, "type": k}, depth) for k in kind])
    return _BY_TYPE.get(kind, lambda *_: JSON_VALUES)(schema, node, depth)


def _merge(schema: RevisionSchema, node: dict) -> dict:
    """An allOf of object schemas as one object schema (all the MCP schemas use it for)."""
    merged: dict = {"type": "object", "properties": {}, "required": []}
    for part in [{k: v for k, v in node.items() if k != "allOf"}, *node["allOf"]]:
        part = resolved(schema, part)  # nested allOf: merged first
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def _object(schema: RevisionSchema, node: dict, depth: int) -> st.SearchStrategy:
    properties = node.get("properties", {})
    required = set(node.get("required", []))
    members = {
        name: _compile(schema, sub, depth + 1)
        for name, sub in properties.items()
        if name in required or depth <= MAX_DEPTH
    }
    fixed = st.fixed_dictionaries(
        {n: s for n, s in members.items() if n in required},
        optional={n: s for n, s in members.items() if n not in required},
    )
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and not properties:  # a map, e.g. tool arguments
        return st.dictionaries(st.text(max_size=8), _compile(schema, extra, depth + 1), max_size=3)
    return fixed


def _array(schema: RevisionSchema, node: dict, depth: int) -> st.SearchStrategy:
    low = node.get("minItems", 0)
    return st.lists(
        _compile(schema, node.get("items", {}), depth + 1),
        min_size=low,
        max_size=max(low, min(node.get("maxItems", 3), 0 if depth > MAX_DEPTH else 3)),
    )


def _string(schema: RevisionSchema, node: dict, depth: int) -> st.SearchStrategy:
    form = node.get("format")
    if form in ("uri", "uri-template"):
        return URIS
    if form == "byte":
        return st.sampled_from(["", "aGVsbG8=", "AAEC"])
    return STRINGS


def _number(schema: RevisionSchema, node: dict, depth: int) -> st.SearchStrategy:
    low, high = node.get("minimum", -SAFE_INTEGER), node.get("maximum", SAFE_INTEGER)
    integers = st.integers(int(low), int(high))
    if node.get("type") == "integer":
        return integers
    return integers | st.floats(low, high, allow_nan=False, allow_infinity=False)


_BY_TYPE = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": _number,
    "number": _number,
    "boolean": lambda *_: st.booleans(),
    "null": lambda *_: st.none(),
}


# -- messages ------------------------------------------------------------------------------
@functools.cache
def _unchecked(schema: RevisionSchema, definition: str) -> st.SearchStrategy:
    """A definition's messages without `_meta` and `task` (see the module docstring)."""
    node = schema.definitions[definition]
    properties = dict(node.get("properties", {}))
    if "params" in properties:
        params = dict(params_schema(schema, definition))
        params["properties"] = {k: v for k, v in params.get("properties", {}).items() if k not in LEFT_OUT}
        params["required"] = [r for r in params.get("required", []) if r not in LEFT_OUT]
        properties["params"] = params
    # Older schemas leave the envelope to JSONRPCRequest / JSONRPCNotification.
    properties["jsonrpc"] = {"const": "2.0"}
    required = {*node.get("required", []), "jsonrpc"}
    if definition in schema.request_defs.values():
        properties["id"] = {"const": 0}  # the fuzzer sets the id
        required.add("id")
    return _compile(schema, {**node, "properties": properties, "required": sorted(required)})


def with_meta(message: dict, meta: dict | None) -> dict:
    """`message` with the era's `_meta` in its params (modern: the per-request one; legacy: none)."""
    if meta is None or "id" not in message:
        return message
    return {**message, "params": {**message.get("params", {}), "_meta": meta}}


@functools.cache
def _message(schema: RevisionSchema, definition: str, meta_json: str) -> st.SearchStrategy:
    meta = json.loads(meta_json)
    return (
        _unchecked(schema, definition)
        .map(lambda m: with_meta(m, meta))
        .filter(lambda m: not schema.validate(m, definition))
    )


def message(schema: RevisionSchema, definition: str, meta: dict | None = None) -> st.SearchStrategy:
    """Messages valid against `definition`; `meta` is the `_meta` every request carries (modern)."""
    return _message(schema, definition, json.dumps(meta, sort_keys=True))


def requests(schema: RevisionSchema, methods=None, meta: dict | None = None) -> st.SearchStrategy:
    """Any client request of the revision (or of `methods`)."""
    defs = client_requests(schema)
    return st.one_of([message(schema, defs[m], meta) for m in sorted(methods or defs) if m in defs])


def notifications(schema: RevisionSchema, methods=None) -> st.SearchStrategy:
    defs = client_notifications(schema)
    return st.one_of([message(schema, defs[m]) for m in sorted(methods or defs) if m in defs])


def client_messages(
    schema: RevisionSchema, request_methods=None, notification_methods=None, meta: dict | None = None
) -> st.SearchStrategy:
    """Requests (about four in five) and notifications, mixed."""
    return st.one_of(*[requests(schema, request_methods, meta)] * 4, notifications(schema, notification_methods))


# -- tool arguments --------------------------------------------------------------------------
def tool_arguments(input_schema: dict) -> st.SearchStrategy:
    """Arguments valid against a tool's `inputSchema` (objects without undeclared members
    where the schema allows that; see `generate.examples`)."""
    return _tool_arguments(json.dumps(input_schema, sort_keys=True))


# Keywords the compiler handles (annotations are ignored); a tool schema using others goes to
# hypothesis-jsonschema, which is slower to build but knows all of JSON Schema.
COMPILED = {
    "type",
    "properties",
    "required",
    "const",
    "enum",
    "anyOf",
    "oneOf",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "additionalProperties",
    "format",
    "description",
    "title",
    "default",
    "examples",
    "$schema",
}


def _compilable(node: Any) -> bool:
    if isinstance(node, list):
        return all(map(_compilable, node))
    if not isinstance(node, dict):
        return True
    if not set(node) <= COMPILED or node.get("format") not in (None, "uri"):
        return False
    return all(
        _compilable(v)
        for k, v in node.items()
        if k in ("properties", "items", "anyOf", "oneOf", "additionalProperties")
    ) and all(map(_compilable, (node.get("properties") or {}).values()))


@functools.lru_cache(maxsize=256)
def _tool_arguments(schema_json: str) -> st.SearchStrategy:
    schema = json.loads(schema_json)
    closed = generate.closed_variant(schema)
    try:
        drawn = _compile(None, closed) if _compilable(closed) else generate.strategy(closed)
    except Exception:  # a schema hypothesis-jsonschema cannot handle: its plain fallback value
        return st.sampled_from(generate.examples(schema, 1) or [{}])
    return drawn.filter(lambda value: isinstance(value, dict) and generate.is_valid(value, schema))
