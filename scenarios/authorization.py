"""Authorization: the MCP server as an OAuth 2.1 resource server (Streamable HTTP).

A protected server refuses requests that carry no valid access token, tells clients where
its Protected Resource Metadata (RFC 9728) is, and names its authorization servers there.
The checks that need no token judge what any client sees: the refusal, its challenge, the
metadata. The others need tokens the server trusts: the suite mints them with its own
authorization server (conformance.auth.server, started when the server command holds
`{issuer}`), valid or broken on purpose; a few make do with a token the user gives
(--mcp-auth-token). A check that refuses a broken token is void unless a valid token is
accepted: each of those first asks test_auth_valid_token_accepted's outcome (the positive
control) and ends BLOCKED when it failed.

Every check speaks raw HTTP on a connection of its own (`Target.http_session`), with
exactly the Authorization header it means to send; every exchange is in its transcript.
They apply only to Streamable HTTP, to the revisions with resource-server authorization
(2025-06-18 on) and to a server that claims protection (it answered an unauthenticated
request with 401, or publishes resource metadata).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
      https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
      https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/authorization-server-discovery
      https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/security-considerations
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conformance import jsonrpc
from conformance.auth.challenge import Challenge, MalformedChallenge, bearer, parse_challenges
from conformance.auth.setup import absolute_http_url, fetch_json, metadata_places
from conformance.auth.tokens import DEFAULT_SUBJECT, OTHER_SUBJECT
from conformance.checks import Blocked, blocked, expect, fail, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind

AUTH_REVISIONS = ("2025-06-18", "2025-11-25", "2026-07-28")  # resource-server authorization with RFC 9728
MODERN = "2026-07-28"
GARBAGE = "not-a-valid-token"
OFFLINE_ACCESS = "offline_access"
SESSION_HEADER = "Mcp-Session-Id"

# The checks that own the rules the others stand on.
VALID_CHECK = "test_auth_valid_token_accepted"
UNAUTHENTICATED_CHECK = "test_auth_unauthenticated_refused"
CHALLENGE_CHECK = "test_auth_challenge_is_bearer"
DISCOVERY_CHECK = "test_auth_resource_metadata_discoverable"
METADATA_CHECK = "test_auth_protected_resource_metadata"
INVALID_CHECK = "test_auth_invalid_token_refused"
SCOPE_CHECK = "test_auth_insufficient_scope"


# -- pure helpers (tests/test_authorization_checks.py) -----------------------------------------
def resource_matches(resource, endpoint: str) -> bool:
    """Whether the metadata's `resource` names the endpoint: identical strings (RFC 9728
    §3.3), except that at the root path "" and "/" are the same URL (RFC 3986 §6.2.3)."""
    if not isinstance(resource, str):
        return False
    if resource == endpoint:
        return True
    a, b = urlsplit(resource), urlsplit(endpoint)
    return (
        a.path in ("", "/")
        and b.path in ("", "/")
        and (a.scheme, a.netloc, a.query, a.fragment) == (b.scheme, b.netloc, b.query, b.fragment)
        and resource.rstrip("/") == endpoint.rstrip("/")
    )


def unwarranted_trailing_slash(resource, endpoint: str) -> bool:
    """The `resource` ends its path with a slash that the endpoint's path does not have."""
    if not isinstance(resource, str):
        return False
    return urlsplit(resource).path.endswith("/") and not urlsplit(endpoint).path.endswith("/")


def metadata_problems(document: dict, content_type: str, endpoint: str) -> list[str]:
    """What breaks RFC 9728 / the MCP rules in a Protected Resource Metadata document."""
    problems = []
    if content_type != "application/json":
        problems.append(f"it is served as {content_type or '(no Content-Type)'}, not application/json")
    resource = document.get("resource")
    if not isinstance(resource, str) or not resource:
        problems.append(f"its resource is {resource!r}, not the endpoint's URL {endpoint}")
    elif not resource_matches(resource, endpoint):
        problems.append(f"its resource {resource!r} is not identical to the endpoint's URL {endpoint!r}")
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers:
        problems.append(f"authorization_servers must list at least one authorization server, got {servers!r}")
    else:
        bad = [s for s in servers if not absolute_http_url(s)]
        if bad:
            problems.append(f"authorization_servers holds entries that are not absolute http(s) URLs: {bad!r}")
    return problems


def challenge_problem(value: str | None) -> str | None:
    """Why a 401's WWW-Authenticate value holds no usable Bearer challenge (None: it does)."""
    if value is None:
        return "it carries no WWW-Authenticate header"
    try:
        challenges = parse_challenges(value)
    except MalformedChallenge as error:
        return f"its WWW-Authenticate header does not parse ({error})"
    if not any(c.is_bearer for c in challenges):
        return f"its WWW-Authenticate header holds no Bearer challenge: {value}"
    return None


def insufficient_scope_gaps(value: str | None, resource_metadata: bool = True) -> list[str]:
    """What a 403's WWW-Authenticate lacks of the insufficient-scope challenge MCP asks for
    (`resource_metadata` False: its resource_metadata is not asked for)."""
    challenge = bearer(value)
    if challenge is None:
        return ["a WWW-Authenticate header" if value is None else f"a Bearer challenge (it sent {value!r})"]
    gaps = []
    if challenge.params.get("error") != "insufficient_scope":
        gaps.append('error="insufficient_scope"')
    if not (challenge.params.get("scope") or "").split():
        gaps.append("scope (the scopes the request needs)")
    if resource_metadata and not challenge.params.get("resource_metadata"):
        gaps.append("resource_metadata")
    return gaps


def offline_access_places(challenge_scope: str | None, scopes_supported) -> list[str]:
    """Where a server lists offline_access: its challenge's scope, its scopes_supported."""
    places = []
    if OFFLINE_ACCESS in (challenge_scope or "").split():
        places.append("the 401 challenge's scope")
    if isinstance(scopes_supported, list) and OFFLINE_ACCESS in scopes_supported:
        places.append("scopes_supported of the resource metadata")
    return places


