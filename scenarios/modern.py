"""The modern era (2026-07-28): stateless requests carrying `_meta`, server/discover,
resultType on every result, version errors, removed methods and caching hints.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
      https://modelcontextprotocol.io/specification/2026-07-28/basic (Messages, _meta)
      https://modelcontextprotocol.io/specification/2026-07-28/server/utilities/caching
"""

from conformance.scenarios.mrtr import modern_exchanges

from conformance import jsonrpc, ledger
from conformance.checks import expect, fail, info, modern_only, not_applicable, requirement, should
from conformance.discovery import declares
from conformance.jsonrpc import MISSING_REQUIRED_CLIENT_CAPABILITY, Kind
from conformance.schema import legacy_revisions
from conformance.session import META, is_input_required

NEVER_A_REVISION = "1999-01-01"
UNSUPPORTED_PROTOCOL_VERSION = -32022
CACHEABLE_LISTS = {"tools": "tools/list", "prompts": "prompts/list", "resources": "resources/list"}


def _cacheable_results(mcp) -> dict[str, dict]:
    """A result of every cacheable method the server declares (method -> result)."""
    results = {"server/discover": mcp.request("server/discover")}
    for capability, method in CACHEABLE_LISTS.items():
        if declares(mcp, capability) is not None:
            results[method] = mcp.request(method)
    if declares(mcp, "resources") is not None:
        results["resources/templates/list"] = mcp.request("resources/templates/list")
        listed = results["resources/list"].result or {}
        if listed.get("resources"):
            results["resources/read"] = mcp.request("resources/read", {"uri": listed["resources"][0]["uri"]})
    return {method: r.result for method, r in results.items() if r.kind is Kind.RESULT}


@requirement("2026-07-28/versioning-003", "2026-07-28/discover-001", "2026-07-28/schema-027")
def test_discover_result(mcp, revision):
    """server/discover answers with the versions the server supports (including this one)
    and its capabilities, both valid against the revision's DiscoverResult schema."""
    modern_only(revision)
    result = mcp.init_result or {}
    # This check owns these members' schema; resultType and caching hints are other checks'.
    violations = ledger.about_members(
        mcp.schema.validate(result, "DiscoverResult", "$.result"), ("supportedVersions", "capabilities")
    )
    if violations:
        fail(
            "the server/discover result breaks the schema:\n  " + "\n  ".join(map(str, violations)),
            ledger.schema_signatures(violations, "server/discover"),
        )
    versions = result.get("supportedVersions")
    expect(isinstance(versions, list) and versions, f"supportedVersions must list versions, got {versions!r}")
    expect(revision in versions, f"the server serves {revision} but supportedVersions is {versions}")
    expect(isinstance(result.get("capabilities"), dict), "capabilities must be an object")


@requirement("2026-07-28/basic-010", "2026-07-28/schema-015")
def test_result_type(mcp, revision):
    """Every result names its kind in `resultType` ("complete" for a finished request)."""
    modern_only(revision)
    for method, result in _cacheable_results(mcp).items():
        expect("resultType" in result, f"the {method} result has no resultType")
        expect(
            result["resultType"] == "complete",
            f"{method}: resultType {result['resultType']!r}, expected 'complete' for a finished request",
        )


@requirement("2026-07-28/versioning-001", "2026-07-28/schema-007")
def test_unsupported_version_error(mcp, revision):
    """A request for a version the server does not support gets error -32022 whose data
    lists the supported versions and echoes the requested one."""
    modern_only(revision)
    response = mcp.request("server/discover", {"_meta": {META + "protocolVersion": NEVER_A_REVISION}})
    expect(response.kind is Kind.ERROR, f"asked for {NEVER_A_REVISION}, the server answered a result")
    expect(
        response.error_code == UNSUPPORTED_PROTOCOL_VERSION,
        f"an unsupported version must get -32022, got {response.error_code!r}",
    )
    data = response.error.get("data") or {}
    expect(
        isinstance(data.get("supported"), list) and data["supported"],
        f"the error data must list the supported versions, got {data!r}",
    )
    expect(data.get("requested") == NEVER_A_REVISION, f"data.requested must echo {NEVER_A_REVISION!r}")


@requirement("2026-07-28/basic-054")
def test_missing_required_meta_rejected(mcp, revision):
    """A modern request whose `_meta` lacks a required field (clientCapabilities) is
    rejected with -32602."""
    modern_only(revision)
    response = mcp.request("server/discover", {"_meta": {META + "protocolVersion": revision}}, add_meta=False)
    expect(response.kind is Kind.ERROR, "a request without clientCapabilities in _meta was served")
    expect(response.error_code == jsonrpc.INVALID_PARAMS, f"expected -32602, got {response.error_code!r}")


