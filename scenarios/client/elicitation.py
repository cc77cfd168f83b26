"""Elicitation forms from the client's side: the defaults a form's schema gives. Scenario
elicitation-defaults (the official elicitation-sep1034-client-defaults): the client's tool
call brings a form whose five fields (string, integer, number, enum, boolean) all have a
default and none is required.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/client/elicitation#requested-schema
"""

from conformance import jsonrpc
from conformance.checks import info, not_applicable, requirement, should
from conformance.peer import DEFAULTS_SCHEMA, ELICITATION_DEFAULTS

DEFAULTS = {name: field["default"] for name, field in DEFAULTS_SCHEMA["properties"].items()}


@requirement("elicitation-016")
def test_elicitation_defaults_prefilled(client_run):
    """A client that pre-fills forms with their defaults does so for every field: in the
    accepted answer, a field the client left out although it filled others from their
    defaults warns. A client that fills none does not support defaults (allowed: the rule
    binds those that do); values other than the defaults are the user's (noted)."""
    record = client_run(ELICITATION_DEFAULTS)
    record.require_session()
    form = next(
        (i.message for i in record.items if not i.from_client and i.message.method == "elicitation/create"), None
    )
    if form is None:
        not_applicable(
            "the suite's server asked for no form: the client called no tool, or declares no form elicitation"
        )
    answer = next(
        (
            i.message
            for i in record.items
            if i.from_client and i.message.is_response and jsonrpc.same_id(i.message.id, form.id)
        ),
        None,
    )
    result = answer.result if answer is not None and isinstance(answer.result, dict) else {}
    if result.get("action") != "accept" or not isinstance(result.get("content"), dict):
        not_applicable(f"the client did not accept the form (action {result.get('action')!r}): nothing filled in")
    content = result["content"]
    filled = sorted(name for name, value in DEFAULTS.items() if content.get(name) == value)
    if not filled:
        not_applicable(
            f"the client filled no field with its default (content {content}): it does not pre-fill "
            "forms, which only clients supporting defaults should"
        )
    missing = sorted(name for name in DEFAULTS if name not in content)
    should(
        not missing,
        f"the client pre-filled {filled} with their defaults but left out {missing}, whose "
        f"defaults are {[DEFAULTS[name] for name in missing]}",
    )
    changed = {name: content[name] for name in DEFAULTS if name in content and content[name] != DEFAULTS[name]}
    if changed:
        info(f"fields answered with other values than their defaults (the user's choice): {changed}")
