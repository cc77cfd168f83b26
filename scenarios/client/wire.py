"""Base protocol rules for what the client itself writes, judged over every scenario: its
bytes are UTF-8, its `_meta` keys follow the key-name rules, and the extensions it declares
have well-formed ids.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic (Messages, _meta),
.../basic/transports, and https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
"""

from conformance.checks import expect, not_applicable, requirement
from conformance.jsonrpc import Kind
from conformance.session import META
from conformance.wire import extension_id_problem, meta_key_problem, metas


def every_run(mcp_client):
    """(scenario, record) of each scripted scenario (authorization ones aside)."""
    from conformance.peer import SCENARIOS

    return [(name, mcp_client.run(name)) for name in SCENARIOS]


def what(message) -> str:
    if message.method:
        return message.method
    return f"response to id {message.id!r}" if message.is_response else message.kind.value


@requirement("transports-001", "2026-07-28/transports-001")
def test_client_writes_utf8(mcp_client):
    """Every message the client writes (every line over stdio, every POST body over HTTP)
    is UTF-8 encoded."""
    bad = [
        f"scenario {name}: {what(i.message)}: {i.entry.format(200).strip()}"
        for name, record in every_run(mcp_client)
        for i in record.items
        if i.from_client and not i.utf8
    ]
    expect(not bad, "messages that are not UTF-8 (shown with replacement characters):\n  " + "\n  ".join(bad))


@requirement(
    "basic-026",
    "basic-027",
    "basic-029",
    "2026-07-28/basic-048",
    "2026-07-28/basic-049",
    "2026-07-28/basic-051",
    "2026-07-28/schema-002",
    "2026-07-28/schema-005",
)
def test_client_meta_keys_well_formed(mcp_client):
    """Every `_meta` key the client sends follows the key-name rules: an optional prefix of
    dot-separated labels (each starting with a letter, ending with a letter or digit, with
    hyphens inside) ending in a slash, then a name that, unless empty, starts and ends with
    a letter or digit."""
    problems, judged = [], 0
    for name, record in every_run(mcp_client):
        for message in record.from_client():
            if message.kind in (Kind.NOT_JSON, Kind.INVALID):
                continue
            for where, meta in metas(message.obj):
                for key in meta:
                    judged += 1
                    if problem := meta_key_problem(str(key)):
                        problems.append(f"scenario {name}: {what(message)}: _meta key {key!r} at {where}: {problem}")
    if not judged:
        not_applicable("the client sent no _meta keys in any scenario")
    expect(not problems, "\n".join(dict.fromkeys(problems)))


def declared_extensions(message) -> dict:
    """The extensions a client request declares: in initialize's capabilities, or in the
    modern era's per-request clientCapabilities."""
    params = message.params if isinstance(message.params, dict) else {}
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    found = {}
    for capabilities in (params.get("capabilities"), meta.get(META + "clientCapabilities")):
        extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
        found.update(extensions if isinstance(extensions, dict) else {})
    return found


@requirement("2026-07-28/versioning-005", "2026-07-28/schema-030")
def test_client_extension_ids_well_formed(mcp_client):
    """Each extension the client declares (the keys of its capabilities' `extensions`) has
    an id that follows the `_meta` key-name rules, with the prefix those rules make optional."""
    declared = {
        key
        for _, record in every_run(mcp_client)
        for message in record.client_requests()
        for key in declared_extensions(message)
    }
    if not declared:
        not_applicable("the client declared no extensions in any scenario")
    problems = [f"{key!r}: {why}" for key in sorted(declared) if (why := extension_id_problem(key))]
    expect(not problems, "extension ids break the naming rules: " + "; ".join(problems))
