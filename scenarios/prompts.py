"""Prompts, in discovery mode: every prompt the server lists is fetched with its required
arguments filled in, and the error cases are tried on the prompts it has.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/prompts
"""

from __future__ import annotations

import base64
import binascii
import re

from conformance.checks import expect, fail, info, not_applicable, requirement, should
from conformance.discovery import declares, list_all
from conformance.jsonrpc import INVALID_PARAMS, Kind
from conformance.transport import TransportError

MAX_PROMPTS_FETCHED = 20
UNKNOWN_PROMPT = "mcp_conformance_no_such_prompt"
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")  # an absolute URI starts with its scheme


def listed_prompts(session) -> list[dict]:
    """Every prompt on every page; not applicable when prompts are not declared."""
    if declares(session, "prompts") is None:
        not_applicable("the server does not declare the prompts capability")
    return [
        prompt
        for prompt in list_all(session, "prompts/list", "prompts").items
        if isinstance(prompt, dict) and isinstance(prompt.get("name"), str)
    ]


def argument_names(prompt: dict, required_only: bool = False) -> list[str]:
    arguments = prompt.get("arguments") if isinstance(prompt.get("arguments"), list) else []
    return [
        a["name"]
        for a in arguments
        if isinstance(a, dict) and isinstance(a.get("name"), str) and (a.get("required") is True or not required_only)
    ]


def filled(names: list[str]) -> dict[str, str]:
    return {name: f"mcp-conformance-{name}" for name in names}


def get_prompt(session, name: str, arguments: dict | None):
    params: dict = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    return session.request("prompts/get", params)


# -- content -------------------------------------------------------------------------------
def is_base64(data) -> bool:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, TypeError, ValueError):
        return False
    return isinstance(data, str)


def content_problems(block) -> list[str]:
    """MUST-level problems of one content block: binary data that is not base64, an
    embedded resource without an absolute URI."""
    if not isinstance(block, dict):
        return []
    if block.get("type") in ("image", "audio") and not is_base64(block.get("data")):
        return [f"{block['type']} data is not base64: {str(block.get('data'))[:60]!r}"]
    resource = block.get("resource") if block.get("type") == "resource" else None
    if not isinstance(resource, dict):
        return []
    problems = []
    if not URI_SCHEME.match(str(resource.get("uri", ""))):
        problems.append(f"embedded resource URI {resource.get('uri')!r} is not an absolute URI")
    if "blob" in resource and not is_base64(resource["blob"]):
        problems.append(f"embedded resource {resource.get('uri')!r}: blob is not base64")
    return problems


def message_blocks(result) -> list[dict]:
    messages = result.get("messages") if isinstance(result, dict) else None
    return [m.get("content") for m in messages or [] if isinstance(m, dict) and isinstance(m.get("content"), dict)]


# -- checks --------------------------------------------------------------------------------
@requirement(
    "prompts-003",
    "prompts-004",
    "prompts-005",
    "prompts-006",
    "prompts-007",
    "2026-07-28/prompts-008",
    "2026-07-28/prompts-009",
    "2026-07-28/prompts-011",
    "2026-07-28/prompts-012",
    "2026-07-28/prompts-013",
)
def test_prompts_answer_get(mcp, revision):
    """Every listed prompt, fetched with its required arguments filled with strings, is
    answered. An error is only noted (the values are arbitrary); a result's images and
    audio are base64, and its embedded resources have an absolute URI and base64 blobs
    (and should name their MIME type)."""
    prompts = listed_prompts(mcp)
    if not prompts:
        not_applicable("the server lists no prompts")
    problems = []
    for prompt in prompts[:MAX_PROMPTS_FETCHED]:
        try:
            response = get_prompt(mcp, prompt["name"], filled(argument_names(prompt, required_only=True)))
        except TransportError as error:
            fail(f"prompts/get {prompt['name']!r}: {error.reason}")
        if response.kind is Kind.ERROR:
            info(f"prompts/get {prompt['name']!r} with its required arguments got error {response.error_code}")
            continue
        for block in message_blocks(response.result):
            problems += [f"{prompt['name']}: {p}" for p in content_problems(block)]
            resource = block.get("resource") if block.get("type") == "resource" else None
            should(
                not isinstance(resource, dict) or resource.get("mimeType"),
                f"{prompt['name']}: embedded resource {resource and resource.get('uri')!r} has no mimeType",
            )
    expect(not problems, "\n".join(problems))


@requirement("prompts-009", "prompts-011", "2026-07-28/prompts-015", "2026-07-28/prompts-017")
def test_prompt_missing_argument_rejected(mcp, revision):
    """prompts/get without a required argument should get error -32602 (Invalid params).
    Another error code, or a result, is a warning."""
    prompt = next((p for p in listed_prompts(mcp) if argument_names(p, required_only=True)), None)
    if prompt is None:
        not_applicable("no listed prompt has a required argument")
    left_out, *rest = argument_names(prompt, required_only=True)
    response = get_prompt(mcp, prompt["name"], filled(rest))
    if response.kind is Kind.RESULT:
        should(False, f"prompts/get {prompt['name']!r} without its required argument {left_out!r} got a result")
        return
    should(
        response.error_code == INVALID_PARAMS,
        f"a missing required argument should get -32602, got {response.error_code!r}",
    )


@requirement("prompts-008", "2026-07-28/prompts-014")
def test_unknown_prompt_rejected(mcp, revision):
    """prompts/get for a name the server does not list should get error -32602 (Invalid
    params). Another error code, or a result, is a warning."""
    listed_prompts(mcp)
    response = get_prompt(mcp, UNKNOWN_PROMPT, None)
    if response.kind is Kind.RESULT:
        should(False, f"prompts/get for the unknown prompt {UNKNOWN_PROMPT!r} got a result")
        return
    should(
        response.error_code == INVALID_PARAMS, f"an unknown prompt name should get -32602, got {response.error_code!r}"
    )
