"""Authorization (OAuth 2.1) from the client's side: the `auth/*` scenarios, each run once
against the suite's protected MCP server and authorization server
(conformance.auth.client_leg), under the official suite's scenario names and context.

Who judges what: `test_auth_flow_completes` owns "the client got a token and used it";
the other checks judge their own rule on what the client did, and skip when the client
did not get that far. A rule every flow must keep (PKCE, `resource`, the bearer on every
request...) is judged once over all the scenarios, naming each one that broke it, so one
defect is one failure. Each check names the scenarios it judges (`checks.scenarios`), so an
expected-failures file of the official suite (`client: [auth/scope-step-up]`) covers our
checks of those scenarios; the rules of every flow name none. A client that never starts
OAuth discovery after the 401 of auth/metadata-default has no authorization support (it is optional): every check then
skips with that reason.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization and
https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conformance.auth.client_leg import AS_ROOT, OIDC_ROOT, PRM_ROOT, SCENARIOS
from conformance.checks import blocked, expect, fail, info, not_applicable, requirement, scenarios, should

FIRST = "auth/metadata-default"
OWNER = "test_auth_flow_completes"
COMPLETE = [name for name, s in SCENARIOS.items() if s.expect == "complete"]
ALL = list(SCENARIOS)
# the flows with an authorization code; where the client must not authorize at all, what
# it sent is judged by that scenario's own check alone
CODE_FLOWS = [
    name
    for name in ALL
    if SCENARIOS[name].grant == "authorization_code" and SCENARIOS[name].expect != "no-authorization"
]
LEGACY = [name for name in ALL if SCENARIOS[name].legacy]  # 2025-03-26 servers
CIMD = [name for name in ALL if SCENARIOS[name].cimd]  # the AS takes client ID metadata documents
MIGRATION, REJECTED = "auth/authorization-server-migration", "auth/registration-rejected"
LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}


# -- reading a scenario's record ---------------------------------------------------------------
def requests(record, server: str, what: str | None = None) -> list[dict]:
    return [e for e in record.http_requests(server) if what is None or e.get("what") == what]


def authorizations(record) -> list[dict]:
    return requests(record, "authorization", "authorize")


def token_requests(record, grant: str | None = None) -> list[dict]:
    return [e for e in requests(record, "authorization", "token") if grant in (None, e.get("grant_type"))]


def called_tool(record) -> bool:
    return any(
        e.get("mcp") == "tools/call" and e.get("bearer") and e.get("status") == 0
        for e in requests(record, "resource", "mcp")
    )


def param(event: dict, name: str):
    return (event.get("params") or {}).get(name)


def runner(client_run, transport: str):
    """auth_run(scenario) -> its ClientRecord; skips when the client cannot be judged on OAuth."""

    def get(scenario: str):
        if transport != "http":
            not_applicable(f"authorization is defined for HTTP transports; the client speaks {transport}")
        if not client_run(FIRST).started_oauth():
            not_applicable(
                f"the client did not start OAuth discovery after the 401 in {FIRST} (authorization "
                "is optional for MCP clients; a client that supports it fetches the Protected "
                "Resource Metadata)"
            )
        return client_run(scenario)

    return get


@pytest.fixture
def auth_run(client_run, mcp_client):
    return runner(client_run, mcp_client.transport)


def require_authorization(record) -> None:
    """Blocked unless the client got as far as an authorization request."""
    if not authorizations(record):
        blocked(f"the client made no authorization request in {record.scenario}", OWNER)


def where_it_stopped(record) -> str:
    """The last step of the flow the client took, for a flow that did not complete."""
    steps = [
        ("a tool call with a valid token", called_tool(record)),
        ("a token request", bool(token_requests(record))),
        ("an authorization request", bool(authorizations(record))),
        ("authorization server metadata", bool(requests(record, "authorization", "metadata"))),
        ("Protected Resource Metadata", bool(requests(record, "resource", "protected-resource-metadata"))),
    ]
    done = next((name for name, happened in steps if happened), None)
    refused = [e for e in record.http_requests() if e.get("refused")]
    text = f"its last step was {done}" if done else "it fetched no metadata"
    if refused:
        last = refused[-1]
        text += f"; the last refusal: {last['method']} {last['path']} -> {last['status']} ({last['refused']})"
    return text


# -- the flow ---------------------------------------------------------------------------------
@requirement(
    "authorization-012",
    "authorization-024",
    "authorization-063",
    "authorization-064",
    "2026-07-28/authorization-012",
    "2026-07-28/authorization-014",
    "2026-07-28/authorization-030",
    "2026-07-28/authorization-server-discovery-008",
    "2026-07-28/authorization-042",
    "2026-07-28/authorization-043",
)
@pytest.mark.parametrize("scenario", COMPLETE)
@scenarios(param="scenario")
def test_auth_flow_completes(auth_run, scenario):
    """The client answers the 401 by discovering the authorization server, obtaining a
    token (authorization code with PKCE, or client credentials) and calling a tool with it
    in the Authorization header. Bounded by --mcp-client-timeout."""
    if scenario != FIRST and not called_tool(auth_run(FIRST)):
        blocked(f"the client completed no flow in {FIRST}, the plainest one", f"{OWNER}[{FIRST}]")
    record = auth_run(scenario)
    if not called_tool(record):
        fail(
            f"{SCENARIOS[scenario].summary}: the client never called a tool with a valid token; "
            f"{where_it_stopped(record)}\n{record.outcome.describe()}"
        )


# -- discovery ----------------------------------------------------------------------------------
PRM_SCENARIOS = ["auth/metadata-default", "auth/metadata-var1", "auth/metadata-var2", "auth/metadata-var3"]


@requirement(
    "authorization-012",
    "authorization-024",
    "2026-07-28/authorization-012",
    "2026-07-28/authorization-server-discovery-008",
)
@pytest.mark.parametrize("scenario", PRM_SCENARIOS)
@scenarios(param="scenario")
def test_auth_protected_resource_metadata_found(auth_run, scenario):
    """The client takes Protected Resource Metadata from the challenge's resource_metadata
    when it has one; otherwise it tries the path-based well-known URL, then the root one."""
    record = auth_run(scenario)
    fetched = [e["path"] for e in requests(record, "resource") if e.get("what") != "mcp"]
    if not fetched:
        blocked(f"the client fetched no metadata in {scenario}", OWNER)
    s, prm = SCENARIOS[scenario], urlsplit(record.oauth.get("prm_url") or "").path
    if s.prm_in_challenge:
        expect(
            fetched[0] == prm,
            f"the 401 named resource_metadata {prm}, yet the client first fetched {fetched[0]} (in order: {fetched})",
        )
    else:
        order = [PRM_ROOT + "/mcp", PRM_ROOT]
        tried = [p for p in fetched if p in order][: order.index(prm) + 1]
        expect(
            tried == order[: order.index(prm) + 1],
            f"with no resource_metadata in the challenge, the client should try {order[: order.index(prm) + 1]} "
            f"in that order; it fetched {fetched}",
        )


METADATA_SCENARIOS = [*PRM_SCENARIOS, "auth/metadata-var4"]


def metadata_order(issuer_path: str) -> list[str]:
    if issuer_path:
        return [AS_ROOT + issuer_path, OIDC_ROOT + issuer_path, issuer_path + OIDC_ROOT]
    return [AS_ROOT, OIDC_ROOT]


@requirement(
    "authorization-026",
    "authorization-027",
    "authorization-028",
    "authorization-029",
    "authorization-030",
    "authorization-031",
    *(f"2026-07-28/authorization-server-discovery-{n:03}" for n in range(9, 15)),
)
@pytest.mark.parametrize("scenario", METADATA_SCENARIOS)
@scenarios(param="scenario")
def test_auth_server_metadata_discovery_order(auth_run, scenario):
    """The client looks for authorization server metadata at the well-known URLs in the
    spec's order (path inserted first for an issuer with a path), stopping at the first
    that answers."""
    record = auth_run(scenario)
    s = SCENARIOS[scenario]
    fetched = [
        e["path"]
        for e in requests(record, "authorization")
        if e.get("what") in ("metadata", "not-found") and ".well-known" in e["path"]
    ]
    if not fetched:
        blocked(f"the client fetched no authorization server metadata in {scenario}", OWNER)
    order = metadata_order(s.as_prefix)
    expected = order[: order.index(s.as_metadata) + 1]
    distinct = [p for n, p in enumerate(fetched) if n == 0 or fetched[n - 1] != p]
    expect(
        distinct[: len(expected)] == expected,
        f"issuer {record.oauth.get('issuer')}: the well-known URLs to try in order are {expected} "
        f"(metadata is at the last); the client fetched {distinct}",
    )


@requirement("2026-07-28/authorization-server-discovery-017")
@scenarios("auth/metadata-issuer-mismatch")
def test_auth_metadata_issuer_checked(auth_run):
    """Authorization server metadata whose `issuer` is not the issuer it was fetched for is
    refused: no authorization request follows."""
    record = auth_run("auth/metadata-issuer-mismatch")
    if not requests(record, "authorization", "metadata"):
        blocked("the client fetched no authorization server metadata in auth/metadata-issuer-mismatch", OWNER)
    expect(
        not authorizations(record),
        "the metadata's issuer was https://evil.example.com, not the issuer "
        f"{record.oauth.get('issuer')}; the client still sent an authorization request",
    )


@requirement("authorization-057", "2026-07-28/authorization-036")
@scenarios("auth/resource-mismatch")
def test_auth_resource_mismatch_refused(auth_run):
    """Protected Resource Metadata naming another server as its `resource` is refused: a
    token for that resource is not the MCP server's, so no authorization request follows."""
    record = auth_run("auth/resource-mismatch")
    if not requests(record, "resource", "protected-resource-metadata"):
        blocked("the client fetched no Protected Resource Metadata in auth/resource-mismatch", OWNER)
    expect(
        not authorizations(record),
        f"the metadata named resource https://evil.example.com/mcp for the server "
        f"{record.oauth.get('mcp_url')}; the client still sent an authorization request",
    )