def as_metadata_urls(issuer: str) -> list[str]:
    """Where an authorization server's metadata is looked for, in the order the MCP spec
    gives: RFC 8414 then OpenID Connect with the path inserted after the host, then OpenID
    Connect with it appended (an issuer without a path has the first two only)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(new_path: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, new_path, "", ""))

    if not path:
        return [at("/.well-known/oauth-authorization-server"), at("/.well-known/openid-configuration")]
    return [
        at("/.well-known/oauth-authorization-server" + path),
        at("/.well-known/openid-configuration" + path),
        at(path + "/.well-known/openid-configuration"),
    ]


def with_query(url: str, name: str, value: str) -> str:
    """`url` with one more query parameter."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), (name, value)])
    return urlunsplit(parts._replace(query=query))


# -- applicability -----------------------------------------------------------------------------
def _applies(mcp_target, revision: str):
    """The unauthenticated probe's Protection, or the check is skipped (see the module docstring)."""
    used = getattr(mcp_target, "transport_kind", "stdio")
    if used != "http":
        not_applicable(f"a check of authorization over Streamable HTTP; this run uses {used}")
    if revision not in AUTH_REVISIONS:
        not_applicable(
            f"{revision} has no resource-server authorization with protected resource metadata "
            "(RFC 9728): it begins with 2025-06-18"
        )
    protection = mcp_target.protection()
    if protection is None or not protection.claimed:
        status = (
            f"HTTP {protection.status}" if protection is not None and protection.status is not None else "no answer"
        )
        not_applicable(
            f"the server does not require authorization: an unauthenticated request got {status} "
            "and it publishes no protected resource metadata"
        )
    try:
        support = mcp_target.support(revision)
    except Blocked:
        return protection  # the run's own connections cannot be used: these checks judge all the same
    if not support.supported:
        not_applicable(support.reason)
    return protection


def _modern_rule(revision: str) -> None:
    if revision < MODERN:
        not_applicable(f"a rule of {MODERN}; {revision} has none like it")


# -- one request ---------------------------------------------------------------------------------
def _first_method(session) -> str:
    return "server/discover" if session.revision >= MODERN else "initialize"


def _answered(request_id):
    return lambda exchange: exchange.response_to(request_id) is not None


def _send(
    session,
    authorization: str | None,
    request_id: str = "conformance-auth",
    *,
    body: bytes | None = None,
    on_session: bool = False,
    url: str | None = None,
):
    """POST the revision's first request (or `body`) with exactly this Authorization value
    (None: no Authorization header), reading the answer until its response has come."""
    body = session.opening_body(request_id) if body is None else body
    return session.exchange(
        "POST", body, session=on_session, headers={"Authorization": authorization}, url=url, until=_answered(request_id)
    )