@requirement("2026-07-28/basic-003")
def test_removed_methods_refused(mcp, revision):
    """Methods this revision removed (ping, logging/setLevel) are not served to a modern
    request; method-not-found (-32601) is the fitting answer."""
    modern_only(revision)
    for method, params in (("ping", None), ("logging/setLevel", {"level": "info"})):
        response = mcp.request(method, params)
        if should(response.kind is Kind.ERROR, f"{method} was served in {revision}, which removed it"):
            should(
                response.error_code == jsonrpc.METHOD_NOT_FOUND,
                f"{method}: -32601 fits a removed method, got {response.error_code!r}",
            )


@requirement("2026-07-28/basic-060", "2026-07-28/discover-003")
def test_server_identifies_itself(mcp, revision):
    """Results carry the server's name and version in `_meta` (serverInfo)."""
    modern_only(revision)
    for method, result in _cacheable_results(mcp).items():
        server_info = (result.get("_meta") or {}).get(META + "serverInfo")
        should(isinstance(server_info, dict), f"the {method} result has no serverInfo in _meta")


@requirement(
    "2026-07-28/caching-001",
    "2026-07-28/caching-002",
    "2026-07-28/caching-003",
    "2026-07-28/caching-004",
    "2026-07-28/caching-005",
    "2026-07-28/caching-006",
    "2026-07-28/caching-016",
)
def test_caching_hints(mcp, revision):
    """Complete results of discover, the list methods and resources/read carry caching
    hints: `ttlMs` (an integer, zero or more) and `cacheScope`."""
    modern_only(revision)
    for method, result in _cacheable_results(mcp).items():
        ttl = result.get("ttlMs")
        expect(ttl is not None, f"the {method} result has no ttlMs")
        expect(isinstance(ttl, int) and ttl >= 0, f"{method}: ttlMs must be an integer >= 0, got {ttl!r}")
        should("cacheScope" in result, f"the {method} result has no cacheScope")


@requirement("2026-07-28/versioning-010")
def test_initialize_names_supported_versions(mcp_target, mcp_connect, revision):
    """A modern-only server answers `initialize` with an error that names the versions it
    supports (legacy clients have no other way to learn them)."""
    modern_only(revision)
    if any(mcp_target.support(r).supported for r in legacy_revisions()):  # all, not only those tested
        not_applicable("the server also speaks the legacy era")
    session = mcp_connect(initialize=False)
    response = session.initialize("2025-11-25", send_initialized=False)
    if response.kind is Kind.RESULT:
        info("a modern-only server answered initialize with a result")
        return
    should(revision in response.text(), f"the initialize error does not name {revision}: {response.text()[:300]}")


def _capabilities_asked(made) -> dict[str, set[str]]:
    """tool name -> the client capabilities its InputRequiredResults asked for."""
    asked: dict[str, set[str]] = {}
    for one in made:
        for round_ in one.session.input_required:
            requests = round_.response.result.get("inputRequests")
            methods = {
                r.get("method")
                for r in (requests.values() if isinstance(requests, dict) else [])
                if isinstance(r, dict)
            }
            needs = {CAPABILITY_OF[m] for m in methods if m in CAPABILITY_OF}
            if round_.method == "tools/call" and needs:
                asked.setdefault(str(round_.params.get("name")), set()).update(needs)
    return asked


CAPABILITY_OF = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}


@requirement("2026-07-28/basic-058")
def test_missing_client_capability(mcp_target, revision):
    """A request the server cannot serve without a client capability the client did not
    declare gets error -32021 whose data.requiredCapabilities names what is missing. A tool
    that asked a declaring client for input should answer a client declaring nothing with
    -32021 (warning: the tool may also manage without)."""
    made = modern_exchanges(mcp_target, revision)
    refusals = [
        m
        for one in made
        for m in one.received()
        if m.kind is Kind.ERROR and m.error_code == MISSING_REQUIRED_CLIENT_CAPABILITY
    ]
    for error in refusals:
        data = error.error.get("data")
        required = data.get("requiredCapabilities") if isinstance(data, dict) else None
        expect(
            isinstance(required, dict) and required,
            f"error -32021 (id {error.id!r}) must name the missing capabilities in data.requiredCapabilities, "
            f"got data {str(data)[:200]}",
        )
    asked = _capabilities_asked(made)
    bare = next(one for one in made if one.profile == "none")
    answered = [
        c
        for c in bare.calls
        if c.name in asked
        and c.response is not None
        and c.response.kind is Kind.RESULT
        and not is_input_required(c.response)
    ]
    for call in answered:
        should(
            False,
            f"tool {call.name} asks for {sorted(asked[call.name])} when the client declares it, but a "
            "client declaring no capabilities got a result, not error -32021",
        )
    if not refusals and not answered:
        not_applicable("no request was refused with -32021 and no tool asked for input it could do without")