# -- rules of every flow --------------------------------------------------------------------------
def over(auth_run, scenarios, judge) -> list[str]:
    """`judge(record)` -> problems, over every scenario; each problem prefixed with its scenario."""
    return [f"{name}: {problem}" for name in scenarios for problem in judge(auth_run(name))]


def pkce_problems(record) -> list[str]:
    problems = [
        f"authorization request #{a['attempt']}: "
        + (
            "no code_challenge"
            if not param(a, "code_challenge")
            else f"code_challenge_method {param(a, 'code_challenge_method')!r}"
        )
        for a in authorizations(record)
        if not param(a, "code_challenge") or param(a, "code_challenge_method") != "S256"
    ]
    problems += [
        f"token request: code_verifier {t['pkce']}"
        for t in token_requests(record, "authorization_code")
        if t.get("pkce") != "match"
    ]
    return problems


@requirement(
    "authorization-095",
    "authorization-096",
    "2026-07-28/security-considerations-011",
    "2026-07-28/security-considerations-012",
)
def test_auth_pkce_s256(auth_run):
    """Every authorization request carries an S256 code_challenge, and the token request
    the code_verifier that matches it."""
    problems = over(auth_run, CODE_FLOWS, pkce_problems)
    if not any(authorizations(auth_run(name)) for name in CODE_FLOWS):
        blocked("the client made no authorization request in any scenario", OWNER)
    expect(not problems, "PKCE not done with S256:\n  " + "\n  ".join(problems))


