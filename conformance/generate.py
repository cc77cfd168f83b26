"""Values from a JSON Schema: valid ones drawn by Hypothesis (hypothesis-jsonschema), and
deliberately invalid variants of a valid object.

Used for tool arguments (`inputSchema`) now and for fuzzing later, so nothing here knows
about MCP. Generation is deterministic for a given seed, bounded in count, and never
raises: a schema that cannot be generated from yields a plain fallback value or nothing.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema_specifications
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

DEFAULT_SEED = 20251125
OFFLINE = jsonschema_specifications.REGISTRY  # the metaschemas only: a remote $ref is never fetched
# A value of each JSON type; wrong_type_value picks one the property's schema rejects.
SAMPLE_BY_TYPE: dict[str, Any] = {
    "object": {"conformance": "wrong type"},
    "array": [["nested"], {"k": 1}],
    "string": "conformance-wrong-type",
    "integer": 987654321,
    "number": 0.5,
    "boolean": True,
    "null": None,
}
# Objects first: lax validators coerce numbers and strings into each other, hardly an object.
WRONG_TYPE_ORDER = ("object", "array", "boolean", "string", "number", "integer", "null")


def strategy(schema: dict) -> st.SearchStrategy:
    """A Hypothesis strategy for instances of `schema` (raises on unsupported schemas).
    hypothesis-jsonschema knows drafts 4 to 7; what it draws for newer keywords is
    checked against the schema itself (see examples)."""
    from hypothesis_jsonschema import from_schema  # heavy import: only when generating

    return from_schema(schema)


def examples(schema: dict, count: int = 3, seed: int = DEFAULT_SEED, closed: bool = True) -> list[Any]:
    """Up to `count` distinct valid instances of `schema`; the fallback value if Hypothesis
    cannot handle the schema; [] if not even that is valid.

    `closed` draws objects without undeclared properties where the schema allows that:
    still valid instances, but ones that reach the code behind the schema rather than
    bounce off a strict "no extra fields" check.

    Drawing is deterministic for a seed, so the draws are kept per run: checks that call
    the same tools on several connections pay for them once (a copy each time)."""
    try:
        key = (json.dumps(schema, sort_keys=True), count, seed, closed)
    except (TypeError, ValueError):
        return _examples(schema, count, seed, closed)
    if key not in _drawn:
        _drawn[key] = json.dumps(_examples(schema, count, seed, closed))
    return json.loads(_drawn[key])


_drawn: dict[tuple, str] = {}


def _examples(schema: dict, count: int, seed: int, closed: bool) -> list[Any]:
    drawn = _try_draw(closed_variant(schema), count, seed) if closed else []
    drawn = drawn or _try_draw(schema, count, seed)
    if not drawn:
        try:
            value = fallback(schema)
        except (TypeError, ValueError, OverflowError):  # nonsense bounds in a broken schema
            return []
        drawn = [value] if is_valid(value, schema) else []
    return _distinct(drawn)[:count]


def _try_draw(schema: dict, count: int, seed: int) -> list[Any]:
    try:
        drawn = _draw(strategy(schema), count, seed)
    except Exception:  # an odd schema can break the generator in many ways; then use the fallback
        return []
    return [value for value in drawn if _is_json(value) and is_valid(value, schema)]


OPEN_KEYWORDS = (
    "additionalProperties",
    "patternProperties",
    "unevaluatedProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "$ref",
    "not",
    "if",
)


def closed_variant(schema: Any) -> Any:
    """`schema` with `additionalProperties: false` added to plain object schemas (nothing
    composes or opens them); every instance of the result is an instance of `schema`."""
    if not isinstance(schema, dict):
        return schema
    closed = dict(schema)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        closed["properties"] = {name: closed_variant(sub) for name, sub in properties.items()}
    if (isinstance(properties, dict) or schema.get("type") == "object") and not any(
        keyword in schema for keyword in OPEN_KEYWORDS
    ):
        closed["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        closed["items"] = closed_variant(schema["items"])
    return closed


def _draw(strat: st.SearchStrategy, count: int, seed: int) -> list[Any]:
    found: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(strat)
    def collect(value):
        found.append(value)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    return found


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        return False
    return True


def _distinct(values: list[Any]) -> list[Any]:
    seen, unique = set(), []
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


def fallback(schema: Any) -> Any:
    """A plain instance built by hand: required properties filled by declared type."""
    if not isinstance(schema, dict):
        return {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: fallback(properties.get(name, {})) for name in schema.get("required") or []}
    if kind == "array":
        return [fallback(schema.get("items", {}))] * int(schema.get("minItems", 0) or 0)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return math.ceil(low) + (1 if "exclusiveMinimum" in schema else 0)
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1) or 1))
    return SAMPLE_BY_TYPE.get(kind, {})


def validator(schema: Any):
    """A validator for `schema` in its dialect (2020-12 when it names none) that resolves
    only references inside the schema: never one on the network."""
    dialect = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return dialect(schema, registry=OFFLINE)


def is_valid(instance: Any, schema: Any) -> bool:
    """Whether `instance` is valid against `schema` (False when the schema is unusable)."""
    try:
        return validator(schema).is_valid(instance)
    except Exception:  # unknown types, unresolvable references, broken keywords: unusable
        return False


def wrong_type_value(property_schema: Any) -> Any | None:
    """A value the property's schema rejects, preferring types no lax validator coerces."""
    for kind in WRONG_TYPE_ORDER:
        value = SAMPLE_BY_TYPE[kind]
        if not is_valid(value, property_schema):
            return value
    return None


def invalid_variants(schema: dict, valid: dict) -> Iterator[tuple[str, dict]]:
    """(what was broken, arguments) pairs derived from a valid object, each one checked to
    be invalid against `schema`: a required property of the wrong type, then left out."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    for name in [n for n in schema.get("required") or [] if isinstance(n, str)]:
        wrong = wrong_type_value(properties.get(name, {}))
        if wrong is not None:
            variant = {**valid, name: wrong}
            if not is_valid(variant, schema):
                yield f"required property {name!r} of the wrong type ({type(wrong).__name__})", variant
        missing = {k: v for k, v in valid.items() if k != name}
        if not is_valid(missing, schema):
            yield f"required property {name!r} left out", missing
