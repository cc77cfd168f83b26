"""Schema validation of one decoded message, for either side of a connection (sans-IO),
and the `_meta` key-name rules the schema does not hold."""

from __future__ import annotations

import re
from typing import Any

from .jsonrpc import Kind, Message
from .schema import RevisionSchema, Violation, memo_digest

LABEL = r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
PREFIX = re.compile(rf"(?:{LABEL}\.)*{LABEL}/")
NAME = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?")


def _envelope_definition(schema: RevisionSchema, kind: Kind) -> str:
    names = {
        Kind.REQUEST: ["JSONRPCRequest"],
        Kind.NOTIFICATION: ["JSONRPCNotification"],
        Kind.RESULT: ["JSONRPCResultResponse", "JSONRPCResponse"],
        Kind.ERROR: ["JSONRPCErrorResponse", "JSONRPCError"],
    }[kind]
    return next(n for n in names if schema.has(n))


def supports_batches(schema: RevisionSchema) -> bool:
    message = schema.definitions.get("JSONRPCMessage", {})
    return any(alt.get("type") == "array" for alt in message.get("anyOf", []))


def validate(
    schema: RevisionSchema, message: Message, answers: str | None = None, as_task: bool = False
) -> list[Violation]:
    """Violations of `message` against `schema`.

    `answers` is the method of the request a response answers, so its result is checked
    against that method's result definition, not just the generic envelope; `as_task` says
    the request was task-augmented.
    """
    if message.kind in (Kind.NOT_JSON, Kind.INVALID):
        return [Violation("JSONRPCMessage", "$", "; ".join(message.problems) or "not a JSON-RPC message")]
    if message.kind is Kind.BATCH:
        return _validate_batch(schema, message)
    obj: Any = message.obj
    if message.kind is Kind.ERROR and obj.get("id", 0) is None:
        # JSON-RPC 2.0 answers a request whose id could not be read with id null, which no
        # MCP schema admits (2025-11-25 lets the id be omitted instead). Null is what
        # JSON-RPC requires there, so it is judged as if it were a valid id.
        obj = {**obj, "id": "null"}
    # JSON-decoded data (not built in Python): verdicts may be reused (RevisionSchema.validate).
    memo = memo_digest(_any_id(obj)) if message.raw else None
    violations = schema.validate(obj, _envelope_definition(schema, message.kind), memo=memo)
    if message.kind is Kind.REQUEST and message.method in schema.request_defs:
        violations += schema.validate(obj, schema.request_defs[message.method], memo=memo)
    elif message.kind is Kind.NOTIFICATION and message.method in schema.notification_defs:
        violations += schema.validate(obj, schema.notification_defs[message.method], memo=memo)
    elif message.kind is Kind.RESULT and answers is not None:
        violations += schema.validate(
            obj.get("result"), schema.result_definition(answers, as_task), "$.result", memo=memo
        )
    return _unique(violations)


def _any_id(obj: dict) -> dict:
    """`obj` with a string or integer id replaced by one of its type: the schemas constrain an
    id (RequestId) by its type alone, so the message is valid exactly when this one is."""
    request_id = obj.get("id")
    if isinstance(request_id, str):
        return {**obj, "id": ""}
    if isinstance(request_id, int) and not isinstance(request_id, bool):
        return {**obj, "id": 0}
    return obj


def _validate_batch(schema: RevisionSchema, message: Message) -> list[Violation]:
    if not supports_batches(schema):
        return [Violation("JSONRPCMessage", "$", f"revision {schema.revision} has no JSON-RPC batches")]
    return schema.validate(message.obj, "JSONRPCMessage")


def _unique(violations: list[Violation]) -> list[Violation]:
    return list(dict.fromkeys(violations))


def meta_key_problem(key: str) -> str | None:
    """Why `key` breaks the `_meta` key-name rules, or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not PREFIX.fullmatch(prefix + "/"):
        return (
            "its prefix must be dot-separated labels, each starting with a letter and ending with a letter "
            "or digit (hyphens inside), followed by one slash"
        )
    if not NAME.fullmatch(name):
        return "its name must start and end with a letter or digit (-, _ and . only inside)"
    return None


def metas(value, path: str = ""):
    """Every `_meta` object inside `value`, with where it is."""
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}/{key}"
            if key == "_meta" and isinstance(inner, dict):
                yield where, inner
            yield from metas(inner, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from metas(inner, f"{path}/{index}")


def extension_id_problem(key: str) -> str | None:
    """Why `key` is no extension id: the `_meta` key-name rules, with the prefix required."""
    return meta_key_problem(key) if "/" in key else "it has no prefix (dot-separated labels ending in a slash)"