@requirement(
    "authorization-097",
    "authorization-098",
    "authorization-099",
    "authorization-100",
    *(f"2026-07-28/security-considerations-{n:03}" for n in range(13, 17)),
)
@scenarios("auth/pkce-not-advertised", "auth/oidc-pkce-not-advertised")
def test_auth_refuses_without_pkce_support(auth_run):
    """Metadata without code_challenge_methods_supported (RFC 8414 or OpenID) means PKCE
    support is unknown: the client refuses to go on, so no authorization request follows."""
    scenarios = ["auth/pkce-not-advertised", "auth/oidc-pkce-not-advertised"]
    records = [auth_run(name) for name in scenarios]
    if not any(requests(record, "authorization", "metadata") for record in records):
        blocked("the client fetched no authorization server metadata in " + " or ".join(scenarios), OWNER)
    went_on = [record.scenario for record in records if authorizations(record)]
    expect(
        not went_on,
        "the authorization server metadata has no code_challenge_methods_supported; the client "
        f"still sent an authorization request in {', '.join(went_on)}",
    )


def resource_problems(record) -> list[str]:
    resource = record.oauth.get("resource")
    problems, warnings = [], []
    sent = [("authorization request", a) for a in authorizations(record)] + [
        ("token request", t) for t in token_requests(record) if t.get("grant_type") != "refresh_token"
    ]
    for what, event in sent:
        value = param(event, "resource")
        if value is None:
            problems.append(f"{what}: no resource parameter")
        elif value == resource or (
            isinstance(value, str)
            and value.lower() == resource.lower()
            and record.scenario == "auth/resource-uppercase"
        ):
            continue
        elif value == resource + "/":
            warnings.append(f"{what}: resource {value!r} has a trailing slash the metadata's {resource!r} lacks")
        else:
            problems.append(f"{what}: resource {value!r}, not the metadata's {resource!r}")
    return problems + [f"(should) {w}" for w in warnings]