def _served(exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _answer(exchange) -> str:
    """The HTTP answer as a failure message shows it: status and WWW-Authenticate."""
    if exchange.status is None:
        return f"no answer ({exchange.error})"
    challenge = exchange.headers.get("www-authenticate")
    return f"HTTP {exchange.status}" + (
        f" (WWW-Authenticate: {challenge})" if challenge is not None else " (no WWW-Authenticate)"
    )


def _result(exchange, request_id):
    """The JSON-RPC result the answer carries for the request, else None."""
    response = exchange.response_to(request_id)
    return response if response is not None and response.kind is Kind.RESULT else None


def _response_text(exchange, request_id) -> str:
    response = exchange.response_to(request_id)
    return response.text()[:300] if response is not None else f"no JSON-RPC response ({exchange.summary()})"


def _end(session, exchange, authorization: str | None) -> None:
    """End the legacy session a served initialize opened (it was not meant to be served)."""
    session_id = exchange.headers.get(SESSION_HEADER.lower())
    if session_id and _served(exchange) and session.revision < MODERN:
        session.exchange(
            "DELETE",
            session=False,
            headers={"Authorization": authorization, SESSION_HEADER: session_id},
            until=lambda e: True,
        )


def _bearer(token: str) -> str:
    return f"Bearer {token}"


# -- tokens and the positive control ----------------------------------------------------------------
def _valid_token(auth) -> tuple[str | None, str]:
    """A token the server should accept and what it is: minted by the suite (when it can),
    else the user's; (None, why there is none)."""
    why = auth.can_mint()
    if why is None:
        return auth.minter.valid(
            auth.resource, auth.scope
        ), f"a valid token minted by the suite's authorization server (aud {auth.resource}, scope {auth.scope!r})"
    if auth.options.user_token:
        return auth.options.user_token, "the token given with --mcp-auth-token"
    return None, why


def _minter(mcp_target):
    """The suite's minter, or the check is skipped with the reason none can be minted."""
    why = mcp_target.auth.can_mint()
    if why is not None:
        not_applicable(why)
    return mcp_target.auth.minter


def _open_legacy(session, authorization: str, request_id: str = "conformance-auth-init"):
    """Initialize a legacy session with this Authorization and send initialized: the
    transport then sends its session id and version header (and ends it on close)."""
    opened = _send(session, authorization, request_id)
    result = _result(opened, request_id)
    if _served(opened) and result is not None:
        session.transport.session_id = opened.headers.get(SESSION_HEADER.lower())
        version = (result.result or {}).get("protocolVersion") if isinstance(result.result, dict) else None
        session.transport.protocol_version = version if isinstance(version, str) else session.revision
        initialized = jsonrpc.encode(jsonrpc.notification("notifications/initialized"))
        session.exchange("POST", initialized, session=True, headers={"Authorization": authorization})
    return opened


def _ping(session, authorization: str | None, request_id: str):
    body = jsonrpc.encode(jsonrpc.request(request_id, "ping"))
    return _send(session, authorization, request_id, body=body, on_session=True)


_CONTROLS: dict[tuple[int, str], str | None] = {}  # (target, revision) -> why the positive control failed


def _positive_control(mcp_target, revision: str) -> str | None:
    """Send the revision's first request with a valid token (and, in the legacy era, a ping
    on the session it opens); None when both are served with a result, else what happened."""
    token, what = _valid_token(mcp_target.auth)
    if token is None:
        not_applicable(what)
    authorization = _bearer(token)
    session = mcp_target.http_session(revision, authorization)
    method = _first_method(session)
    if revision >= MODERN:
        first = _send(session, authorization, "conformance-auth-valid")
        if _served(first) and _result(first, "conformance-auth-valid") is not None:
            return None
        return f"{what}: {method} got {_answer(first)}: {_response_text(first, 'conformance-auth-valid')}"
    first = _open_legacy(session, authorization, "conformance-auth-valid")
    if not (_served(first) and _result(first, "conformance-auth-valid") is not None):
        return f"{what}: {method} got {_answer(first)}: {_response_text(first, 'conformance-auth-valid')}"
    ping = _ping(session, authorization, "conformance-auth-valid-ping")
    if _served(ping) and _result(ping, "conformance-auth-valid-ping") is not None:
        return None
    return (
        f"{what}: initialize was served, but a ping on the session it opened got {_answer(ping)}: "
        f"{_response_text(ping, 'conformance-auth-valid-ping')}"
    )


def _require_control(mcp_target, revision: str) -> None:
    """End the check BLOCKED when a valid token is not accepted: a refusal proves nothing then."""
    key = (id(mcp_target), revision)
    if key not in _CONTROLS:
        _CONTROLS[key] = _positive_control(mcp_target, revision)
    if _CONTROLS[key] is not None:
        blocked(f"a valid token is not accepted ({_CONTROLS[key]}), so a refused token proves nothing", VALID_CHECK)


def _require_unauthenticated_refused(session) -> None:
    """End the check BLOCKED when a request without any token is served (that defect, not
    this check's, would make any other credential look accepted)."""
    exchange = _send(session, None, "conformance-auth-none")
    if _served(exchange):
        _end(session, exchange, None)
        blocked(
            f"{_first_method(session)} without any Authorization header is served ({_answer(exchange)})",
            UNAUTHENTICATED_CHECK,
        )


def _require_garbage_refused(session) -> None:
    exchange = _send(session, _bearer(GARBAGE), "conformance-auth-garbage")
    if _served(exchange):
        _end(session, exchange, _bearer(GARBAGE))
        blocked(
            f"{_first_method(session)} with Authorization: Bearer {GARBAGE} is served ({_answer(exchange)})",
            INVALID_CHECK,
        )


def _expect_refused(session, cases: list[tuple[str, str]], lenient_403: bool = False) -> None:
    """Send the revision's first request with each (description, token): each must get 401.
    With `lenient_403` a 403 (refused, with the status of a permission problem) is a warning."""
    method = _first_method(session)
    problems, warnings = [], []
    for index, (what, token) in enumerate(cases):
        exchange = _send(session, _bearer(token), f"conformance-auth-{index}")
        if exchange.status == 401:
            continue
        if _served(exchange):
            _end(session, exchange, _bearer(token))
            problems.append(f"{method} with {what} was served ({_answer(exchange)})")
        elif exchange.status == 403 and lenient_403:
            warnings.append(f"{method} with {what} was refused with 403, not 401 ({_answer(exchange)})")
        else:
            problems.append(f"{method} with {what} got {_answer(exchange)}, not 401")
    for warning in warnings:
        should(False, warning + ": a token that fails validation should get 401 invalid_token")
    if problems:
        fail("; ".join(problems) + ": a token that fails validation must be refused with 401")


# -- discovery ---------------------------------------------------------------------------------------
@dataclass
class Fetched:
    label: str  # how a client finds this URL
    url: str
    exchange: object = None
    document: dict | None = None


@dataclass
class Discovery:
    """The unauthenticated first request, its challenge, and the metadata URLs tried."""

    first: object
    challenge: Challenge | None
    advertised: str | None  # the challenge's resource_metadata
    fetched: list[Fetched] = field(default_factory=list)

    @property
    def found(self) -> Fetched | None:
        return next((f for f in self.fetched if f.document is not None), None)


def _fetch(session, fetched: Fetched) -> Fetched:
    fetched.exchange, fetched.document = fetch_json(session, fetched.url)
    return fetched


def _discover(session, first_only: bool = False) -> Discovery:
    """The first request without a token, then the Protected Resource Metadata URLs a client
    tries: the challenge's resource_metadata (when it is an absolute URL), then the
    well-known ones (all of them, or up to the first that serves a document)."""
    first = _send(session, None, "conformance-auth-discover")
    challenge = bearer(first.headers.get("www-authenticate")) if first.status == 401 else None
    advertised = challenge.params.get("resource_metadata") if challenge else None
    found = Discovery(first, challenge, advertised)
    for label, url in metadata_places(advertised, session.transport.url):
        candidate = Fetched(label, url)
        found.fetched.append(_fetch(session, candidate))
        if first_only and candidate.document is not None:
            break
    return found


def _metadata(session) -> tuple[Discovery, Fetched]:
    """The Protected Resource Metadata document a client would use, or BLOCKED."""
    discovery = _discover(session, first_only=True)
    if discovery.found is None:
        tried = "; ".join(f"GET {f.url} got HTTP {f.exchange.status}" for f in discovery.fetched)
        blocked(f"no Protected Resource Metadata document was found ({tried})", DISCOVERY_CHECK)
    return discovery, discovery.found


# -- no token needed -------------------------------------------------------------------------------
@requirement(
    "authorization-074", "authorization-119", "2026-07-28/authorization-058", "2026-07-28/security-considerations-031"
)
def test_auth_unauthenticated_refused(mcp_target, revision):
    """Nothing is served without a token: the revision's first request POSTed with no
    Authorization header gets 401, and a GET (SSE stream) and a DELETE without one are not
    answered with a 2xx (401, or 400, 404, 405: any refusal; one other than 401 is noted).
    In the legacy era, when the run has a valid token, the GET and DELETE name a session
    that token opened, so that a server which checks the session before the token is still
    caught; otherwise they name none. Budget: at most 5 HTTP requests, each bounded by the
    run's timeout."""
    _applies(mcp_target, revision)
    token, _ = _valid_token(mcp_target.auth)
    session = mcp_target.http_session(revision, _bearer(token) if token else None)
    method = _first_method(session)
    problems = []
    first = _send(session, None, "conformance-auth-none")
    if first.status != 401:
        _end(session, first, None)
        problems.append(f"{method} POSTed without an Authorization header got {_answer(first)}, not 401")
    on_session = False
    if revision < MODERN and token:
        _open_legacy(session, _bearer(token))
        on_session = session.transport.session_id is not None
    where = " on a session the run's valid token opened" if on_session else ""
    for verb in ("GET", "DELETE"):
        exchange = session.exchange(verb, session=on_session, headers={"Authorization": None}, until=lambda e: True)
        if _served(exchange):
            problems.append(f"{verb} without an Authorization header{where} was served ({_answer(exchange)})")
        elif exchange.status != 401:
            info(f"{verb} without an Authorization header{where} got {_answer(exchange)}: refused, though not with 401")
    if problems:
        fail("; ".join(problems) + ": a request without a token must be refused (the POST with 401)")


@requirement("authorization-069", "2026-07-28/authorization-048")
def test_auth_challenge_is_bearer(mcp_target, revision):
    """A 401 tells the client how to authenticate: the 401 to a request without a token,
    and the 401 to one with `Bearer not-a-valid-token`, each carry a WWW-Authenticate header
    that parses as RFC 7235 challenges and holds a Bearer challenge (RFC 6750 §3). A request
    that did not get a 401 is not judged here (its status has a check of its own). Budget: 2
    HTTP requests."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    method = _first_method(session)
    problems, unjudged, owners = [], [], []
    cases = [
        ("no Authorization header", None, UNAUTHENTICATED_CHECK),
        (f"Authorization: Bearer {GARBAGE}", _bearer(GARBAGE), INVALID_CHECK),
    ]
    for index, (what, authorization, owner) in enumerate(cases):
        exchange = _send(session, authorization, f"conformance-auth-{index}")
        if exchange.status != 401:
            _end(session, exchange, authorization)
            unjudged.append(f"{method} with {what} got {_answer(exchange)}")
            owners.append(owner)
            continue
        problem = challenge_problem(exchange.headers.get("www-authenticate"))
        if problem is not None:
            problems.append(f"the 401 to {method} with {what}: {problem}")
        elif authorization is not None:
            challenge = bearer(exchange.headers.get("www-authenticate"))
            if challenge.params.get("error") != "invalid_token":
                info(
                    f'the 401 to {method} with {what} has no error="invalid_token" in its Bearer challenge '
                    "(RFC 6750 §3.1 asks for one when a token was sent)"
                )
    if problems:
        fail("; ".join(problems) + ": a 401 must carry a WWW-Authenticate header with a Bearer challenge")
    if len(unjudged) == len(cases):
        blocked("no request got a 401 whose challenge could be judged: " + "; ".join(unjudged), owners[0])
    for note in unjudged:
        info(f"not judged: {note} (no 401)")


@requirement(
    "authorization-008",
    "authorization-013",
    "authorization-015",
    "authorization-016",
    "authorization-017",
    "2026-07-28/authorization-008",
    "2026-07-28/authorization-server-discovery-001",
    "2026-07-28/authorization-server-discovery-004",
    "2026-07-28/authorization-server-discovery-005",
    "2026-07-28/authorization-server-discovery-006",
)
def test_auth_resource_metadata_discoverable(mcp_target, revision):
    """A client can find the Protected Resource Metadata by at least one of the ways MCP
    allows: the `resource_metadata` URL of the 401 challenge, or the well-known URL with the
    endpoint's path, or the root well-known URL (RFC 9728), each working when a GET of it
    without a token answers 200 with a JSON object. A `resource_metadata` that is not an
    absolute URL, or does not serve the document, fails even if a well-known URL works
    (clients must use it when it is there). The ways that do not work are noted. Budget: 1
    POST and at most 3 GETs."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    discovery = _discover(session)
    problems = []
    if discovery.advertised is not None and not absolute_http_url(discovery.advertised):
        problems.append(
            f"the 401 challenge's resource_metadata {discovery.advertised!r} is not an absolute http(s) URL"
        )
    for fetched in discovery.fetched:
        if fetched.document is None and fetched.url == discovery.advertised:
            problems.append(
                f"the 401 challenge names resource_metadata {fetched.url}, which a client must use, "
                f"but GET {fetched.url} got {fetched.exchange.summary()}, not a JSON object"
            )
    if problems:
        fail("; ".join(problems))
    working = [f.label for f in discovery.fetched if f.document is not None]
    if not working:
        tried = "; ".join(f"GET {f.url} got {f.exchange.summary()}" for f in discovery.fetched)
        challenge = (
            "no resource_metadata"
            if discovery.challenge is not None
            else f"no Bearer challenge ({_first_answer(discovery)})"
        )
        fail(f"the Protected Resource Metadata cannot be found: the 401 challenge has {challenge}, and {tried}")
    if discovery.advertised is None:
        info(
            f"the challenge names no resource_metadata ({_first_answer(discovery)}): clients fall back to the "
            "well-known URLs"
        )
    for fetched in discovery.fetched:
        if fetched.document is None:
            info(
                f"{fetched.label} ({fetched.url}) serves no metadata (GET got {fetched.exchange.summary()}); "
                f"allowed, since {working[0]} works"
            )


def _first_answer(discovery: Discovery) -> str:
    return f"the unauthenticated request got {_answer(discovery.first)}"


@requirement(
    "authorization-008",
    "authorization-013",
    "authorization-014",
    "2026-07-28/authorization-008",
    "2026-07-28/authorization-server-discovery-001",
    "2026-07-28/authorization-server-discovery-002",
)
def test_auth_protected_resource_metadata(mcp_target, revision):
    """The Protected Resource Metadata a client finds (the challenge's resource_metadata
    first, else the well-known URLs) is JSON (application/json, an object) whose `resource`
    is the endpoint's URL exactly as the suite reaches it (RFC 9728 §3.3; only a lone
    trailing slash at the root path is the same URL), and whose `authorization_servers`
    lists at least one authorization server as an absolute http(s) URL. A
    `bearer_methods_supported` that offers "query" is a warning: OAuth 2.1 (whose §5 MCP
    adopts) has no query-string method and MCP forbids clients to use one, so advertising
    it points clients at a forbidden practice, though no rule forbids the field's value.
    Budget: 1 POST and at most 3 GETs."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    _, found = _metadata(session)
    problems = metadata_problems(found.document, found.exchange.content_type, session.transport.url)
    expect(not problems, f"the Protected Resource Metadata at {found.url} ({found.label}): " + "; ".join(problems))
    methods = found.document.get("bearer_methods_supported")
    should(
        not (isinstance(methods, list) and "query" in methods),
        f"the Protected Resource Metadata offers bearer_methods_supported {methods!r}: tokens must not travel "
        "in the query string (OAuth 2.1 §5, MCP), so a server should not advertise it",
    )


@requirement("authorization-061", "2026-07-28/authorization-040")
def test_auth_resource_uri_form(mcp_target, revision):
    """The `resource` of the Protected Resource Metadata should not end in a slash unless
    the endpoint's path does (clients and authorization servers compare these strings).
    Budget: 1 POST and at most 3 GETs."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    _, found = _metadata(session)
    resource = found.document.get("resource")
    if not isinstance(resource, str):
        blocked(f"the Protected Resource Metadata at {found.url} has no resource string ({resource!r})", METADATA_CHECK)
    should(
        not unwarranted_trailing_slash(resource, session.transport.url),
        f"the resource {resource!r} of the metadata at {found.url} ends in a slash the endpoint "
        f"{session.transport.url} does not have: the form without it should be used",
    )


@requirement("authorization-019", "2026-07-28/authorization-015")
def test_auth_challenge_names_scope(mcp_target, revision):
    """The Bearer challenge of the 401 to a request without a token should carry `scope`,
    naming the scopes the request needs. Budget: 1 HTTP request."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    first = _send(session, None, "conformance-auth-scope")
    if first.status != 401:
        _end(session, first, None)
        blocked(f"{_first_method(session)} without a token got {_answer(first)}, not 401", UNAUTHENTICATED_CHECK)
    challenge = bearer(first.headers.get("www-authenticate"))
    if challenge is None:
        blocked(f"the 401 has no Bearer challenge ({_answer(first)})", CHALLENGE_CHECK)
    should(
        (challenge.params.get("scope") or "").split(),
        f"the 401 challenge names no scope ({_answer(first)}): it should say which scopes the request needs",
    )


@requirement("2026-07-28/authorization-057")
def test_auth_no_offline_access(mcp_target, revision):
    """A resource server should not list `offline_access` (a matter between client and
    authorization server, not a need of the resource) in its 401 challenge's scope nor in
    its metadata's scopes_supported. A 2026-07-28 rule. Budget: 1 POST and at most 3 GETs."""
    _modern_rule(revision)
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    discovery = _discover(session, first_only=True)
    challenge_scope = discovery.challenge.params.get("scope") if discovery.challenge else None
    document = discovery.found.document if discovery.found else None
    scopes_supported = document.get("scopes_supported") if document else None
    if challenge_scope is None and scopes_supported is None:
        not_applicable("neither a challenge scope nor scopes_supported to look at")
    places = offline_access_places(challenge_scope, scopes_supported)
    should(
        not places,
        f"offline_access is listed in {' and '.join(places)}: refresh tokens are no resource "
        "requirement, so a resource server should not ask for it",
    )


@requirement("authorization-070", "authorization-074", "2026-07-28/authorization-049", "2026-07-28/authorization-058")
def test_auth_invalid_token_refused(mcp_target, revision):
    """A token the server cannot validate is refused with 401: `Bearer not-a-valid-token`
    and a random 43-character base64url string (shaped like an opaque token). Any other
    status fails. Void (BLOCKED) when even a request without a token is served. Budget: 3
    HTTP requests."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    _require_unauthenticated_refused(session)
    _expect_refused(
        session,
        [(f"Authorization: Bearer {GARBAGE}", GARBAGE), ("a random opaque-looking token", secrets.token_urlsafe(32))],
    )


@requirement("authorization-076", "authorization-063", "2026-07-28/authorization-060", "2026-07-28/authorization-042")
def test_auth_malformed_authorization_refused(mcp_target, revision):
    """A malformed Authorization header is never served: `Bearer` with no token, `Bearer a b`,
    and the run's valid token after another scheme (`Basic <token>`, no bearer credential at
    all) each get 400 or 401; a 2xx fails. 401 to a malformed Bearer header, or another
    refusal status, is noted (the MCP error table names 400 for malformed requests, and many
    servers read a token-less header as no token). Void (BLOCKED) when a request without a
    token is served. Budget: 4 HTTP requests."""
    _applies(mcp_target, revision)
    token, _ = _valid_token(mcp_target.auth)
    session = mcp_target.http_session(revision, None)
    _require_unauthenticated_refused(session)
    method = _first_method(session)
    cases = [("Authorization: Bearer (no token)", "Bearer", True), ("Authorization: Bearer a b", "Bearer a b", True)]
    if token:
        cases.append(("Authorization: Basic <the run's valid token>", f"Basic {token}", False))
    else:
        info("the run has no valid token: Basic <token> was not tried")
    problems = []
    for index, (what, value, bearer_shaped) in enumerate(cases):
        exchange = _send(session, value, f"conformance-auth-malformed-{index}")
        if _served(exchange):
            _end(session, exchange, value)
            problems.append(f"{method} with {what} was served ({_answer(exchange)})")
        elif exchange.status not in (400, 401):
            info(f"{method} with {what} was refused with {_answer(exchange)}, neither 400 nor 401")
        elif exchange.status == 401 and bearer_shaped:
            info(
                f"{method} with {what} got 401 (read as no token; the MCP error table names 400 for a malformed "
                "authorization request)"
            )
    if problems:
        fail("; ".join(problems) + ": a malformed Authorization header must be refused (400 or 401)")


@requirement("authorization-013", "2026-07-28/authorization-server-discovery-001")
def test_auth_server_metadata_discoverable(mcp_target, revision):
    """Informational (it concerns the authorization server, not the MCP server): the first
    entry of the metadata's `authorization_servers` serves RFC 8414 or OpenID Connect
    metadata at one of the URLs MCP clients try for that issuer (path insertion first, as
    the 2025-11-25 page orders them), with an `issuer` identical to it. It passes quietly
    when the first URL tried serves such a document (and it lists S256 for PKCE); anything
    else is noted. It never fails nor warns. Budget: 1 POST and at most 6 GETs."""
    _applies(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    _, found = _metadata(session)
    servers = found.document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not absolute_http_url(servers[0]):
        blocked(f"the metadata at {found.url} names no usable authorization server ({servers!r})", METADATA_CHECK)
    issuer = servers[0]
    tried = []
    for index, url in enumerate(as_metadata_urls(issuer)):
        fetched = _fetch(session, Fetched("authorization server metadata", url))
        if fetched.document is None:
            tried.append(f"GET {url} got {fetched.exchange.summary()}")
            continue
        notes = []
        if fetched.document.get("issuer") != issuer:
            notes.append(
                f"its issuer {fetched.document.get('issuer')!r} is not identical to {issuer!r} "
                "(clients must not use it)"
            )
        methods = fetched.document.get("code_challenge_methods_supported")
        if not (isinstance(methods, list) and "S256" in methods):
            notes.append(f"code_challenge_methods_supported is {methods!r}, without S256 (clients refuse to proceed)")
        if index > 0:
            notes.insert(0, "found only after " + "; ".join(tried))
        if notes:
            info(f"the authorization server metadata of {issuer} is at {url}: " + "; ".join(notes))
        return
    info(f"no authorization server metadata found for {issuer}: " + "; ".join(tried))


# -- tokens needed ---------------------------------------------------------------------------------
@requirement("authorization-063", "authorization-067", "2026-07-28/authorization-042", "2026-07-28/authorization-046")
def test_auth_valid_token_accepted(mcp_target, revision):
    """The positive control: with a valid token (minted by the suite's authorization server
    for the metadata's resource and scopes, else the user's --mcp-auth-token) the revision's
    first request is answered 2xx with a result, and in the legacy era a ping on the session
    it opened too. Every check that expects a broken token to be refused is void without
    it (BLOCKED, naming this check). Budget: at most 4 HTTP requests."""
    _applies(mcp_target, revision)
    key = (id(mcp_target), revision)
    _CONTROLS.pop(key, None)
    _CONTROLS[key] = _positive_control(mcp_target, revision)
    expect(_CONTROLS[key] is None, f"a valid token must be accepted: {_CONTROLS[key]}")


@requirement(
    "authorization-068",
    "authorization-072",
    "authorization-073",
    "authorization-088",
    "authorization-121",
    "2026-07-28/security-considerations-004",
    "2026-07-28/authorization-047",
    "2026-07-28/authorization-051",
    "2026-07-28/authorization-052",
    "2026-07-28/security-considerations-033",
)
def test_auth_token_audience_validated(mcp_target, revision):
    """A token not issued for this server is refused: one minted (by the trusted
    authorization server, validly signed) for another resource, and one with no audience at
    all. The MUST is 401: such a token fails validation for this server (OAuth 2.1 §5.2,
    RFC 8707) and MCP sends invalid tokens 401. A 403 still refuses it (the audience rules
    demand rejection without naming a status, and the error table keeps 403 for a caller
    lacking permission), so it is a warning; served, or any other status, fails.
    Budget: 2 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    _expect_refused(
        session,
        [
            ("a token issued for another resource", minter.wrong_audience(auth.resource, auth.scope)),
            ("a token with no audience (aud)", minter.no_audience(auth.scope)),
        ],
        lenient_403=True,
    )


