"""Completion, in discovery mode: the arguments of the prompts the server lists and the
variables of its resource templates are completed, and the answers checked for size and
self-consistency.

The `completions` capability exists from 2025-03-26 on; 2024-11-05 has the method without
a capability, so there it is tried whenever the server has something to complete.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion
"""

from __future__ import annotations

import re

from conformance.checks import CheckFailed, expect, info, not_applicable, requirement, should
from conformance.discovery import declares, list_all
from conformance.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, Kind

CAPABILITY_SINCE = "2025-03-26"
MAX_VALUES = 100
MAX_REQUESTS = 10
UNKNOWN_PROMPT = "mcp_conformance_no_such_prompt"
TEMPLATE_VARIABLE = re.compile(r"\{[+#./;?&]?([A-Za-z0-9_]+)")  # RFC 6570: an operator, then a name


def require_completions(session, revision: str) -> None:
    if revision >= CAPABILITY_SINCE and declares(session, "completions") is None:
        not_applicable("the server does not declare the completions capability")


def prompt_targets(session) -> list[dict]:
    if declares(session, "prompts") is None:
        return []
    targets = []
    for prompt in list_all(session, "prompts/list", "prompts").items:
        arguments = prompt.get("arguments") if isinstance(prompt, dict) else None
        for argument in arguments if isinstance(arguments, list) else []:
            if isinstance(argument, dict) and isinstance(argument.get("name"), str):
                targets.append(
                    {
                        "ref": {"type": "ref/prompt", "name": prompt.get("name")},
                        "argument": {"name": argument["name"], "value": ""},
                    }
                )
    return targets


def template_targets(session) -> list[dict]:
    if declares(session, "resources") is None:
        return []
    try:
        templates = list_all(session, "resources/templates/list", "resourceTemplates").items
    except CheckFailed:
        return []  # a broken template list is for the resources checks to report
    targets = []
    for template in templates:
        if not isinstance(template, dict):
            continue
        variable = TEMPLATE_VARIABLE.search(str(template.get("uriTemplate", "")))
        if variable:
            targets.append(
                {
                    "ref": {"type": "ref/resource", "uri": template["uriTemplate"]},
                    "argument": {"name": variable[1], "value": ""},
                }
            )
    return targets


def describe(params: dict) -> str:
    ref = params["ref"]
    return f"{ref.get('name') or ref.get('uri')} / {params['argument']['name']}"


def complete(session, revision: str, params: dict):
    """The response to completion/complete; not applicable if 2024-11-05 lacks the method."""
    response = session.request("completion/complete", params)
    if response.error_code == METHOD_NOT_FOUND and revision < CAPABILITY_SINCE:
        not_applicable("completion/complete is not offered (-32601)")
    return response


def judge_completion(what: str, completion: dict) -> None:
    values = completion.get("values") if isinstance(completion.get("values"), list) else []
    total, has_more = completion.get("total"), completion.get("hasMore")
    expect(len(values) <= MAX_VALUES, f"{what}: {len(values)} values in one response (at most {MAX_VALUES})")
    if not isinstance(total, int):
        return
    should(total >= len(values), f"{what}: total {total} is less than the {len(values)} values sent")
    if has_more is False:
        should(
            total <= len(values), f"{what}: total {total} exceeds the {len(values)} values sent, yet hasMore is false"
        )
    if has_more is True:
        should(total != len(values), f"{what}: hasMore is true, yet total {total} equals the values sent")


@requirement("completion-001")
def test_completion_values_bounded(mcp, revision):
    """Completing each prompt argument and resource template variable (from an empty
    value) gives at most 100 values; `total`, when given, is not less than the number of
    values, and `hasMore` agrees with it. An error for one argument is only noted."""
    require_completions(mcp, revision)
    targets = (prompt_targets(mcp) + template_targets(mcp))[:MAX_REQUESTS]
    if not targets:
        not_applicable("the server lists no prompt argument or resource template variable to complete")
    for params in targets:
        response = complete(mcp, revision, params)
        if response.kind is Kind.ERROR:
            info(f"completing {describe(params)} got error {response.error_code}")
            continue
        completion = response.result.get("completion")
        if isinstance(completion, dict):
            judge_completion(describe(params), completion)


@requirement("completion-003")
def test_completion_unknown_prompt_rejected(mcp, revision):
    """Completion for a prompt name the server does not have should get error -32602
    (Invalid params). Another error code, or a result, is a warning."""
    require_completions(mcp, revision)
    response = complete(
        mcp,
        revision,
        {"ref": {"type": "ref/prompt", "name": UNKNOWN_PROMPT}, "argument": {"name": "argument", "value": ""}},
    )
    if response.kind is Kind.RESULT:
        should(False, f"completion for the unknown prompt {UNKNOWN_PROMPT!r} got a result")
        return
    should(
        response.error_code == INVALID_PARAMS,
        f"completion for an unknown prompt should get -32602, got {response.error_code!r}",
    )