@requirement(
    "authorization-055",
    "authorization-056",
    "authorization-058",
    "authorization-061",
    "authorization-062",
    "authorization-087",
    "authorization-123",
    "2026-07-28/authorization-034",
    "2026-07-28/authorization-035",
    "2026-07-28/authorization-037",
    "2026-07-28/authorization-040",
    "2026-07-28/authorization-041",
    "2026-07-28/security-considerations-003",
    "2026-07-28/security-considerations-035",
)
def test_auth_resource_parameter(auth_run):
    """Authorization and token requests carry `resource`: the Protected Resource Metadata's
    `resource`, exactly (a trailing slash it lacks is a warning)."""
    # (2025-03-26 had no resource indicators: its servers are left out)
    scenarios = [
        n
        for n in ALL
        if SCENARIOS[n].expect != "no-authorization" and n != "auth/resource-mismatch" and n not in LEGACY
    ]
    found = over(auth_run, scenarios, resource_problems)
    if not any(authorizations(auth_run(n)) or token_requests(auth_run(n)) for n in scenarios):
        blocked("the client made no authorization or token request in any scenario", OWNER)
    problems = [p for p in found if "(should)" not in p]
    expect(not problems, "resource parameter missing or not the server's:\n  " + "\n  ".join(problems))
    should(not found, "resource parameter not in the metadata's form:\n  " + "\n  ".join(found))


def bearer_problems(record) -> list[str]:
    tokens = token_requests(record)
    names = {e["issued"] for e in tokens if e.get("issued")}
    mcp = requests(record, "resource", "mcp")
    problems = [
        f"{e['method']} {e['path']} carries the token in the query string" for e in mcp if e.get("token_in_query")
    ]
    problems += [
        f"{e['method']} {e['path']} carries a bearer token the server's authorization server never issued"
        for e in mcp
        if e.get("bearer") and e["bearer"] not in names
    ]
    problems += [
        f"{e['method']} {e['path']}" + (f" ({e['mcp']})" if e.get("mcp") else "") + " without a bearer token"
        for e in holding_a_token(mcp, tokens)
        if not e.get("bearer") and not e.get("token_in_query")
    ]
    return problems


def holding_a_token(mcp: list[dict], tokens: list[dict]) -> list[dict]:
    """The requests to the MCP server made while the client held a token it had no reason
    to think dead: from its first token on, except after a refusal of its token (401) or of
    a token request (a client may drop its tokens when a renewal is refused) until the next
    token issued: a client renewing or starting over may ask without one meanwhile."""
    timeline = sorted(
        [(e["t"], "token", e) for e in tokens] + [(e["t"], "mcp", e) for e in mcp], key=lambda item: item[0]
    )
    held, holding = [], False
    for _, kind, event in timeline:
        if kind == "token" and event.get("issued"):
            holding = True
        elif kind == "token":
            holding = holding and event.get("status", 0) < 400
        elif holding and event.get("status") == 401 and event.get("bearer"):
            holding = False
        elif holding:
            held.append(event)
    return held