@requirement(
    "authorization-070",
    "authorization-067",
    "authorization-120",
    "2026-07-28/authorization-049",
    "2026-07-28/authorization-046",
    "2026-07-28/security-considerations-032",
)
def test_auth_token_lifetime_validated(mcp_target, revision):
    """A token outside its lifetime is refused with 401: one that expired an hour ago, and
    one not valid for another hour (nbf). Budget: 2 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    _expect_refused(
        session,
        [
            ("an expired token", minter.expired(auth.resource, auth.scope)),
            ("a token not valid yet (nbf in an hour)", minter.not_yet_valid(auth.resource, auth.scope)),
        ],
    )


@requirement(
    "authorization-070",
    "authorization-067",
    "authorization-120",
    "2026-07-28/authorization-049",
    "2026-07-28/authorization-046",
    "2026-07-28/security-considerations-032",
)
def test_auth_token_issuer_validated(mcp_target, revision):
    """A token whose `iss` is another issuer (though signed with the trusted key) is refused
    with 401. Budget: 1 HTTP request after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    _expect_refused(session, [("a token naming another issuer", minter.wrong_issuer(auth.resource, auth.scope))])


@requirement(
    "authorization-067", "authorization-120", "2026-07-28/authorization-046", "2026-07-28/security-considerations-032"
)
def test_auth_token_signature_validated(mcp_target, revision):
    """A token whose signature does not verify is refused with 401: one signed by a key the
    authorization server never published (under the trusted key's kid), and an unsigned
    one (alg none). Budget: 2 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    _expect_refused(
        session,
        [
            ("a token signed by an unknown key", minter.bad_signature(auth.resource, auth.scope)),
            ("an unsigned token (alg none)", minter.alg_none(auth.resource, auth.scope)),
        ],
    )


@requirement("authorization-074", "2026-07-28/authorization-058")
def test_auth_query_token_refused(mcp_target, revision):
    """A valid token in the URL's query string (`?access_token=`, no Authorization header)
    is no credential MCP admits: the request carries no token and gets 401 (400, a refusal
    as a malformed request, is noted); served fails. Works with the user's token. Void
    (BLOCKED) when a request without any token is served. Budget: 2 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    token, why = _valid_token(mcp_target.auth)
    if token is None:
        not_applicable(why)
    _require_control(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    _require_unauthenticated_refused(session)
    exchange = _send(
        session,
        None,
        "conformance-auth-query",  # the transcript shows no access_token value
        url=with_query(session.transport.url, "access_token", token),
    )
    if _served(exchange):
        _end(session, exchange, _bearer(token))
    expect(
        not _served(exchange),
        f"{_first_method(session)} with the valid token only in ?access_token= (no "
        f"Authorization header) was served ({_answer(exchange)}): a token in the query "
        "string must not be accepted",
    )
    if exchange.status == 400:
        info("the token in the query string was refused with 400 (as a malformed request), not 401")
        return
    expect(
        exchange.status == 401,
        f"{_first_method(session)} with the token only in ?access_token= got "
        f"{_answer(exchange)}: a request without a token in its header must get 401",
    )


@requirement(
    "authorization-075",
    "authorization-077",
    "authorization-078",
    "authorization-079",
    "2026-07-28/authorization-059",
    "2026-07-28/authorization-061",
    "2026-07-28/authorization-062",
    "2026-07-28/authorization-063",
)
def test_auth_insufficient_scope(mcp_target, revision):
    """A valid token that lacks the scopes the server asks for (here: no scope at all) gets
    403 Forbidden (a 401 would say the token itself is bad: it fails, as does any other
    refusal), and the 403 should carry a Bearer challenge with error="insufficient_scope",
    the `scope` the request needs and `resource_metadata` (one warning lists what is
    missing; resource_metadata is asked for consistency with the 401 challenge, so only of
    a server whose 401 challenge carries it). Not applicable when the server names no scope, or serves the scopeless
    token. Budget: 1 HTTP request after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    session = mcp_target.http_session(revision, None)
    exchange = _scopeless_attempt(mcp_target.auth, minter, session)
    what = f"{_first_method(session)} with a valid token lacking the scopes {mcp_target.auth.scope!r}"
    expect(
        exchange.status != 401,
        f"{what} got {_answer(exchange)}: insufficient scope must get 403, not 401 (which says the token is invalid)",
    )
    expect(exchange.status == 403, f"{what} got {_answer(exchange)}: insufficient scope must get 403")
    unauthenticated = mcp_target.protection().challenge
    consistent = bool(unauthenticated and unauthenticated.params.get("resource_metadata"))
    gaps = insufficient_scope_gaps(exchange.headers.get("www-authenticate"), resource_metadata=consistent)
    should(not gaps, f"the 403 to {what} is missing: " + "; ".join(gaps) + f" ({_answer(exchange)})")


def _scopeless_attempt(auth, minter, session):
    """The revision's first request with a valid token carrying no scope."""
    if not auth.scope.split():
        not_applicable("the server names no scope it needs (neither its 401 challenge nor scopes_supported)")
    authorization = _bearer(minter.valid(auth.resource, ""))
    exchange = _send(session, authorization, "conformance-auth-scopeless")
    if _served(exchange):
        _end(session, exchange, authorization)
        not_applicable(
            f"the server needs no scope for this request: a valid token without scopes was served ({_answer(exchange)})"
        )
    return exchange


@requirement("2026-07-28/authorization-064")
def test_auth_scope_challenge_complete(mcp_target, revision):
    """One insufficient-scope challenge names every scope the request needs: after the 403
    to a scopeless token, a token with exactly the scopes that challenge named is served,
    with no second 403 naming more; anything else is a warning. A 2026-07-28 rule. Budget: 2
    HTTP requests after the positive control."""
    _modern_rule(revision)
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    refused = _scopeless_attempt(auth, minter, session)
    challenge = bearer(refused.headers.get("www-authenticate")) if refused.status == 403 else None
    named = (challenge.params.get("scope") or "").split() if challenge else []
    if not named:
        blocked(f"the scopeless token got {_answer(refused)}, not a 403 challenge naming scopes", SCOPE_CHECK)
    retry = _send(session, _bearer(minter.valid(auth.resource, " ".join(named))), "conformance-auth-stepped-up")
    if _served(retry) and _result(retry, "conformance-auth-stepped-up") is not None:
        return
    again = bearer(retry.headers.get("www-authenticate")) if retry.status == 403 else None
    more = [s for s in ((again.params.get("scope") or "").split() if again else []) if s not in named]
    if more:
        should(
            False,
            f"a token with exactly the scopes the 403 named ({' '.join(named)}) got another 403 naming "
            f"{' '.join(more)} too ({_answer(retry)}): one challenge should name every scope needed",
        )
    else:
        should(
            False,
            f"a token with exactly the scopes the 403 named ({' '.join(named)}) was not served: "
            f"{_answer(retry)}: {_response_text(retry, 'conformance-auth-stepped-up')}",
        )


@requirement("authorization-119", "2026-07-28/security-considerations-031")
def test_auth_every_request_validated(mcp_target, revision):
    """The token is checked on every request, not only the first of a connection or
    session: after a request served with the valid token (legacy: initialize, opening a
    session), a request on the same connection (legacy: on that session, with its session
    id) with `Bearer not-a-valid-token`, and one with no Authorization, each get 401.
    Works with the user's token. Void (BLOCKED) when those two are not refused on a fresh
    connection already. Budget: at most 8 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    token, why = _valid_token(mcp_target.auth)
    if token is None:
        not_applicable(why)
    _require_control(mcp_target, revision)
    fresh = mcp_target.http_session(revision, None)
    _require_unauthenticated_refused(fresh)
    _require_garbage_refused(fresh)
    authorization = _bearer(token)
    session = mcp_target.http_session(revision, authorization)
    if revision >= MODERN:
        first = _send(session, authorization, "conformance-auth-valid")
        if not _served(first):
            blocked(f"server/discover with the valid token got {_answer(first)} this time", VALID_CHECK)
        later = [
            (f"Authorization: Bearer {GARBAGE}", _send(session, _bearer(GARBAGE), "conformance-auth-later-1")),
            ("no Authorization header", _send(session, None, "conformance-auth-later-2")),
        ]
        where = "server/discover, after one served with the valid token on the same connection,"
    else:
        opened = _open_legacy(session, authorization)
        if not _served(opened):
            blocked(f"initialize with the valid token got {_answer(opened)} this time", VALID_CHECK)
        if session.transport.session_id is None:
            not_applicable(f"the server assigns no session id: each request stands alone, as {INVALID_CHECK} tests")
        later = [
            (f"Authorization: Bearer {GARBAGE}", _ping(session, _bearer(GARBAGE), "conformance-auth-later-1")),
            ("no Authorization header", _ping(session, None, "conformance-auth-later-2")),
        ]
        where = "a ping on the session the valid token opened,"
    problems = [f"{where} with {what}, got {_answer(exchange)}" for what, exchange in later if exchange.status != 401]
    if problems:
        fail("; ".join(problems) + ": every request must carry a valid token, or get 401")


@requirement("authorization-067", "2026-07-28/mrtr-016")
def test_auth_session_bound_to_subject(mcp_target, revision):
    """A legacy session belongs to the user whose token opened it: a session opened with
    subject A's token, used with subject B's valid token, should not be served (any 4xx is
    a refusal; 404 "session not found" is what the SDKs answer). No catalogue row states it
    for 2025 (the security best practices ask to bind sessions to the user), so it is graded
    as a warning. Not applicable in 2026-07-28, which has no sessions: binding requestState
    to the principal (mrtr-016) needs a tool that asks for input and is not tested yet.
    Budget: at most 6 HTTP requests after the positive control."""
    if revision >= MODERN:
        not_applicable(
            f"{revision} has no sessions; requestState's binding to the principal (mrtr-016) needs a "
            "tool that asks for input and is not tested yet"
        )
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    other = _bearer(minter.valid(auth.resource, auth.scope, subject=OTHER_SUBJECT))
    alone = mcp_target.http_session(revision, other)
    own = _send(alone, other, "conformance-auth-other")
    _end(alone, own, other)
    if not _served(own):
        not_applicable(
            f"the server does not accept subject {OTHER_SUBJECT}'s token at all ({_answer(own)}): "
            "binding cannot be told apart"
        )
    owner = _bearer(minter.valid(auth.resource, auth.scope, subject=DEFAULT_SUBJECT))
    session = mcp_target.http_session(revision, owner)
    opened = _open_legacy(session, owner)
    if not _served(opened):
        blocked(f"initialize with subject {DEFAULT_SUBJECT}'s valid token got {_answer(opened)}", VALID_CHECK)
    if session.transport.session_id is None:
        not_applicable("the server assigns no session id: there is no session to bind")
    mine = _ping(session, owner, "conformance-auth-owner")
    if not _served(mine):
        blocked(f"a ping on the session, with the token of the subject who opened it, got {_answer(mine)}", VALID_CHECK)
    theirs = _ping(session, other, "conformance-auth-intruder")
    if _served(theirs):
        should(
            False,
            f"a session opened by {DEFAULT_SUBJECT} served a ping with {OTHER_SUBJECT}'s valid token "
            f"({_answer(theirs)}): a session should be bound to the user who opened it",
        )
    elif not (theirs.status is not None and 400 <= theirs.status < 500):
        info(
            f"{OTHER_SUBJECT}'s ping on {DEFAULT_SUBJECT}'s session got {_answer(theirs)} (not served, though not "
            "a 4xx refusal)"
        )


@requirement("authorization-060", "2026-07-28/authorization-039")
def test_auth_uppercase_audience_accepted(mcp_target, revision):
    """A token whose audience writes the server's URL with an upper-case scheme and host (the
    same URL, RFC 3986 §6.2.2.1) should be accepted. Budget: 1 HTTP request after the
    positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    authorization = _bearer(minter.uppercase_audience(auth.resource, auth.scope))
    session = mcp_target.http_session(revision, None)
    exchange = _send(session, authorization, "conformance-auth-uppercase")
    _end(session, exchange, authorization)
    should(
        _served(exchange) and _result(exchange, "conformance-auth-uppercase") is not None,
        f"{_first_method(session)} with a valid token whose aud has an upper-case scheme and host got "
        f"{_answer(exchange)}: it names this server, and should be accepted",
    )


@requirement(
    "authorization-067", "authorization-120", "2026-07-28/authorization-046", "2026-07-28/security-considerations-032"
)
def test_auth_inactive_introspected_token_refused(mcp_target, revision):
    """A server that accepts opaque tokens (it asks the authorization server's introspection
    endpoint, RFC 7662) refuses one that introspection calls inactive, with 401. First an
    active opaque token: when it is refused, the server does not introspect and the check
    does not apply. Budget: 2 HTTP requests after the positive control."""
    _applies(mcp_target, revision)
    minter = _minter(mcp_target)
    _require_control(mcp_target, revision)
    auth = mcp_target.auth
    session = mcp_target.http_session(revision, None)
    active = _bearer(minter.opaque(active=True, audience=auth.resource, scope=auth.scope))
    exchange = _send(session, active, "conformance-auth-opaque")
    if not _served(exchange):
        not_applicable(
            f"the server does not accept opaque tokens (an active one got {_answer(exchange)}): it does not introspect"
        )
    _end(session, exchange, active)
    _expect_refused(
        session,
        [
            (
                "an opaque token introspection calls inactive",
                minter.opaque(active=False, audience=auth.resource, scope=auth.scope),
            )
        ],
    )
