"""Tool schemas in the client's hands: a schema is validated by its declared dialect, so a
client holds all of it, and the JSON Schema 2020-12 keywords of a tool's inputSchema that
names that dialect survive the client's parsing. Scenario json-schema-2020-12-preservation
(the official one): the client calls json_schema_echo with the inputSchema it holds for
json_schema_2020_12_tool.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic#implementation-requirements
"""

import json

from conformance.checks import expect, not_applicable, requirement
from conformance.peer import RICH_SCHEMA, SCHEMA_ECHO_TOOL, SCHEMA_PRESERVATION

DIALECT_SINCE = "2025-11-25"  # the first revision naming JSON Schema 2020-12 the default dialect


@requirement("basic-021")
def test_tool_schema_keywords_kept(client_run):
    """The inputSchema the client sends back for json_schema_2020_12_tool holds every
    keyword of the one listed ($schema, $defs with its $anchor, additionalProperties,
    allOf/anyOf, if/then/else), unchanged; keywords it adds are its own business. Not
    applicable to a client that does not make the echo call (the official scenario's
    contract, not a spec rule)."""
    record = client_run(SCHEMA_PRESERVATION)
    record.require_session()
    if (record.answered or "") < DIALECT_SINCE:
        not_applicable(
            f"JSON Schema 2020-12 is the default dialect from {DIALECT_SINCE}; the session is in {record.answered}"
        )
    echo = next(
        (
            m
            for m in record.client_requests()
            if m.method == "tools/call" and isinstance(m.params, dict) and m.params.get("name") == SCHEMA_ECHO_TOOL
        ),
        None,
    )
    arguments = echo.params.get("arguments") if echo is not None else None
    schema = arguments.get("schema") if isinstance(arguments, dict) else None
    if not isinstance(schema, dict):
        not_applicable(
            f"the client made no {SCHEMA_ECHO_TOOL} call with a schema object (scenario "
            f"{SCHEMA_PRESERVATION}'s contract: echo the inputSchema of json_schema_2020_12_tool)"
        )
    changed = [key for key, value in RICH_SCHEMA.items() if schema.get(key) != value]
    expect(
        not changed,
        f"the inputSchema the client holds for json_schema_2020_12_tool lost or changed {changed}: "
        f"it sent back {json.dumps(schema)[:400]}",
    )