@requirement(
    "authorization-064",
    "authorization-065",
    "authorization-066",
    "authorization-071",
    "2026-07-28/authorization-043",
    "2026-07-28/authorization-044",
    "2026-07-28/authorization-045",
    "2026-07-28/authorization-050",
)
def test_auth_bearer_on_every_request(auth_run):
    """Once it has a token, the client sends it in the Authorization header on every HTTP
    request to the MCP server (POST, GET stream, DELETE), never in the URL, and sends no
    token the server's authorization server did not issue. (A request sent while it renews
    a token the server refused with 401, or after the authorization server refused a token
    request, is not counted: under load the TypeScript SDK refreshes twice with one rotating
    refresh token, drops its tokens when the second is refused, and starts over.)"""
    flows = [n for n in ALL if SCENARIOS[n].expect != "no-authorization"]
    if not any(token_requests(auth_run(n)) for n in flows):
        blocked("the client obtained no token in any scenario", OWNER)
    problems = over(auth_run, flows, bearer_problems)
    expect(
        not problems,
        "requests to the MCP server without the token in the Authorization header:\n  " + "\n  ".join(problems),
    )


def redirect_problems(record) -> list[str]:
    uris = [("authorization request", param(a, "redirect_uri")) for a in authorizations(record)]
    uris += [
        ("registration", u)
        for r in requests(record, "authorization", "register")
        for u in (r.get("registration") or {}).get("redirect_uris") or []
    ]
    problems = []
    for what, uri in uris:
        parts = urlsplit(uri or "")
        if not (parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOOPBACK)):
            problems.append(f"{what}: redirect URI {uri!r}")
    return problems


@requirement("authorization-094", "2026-07-28/security-considerations-010")
def test_auth_redirect_uri_loopback_or_https(auth_run):
    """Redirect URIs, registered or sent, are loopback (http://localhost, 127.0.0.1, [::1])
    or https."""
    if not any(authorizations(auth_run(n)) for n in CODE_FLOWS):
        blocked("the client made no authorization request in any scenario", OWNER)
    problems = sorted(set(over(auth_run, CODE_FLOWS, redirect_problems)))
    expect(not problems, "redirect URIs neither loopback nor https:\n  " + "\n  ".join(problems))


# -- scopes -----------------------------------------------------------------------------------------
def first_scope(record) -> set[str] | None:
    found = authorizations(record) or token_requests(record)
    if not found:
        blocked(f"the client made no authorization request in {record.scenario}", OWNER)
    return set((param(found[0], "scope") or "").split()) if param(found[0], "scope") is not None else None


@requirement("authorization-022", "authorization-053", "2026-07-28/authorization-018", "2026-07-28/authorization-022")
@scenarios("auth/scope-from-www-authenticate")
def test_auth_scope_from_challenge(auth_run):
    """The client asks for the scope the 401 challenge names (not the metadata's list)."""
    scope = first_scope(auth_run("auth/scope-from-www-authenticate"))
    should(scope and "mcp:read" in scope, f"the challenge named scope mcp:read; the client asked for {scope}")


@requirement("authorization-025")
@scenarios("auth/scope-from-scopes-supported", "auth/scope-omitted-when-undefined")
def test_auth_scope_fallbacks(auth_run):
    """With no scope in the challenge the client asks for the metadata's scopes_supported;
    with neither, it sends no scope parameter."""
    supported = first_scope(auth_run("auth/scope-from-scopes-supported"))
    should(
        supported and {"mcp:basic", "mcp:read", "mcp:write"} <= supported,
        f"no scope in the challenge, scopes_supported mcp:basic mcp:read mcp:write; the client asked for {supported}",
    )
    none = first_scope(auth_run("auth/scope-omitted-when-undefined"))
    should(none is None, f"no scope in the challenge nor in the metadata; the client still asked for {none}")


@requirement("authorization-082", "2026-07-28/authorization-019", "2026-07-28/authorization-067")
@scenarios("auth/scope-step-up")
def test_auth_step_up(auth_run):
    """A 403 insufficient_scope naming more scope leads to a new authorization asking for
    it, together with the scope asked for before."""
    record = auth_run("auth/scope-step-up")
    asked = authorizations(record)
    if len(asked) < 1:
        blocked("the client made no authorization request in auth/scope-step-up", OWNER)
    refused = [e for e in requests(record, "resource", "mcp") if e.get("status") == 403]
    if not refused:
        blocked("the client never met the 403 (it called no tool with its first token)", OWNER)
    if not should(
        len(asked) >= 2,
        "the tool call was refused 403 insufficient_scope (scope mcp:write); the "
        "client did not authorize again" + refreshed_instead(record),
    ):
        return
    second = set((param(asked[1], "scope") or "").split())
    should("mcp:write" in second, f"the step-up asked for {sorted(second)}, not the challenged mcp:write")
    should("mcp:basic" in second, f"the step-up asked for {sorted(second)}, dropping mcp:basic granted before")


def refreshed_instead(record) -> str:
    refreshed = token_requests(record, "refresh_token")
    return f" (it used its refresh token {len(refreshed)} time(s), which cannot add scope)" if refreshed else ""


@requirement("authorization-085", "2026-07-28/authorization-071")
@scenarios("auth/scope-retry-limit")
def test_auth_retry_limit(auth_run):
    """A server that refuses every token with 403 is not sent back to the authorization
    server without end: at most 3 authorization attempts."""
    record = auth_run("auth/scope-retry-limit")
    asked = authorizations(record)
    if not asked:
        blocked("the client made no authorization request in auth/scope-retry-limit", OWNER)
    should(len(asked) <= 3, f"every request was refused 403; the client authorized {len(asked)} times")


# -- the authorization response ----------------------------------------------------------------------
@requirement("authorization-104", "2026-07-28/security-considerations-020")
@scenarios("auth/state-mismatch")
def test_auth_state_checked(auth_run):
    """A redirect whose `state` is not the one sent is dropped: the code is not redeemed."""
    record = auth_run("auth/state-mismatch")
    require_authorization(record)
    should(
        not token_requests(record, "authorization_code"),
        "the redirect carried another state than the client sent; the client still redeemed the code",
    )


ISS = {
    "auth/iss-supported-missing": "iss was advertised but is missing",
    "auth/iss-wrong-issuer": "iss names https://evil.example.com",
    "auth/iss-unexpected": "iss was not advertised, yet names another issuer",
    "auth/iss-normalized": "iss is the issuer with a trailing slash",
}


@requirement(
    "2026-07-28/authorization-027",
    "2026-07-28/authorization-028",
    "2026-07-28/authorization-029",
    "2026-07-28/authorization-032",
)
@scenarios(*ISS)
def test_auth_iss_checked(auth_run):
    """RFC 9207: the redirect's `iss` is compared with the issuer by simple string
    comparison (and required when advertised); on a mismatch the code is not redeemed."""
    records = [auth_run(name) for name in ISS]
    if not any(authorizations(record) for record in records):
        blocked("the client made no authorization request in any auth/iss-* scenario", OWNER)
    redeemed = [
        f"{record.scenario}: {ISS[record.scenario]} (issuer {record.oauth.get('issuer')})"
        for record in records
        if token_requests(record, "authorization_code")
    ]
    expect(not redeemed, "the client redeemed the code of a redirect it must refuse:\n  " + "\n  ".join(redeemed))


# -- client registration --------------------------------------------------------------------------------
@requirement(
    "authorization-033",
    "authorization-039",
    "authorization-049",
    "2026-07-28/client-registration-002",
    "2026-07-28/client-registration-008",
    "2026-07-28/client-registration-018",
)
@scenarios("auth/basic-cimd")
def test_auth_prefers_client_metadata_document(auth_run):
    """When the authorization server supports client ID metadata documents, the client uses
    an https URL with a path as its client_id instead of registering."""
    record = auth_run("auth/basic-cimd")
    asked = authorizations(record)
    require_authorization(record)
    client_id = param(asked[0], "client_id") or ""
    parts = urlsplit(client_id)
    if client_id.startswith("https://"):
        expect(parts.path not in ("", "/"), f"the client_id URL {client_id!r} has no path")
        return
    should(
        False,
        f"the authorization server supports client ID metadata documents; the client used client_id "
        f"{client_id!r}" + (" after registering" if requests(record, "authorization", "register") else ""),
    )


def registration_problems(record) -> list[str]:
    problems = []
    for r in requests(record, "authorization", "register"):
        shown = r.get("registration") or {}
        if shown.get("application_type") not in ("native", "web"):
            problems.append(f"application_type {shown.get('application_type')!r}")
    return problems


@requirement("2026-07-28/client-registration-021")
def test_auth_registration_application_type(auth_run):
    """Dynamic registration names an application_type (native or web)."""
    if not any(requests(auth_run(n), "authorization", "register") for n in CODE_FLOWS):
        not_applicable("the client registered dynamically in no scenario")
    problems = sorted(set(over(auth_run, CODE_FLOWS, registration_problems)))
    expect(not problems, "registrations without a fitting application_type:\n  " + "\n  ".join(problems))


def documents(record) -> list[dict]:
    """The client ID metadata documents the authorization server fetched, as it found them."""
    return [a["client_metadata"] for a in authorizations(record) if (a.get("client_metadata") or {}).get("fetched")]


@requirement("2026-07-28/authorization-054")
def test_auth_registration_asks_for_refresh_tokens(auth_run):
    """The client's metadata, registered or in its client ID metadata document, lists
    refresh_token among its grant_types."""
    metadata = [
        ("registration", (r.get("registration") or {}).get("grant_types"))
        for n in CODE_FLOWS
        for r in requests(auth_run(n), "authorization", "register")
    ]
    metadata += [
        ("client ID metadata document", d.get("grant_types")) for n in CODE_FLOWS for d in documents(auth_run(n))
    ]
    if not metadata:
        not_applicable("the client registered dynamically in no scenario, and served no client ID metadata document")
    lacking = [(what, grants) for what, grants in metadata if "refresh_token" not in (grants or [])]
    should(
        not lacking,
        f"{len(lacking)} of {len(metadata)} client metadata do not list refresh_token in "
        f"grant_types (e.g. the {lacking[0][0] if lacking else ''} with {lacking[0][1] if lacking else ''})",
    )


@requirement("authorization-040", "2026-07-28/client-registration-009")
def test_auth_client_metadata_document(auth_run):
    """A client ID metadata document the client's URL serves is JSON naming that URL as
    its client_id, a client_name and the redirect_uris its authorization requests use.
    (The official suite's fixed URL is never fetched; a client using it is not judged.)"""
    fetched = [(n, d) for n in CIMD for d in documents(auth_run(n))]
    if not fetched:
        not_applicable("no client ID metadata document was fetched: the client used none at a URL that answers")
    problems = sorted({f"{n}: {p}" for n, d in fetched for p in d["problems"]})
    expect(
        not problems,
        "the client ID metadata document is not one an authorization server can use:\n  " + "\n  ".join(problems),
    )


@requirement("2026-07-28/authorization-055")
@scenarios("auth/offline-access-scope", "auth/offline-access-not-supported")
def test_auth_offline_access_only_where_listed(auth_run):
    """The client asks for offline_access only where the authorization server metadata
    lists it in scopes_supported (where it does, asking is a MAY, reported)."""
    refused = auth_run("auth/offline-access-not-supported")
    asked = authorizations(refused) + token_requests(refused, "authorization_code")
    if not asked:
        blocked("the client made no authorization request in auth/offline-access-not-supported", OWNER)
    offered = [
        a
        for a in authorizations(auth_run("auth/offline-access-scope"))
        if "offline_access" in (param(a, "scope") or "").split()
    ]
    info(
        "where the authorization server lists offline_access, the client "
        + ("asked for it" if offered else "did not ask for it")
    )
    unlisted = [
        f"{e['what']} request: scope {param(e, 'scope')!r}"
        for e in asked
        if "offline_access" in (param(e, "scope") or "").split()
    ]
    should(
        not unlisted,
        "the authorization server's scopes_supported (mcp:basic mcp:read) has no offline_access; "
        "the client asked for it:\n  " + "\n  ".join(unlisted),
    )


# -- 2025-03-26 servers --------------------------------------------------------------------------------
DEFAULT_ENDPOINTS = ("/authorize", "/token", "/register")


@requirement("schema-010")
@pytest.mark.parametrize("scenario", LEGACY)
@scenarios(param="scenario")
def test_auth_2025_03_26_server(auth_run, scenario):
    """A 2025-03-26 server has no Protected Resource Metadata: its origin is the
    authorization base URL, whose RFC 8414 metadata names the endpoints; only without it
    are /authorize, /token and /register there the defaults (2025-03-26 authorization,
    "Server Metadata Discovery" and "Fallbacks for Servers without Metadata Discovery").
    Supporting older revisions is optional: a client that does not complete the flow is
    reported, one that uses the defaults where the metadata names other endpoints fails."""
    record = auth_run(scenario)
    defaults = sorted({e["path"] for e in requests(record, "resource", "not-found") if e["path"] in DEFAULT_ENDPOINTS})
    if requests(record, "authorization", "metadata"):
        expect(
            not defaults,
            "the authorization server metadata at the server's origin names its endpoints under "
            f"/oauth; the client went to the default {defaults} instead",
        )
    if not called_tool(record):
        info(f"{SCENARIOS[scenario].summary}: the client did not complete the flow; {where_it_stopped(record)}")


# -- a change of authorization server, a refused registration ------------------------------------------
def client_ids(events: list[dict]) -> set[str]:
    """The client_ids registered at, or presented to, an authorization server."""
    found = {e["client_id"] for e in events if e.get("client_id") and e.get("what") in ("register", "token")}
    return found | {param(e, "client_id") for e in events if param(e, "client_id")}


@requirement(
    "2026-07-28/authorization-server-discovery-003",
    "2026-07-28/client-registration-027",
    "2026-07-28/client-registration-028",
    "2026-07-28/client-registration-029",
)
@scenarios(MIGRATION)
def test_auth_new_authorization_server_new_registration(auth_run):
    """When the Protected Resource Metadata names another authorization server, the client
    registers there and presents none of the first server's client credentials to it."""
    record = auth_run(MIGRATION)
    if not any(e.get("event") == "oauth-migrated" for e in record.events):
        if not called_tool(auth_run(FIRST)):
            blocked(f"the client completed no flow in {FIRST}, the plainest one", f"{OWNER}[{FIRST}]")
        fail(
            f"the client made no authorized request past initialize with the first authorization server; "
            f"{where_it_stopped(record)}"
        )
    at = {n: [e for e in requests(record, "authorization") if e.get("authorization_server") == n] for n in (1, 2)}
    reused = sorted(client_ids(at[1]) & client_ids(at[2]))
    expect(not reused, f"the client presented the first authorization server's client_id {reused} to the second one")
    expect(
        not any(e.get("refresh_token_of") for e in at[2]),
        "the client presented the first authorization server's refresh token to the second one",
    )
    if not at[2]:
        should(
            False,
            "after the resource moved to a new authorization server (its token refused with 401, the "
            "metadata naming the new issuer), the client never turned to it; "
            f"{where_it_stopped(record)}",
        )
        return
    registered = [e for e in at[2] if e.get("what") == "register" and e.get("status") == 201]
    expect(
        registered,
        f"the client turned to the new authorization server without registering there; {where_it_stopped(record)}",
    )


@requirement("2026-07-28/client-registration-024", "2026-07-28/client-registration-026")
@scenarios(REJECTED)
def test_auth_registration_refusal_handled(auth_run):
    """A registration refused with 400 invalid_redirect_uri ends the attempt, or leads to a
    new registration (a MAY): the client never authorizes with a client_id it was not
    issued, and does not hang."""
    record = auth_run(REJECTED)
    registrations = requests(record, "authorization", "register")
    if not registrations:
        not_applicable(f"the client did not register dynamically in {REJECTED}")
    issued = {e["client_id"] for e in registrations if e.get("client_id")}
    unissued = sorted({param(a, "client_id") for a in authorizations(record)} - issued)
    expect(
        not unissued,
        f"its registration refused, the client authorized with client_id {unissued}, which the "
        "authorization server never issued",
    )
    expect(
        not record.outcome.timed_out or issued,
        "its registration refused, the client neither gave up nor "
        "registered again: still running when the timeout ended it",
    )
    info("the client registered again" if len(registrations) > 1 else "the client gave up after the refusal")


def icon_fetches(record) -> list[dict]:
    return requests(record, "resource", "icon")


@requirement("basic-041", "2026-07-28/basic-074")
def test_auth_icons_fetched_without_credentials(auth_run):
    """Icons are fetched without cookies or the Authorization header, even from the
    server the client holds a token for."""
    if not any(icon_fetches(auth_run(n)) for n in ALL):
        not_applicable("the client fetched no tool icon in any scenario")
    problems = over(
        auth_run,
        ALL,
        lambda record: [
            f"GET {e['path']} with "
            + " and ".join(
                w
                for w, sent in (("an Authorization header", e.get("authorization")), ("cookies", e.get("cookie")))
                if sent
            )
            for e in icon_fetches(record)
            if e.get("authorization") or e.get("cookie")
        ],
    )
    expect(not problems, "icons fetched with credentials:\n  " + "\n  ".join(problems))
