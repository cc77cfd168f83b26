"""The reference HTTP server as an OAuth 2.1 resource server (`--auth-issuer`): the clean
guard's answers (401/400/403 shapes, Protected Resource Metadata, JWT and introspection
validation, session binding) and a handful of its faults, against a stand-in issuer run
here (JWKS and RFC 7662 introspection). Tokens are minted with PyJWT directly."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conformance.reference.auth import FAULTS as AUTH_FAULTS
from conformance.reference.auth import same_resource
from conformance.reference.http import FAULTS as HTTP_FAULTS
from conformance.transport.launch import LaunchedServer, free_port

REFERENCE = f"{shlex.quote(sys.executable)} -m conformance.reference.http --port {{port}}"
SCOPES = "mcp:basic mcp:tools"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
META = "io.modelcontextprotocol/"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "auth-test", "version": "0"},
    },
}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
FAULTED = [
    "auth-open",
    "auth-accept-any-audience",
    "auth-session-not-bound",
    "auth-validate-first-request-only",
    "auth-incremental-challenge",
    "auth-accept-garbage",
    "auth-introspection-ignores-active",
    "prm-trailing-slash",
    "auth-no-resource-metadata",
    "auth-challenge-not-bearer",
]


# -- a stand-in issuer: JWKS (ES256 and RS256) and introspection -------------------------------
class Issuer:
    def __init__(self, port: int = 0):
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.opaque: dict[str, dict] = {}  # token -> its introspection answer
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                issuer.jwks_fetches += 1
                self.answer(issuer.jwks())

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                if self.path != "/introspect" or "token" not in form:
                    self.send_error(400)
                    return
                self.answer(issuer.opaque.get(form["token"][0], {"active": False}))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="stand-in-issuer")
        self.thread.start()

    def jwks(self) -> dict:
        es = {**ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True), "kid": "es-1", "alg": "ES256", "use": "sig"}
        rs = {
            **RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True),
            "kid": "rs-1",
            "alg": "RS256",
            "use": "sig",
        }
        return {"keys": [es, rs]}

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def issuer():
    running = Issuer()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def servers(issuer, request):
    """name -> a running reference server guarded by `issuer` ("clean" or a fault), all started at once."""
    mp = pytest.MonkeyPatch()
    for name in (
        "MCP_CONFORMANCE_AUTH_JWKS_URI",
        "MCP_CONFORMANCE_AUTH_INTROSPECTION_ENDPOINT",
        "MCP_CONFORMANCE_AUTH_RS_CLIENT_ID",
    ):
        mp.delenv(name, raising=False)
    started = {
        name: LaunchedServer(
            f"{REFERENCE} --auth-issuer {issuer.url}" + ("" if name == "clean" else f" --fault {name}"), timeout=20
        )
        for name in ["clean", *FAULTED]
    }
    try:
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(lambda server: server.ensure_running(), started.values()))
        yield started
    finally:
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(lambda server: server.stop(), started.values()))
        mp.undo()


# -- tokens ----------------------------------------------------------------------------------
def mint(
    issuer: Issuer,
    server: LaunchedServer,
    *,
    alg: str = "ES256",
    key=None,
    kid: str | None = None,
    headers: dict | None = None,
    **overrides,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer.url,
        "sub": "alice",
        "aud": server.url,
        "client_id": "test-client",
        "scope": SCOPES,
        "iat": now,
        "exp": now + 300,
        "jti": f"j{time.monotonic_ns()}",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    if key is None:
        key = issuer.ec_key if alg == "ES256" else issuer.rsa_key
    kid = kid or ("es-1" if alg == "ES256" else "rs-1")
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt", **(headers or {})})


def unsigned(issuer: Issuer, server: LaunchedServer) -> str:
    return jwt.encode(
        {"iss": issuer.url, "sub": "alice", "aud": server.url, "scope": SCOPES, "exp": int(time.time()) + 300},
        None,
        algorithm="none",
    )


def opaque(issuer: Issuer, server: LaunchedServer, active: bool, bare: bool = False, **claims) -> str:
    """An opaque token the issuer knows; `bare`: inactive and answered `{"active": false}` only
    (RFC 7662 §2.2, as the suite's authorization server does), so only its form tells it from garbage."""
    if bare:
        token = secrets.token_urlsafe(32)
        issuer.opaque[token] = {"active": False}
        return token
    token = f"opaque-{time.monotonic_ns()}"
    answer = {
        "active": active,
        "sub": "alice",
        "client_id": "test-client",
        "scope": SCOPES,
        "aud": server.url,
        "iss": issuer.url,
        "exp": int(time.time()) + 300,
        **claims,
    }
    issuer.opaque[token] = answer
    return token


# -- requests --------------------------------------------------------------------------------
def post(
    server: LaunchedServer,
    body: dict = INIT,
    token: str | None = None,
    headers: dict | None = None,
    url: str | None = None,
) -> httpx.Response:
    sent = {**ACCEPT, **({"authorization": f"Bearer {token}"} if token is not None else {}), **(headers or {})}
    return httpx.post(url or server.url, content=json.dumps(body), headers=sent, timeout=10, trust_env=False)


def initialize(server: LaunchedServer, token: str) -> str:
    response = post(server, INIT, token)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    done = post(
        server,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        token,
        {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"},
    )
    assert done.status_code == 202, done.text
    return session


def on_session(server: LaunchedServer, session: str, token: str | None, body: dict = TOOLS_LIST) -> httpx.Response:
    return post(server, body, token, {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"})


def challenge(response: httpx.Response) -> dict[str, str]:
    """The auth-params of a single Bearer challenge (the scheme under the key "")."""
    value = response.headers.get("www-authenticate")
    assert value is not None, f"no WWW-Authenticate on {response.status_code}"
    scheme, _, rest = value.partition(" ")
    params = dict(re.findall(r'([A-Za-z_]+)="([^"]*)"', rest))
    return {"": scheme, **params}


def metadata_url(server: LaunchedServer) -> str:
    return f"http://127.0.0.1:{server.port}/.well-known/oauth-protected-resource/mcp"


# -- the registry -------------------------------------------------------------------------------
def test_auth_faults_are_http_faults_run_with_the_issuer():
    assert set(AUTH_FAULTS) <= set(HTTP_FAULTS)
    for name, fault in AUTH_FAULTS.items():
        assert "--auth-issuer {issuer}" in fault.server_args, name
        assert fault.outcome in ("failed", "warned") and fault.check.startswith("test_auth_"), name
    assert (
        AUTH_FAULTS["auth-offline-access"].revision
        == AUTH_FAULTS["auth-incremental-challenge"].revision
        == "2026-07-28"
    )
    assert AUTH_FAULTS["prm-trailing-slash"].also == ("test_auth_protected_resource_metadata",)


def test_audience_comparison_ignores_scheme_and_host_case_only():
    assert same_resource("HTTP://127.0.0.1:8/mcp", "http://127.0.0.1:8/mcp")
    assert not same_resource("http://127.0.0.1:8/MCP", "http://127.0.0.1:8/mcp")
    assert not same_resource("http://127.0.0.1:8/mcp/", "http://127.0.0.1:8/mcp")
    assert not same_resource("HTTP://127.0.0.1:8/mcp", "http://127.0.0.1:8/mcp", case_sensitive=True)


# -- clean: refusing the unauthenticated ------------------------------------------------------
def test_no_token_gets_a_bare_bearer_challenge(servers):
    server = servers["clean"]
    for response in (
        post(server),
        httpx.get(server.url, headers=ACCEPT, trust_env=False),
        httpx.delete(server.url, headers={"mcp-session-id": "x"}, trust_env=False),
    ):
        assert response.status_code == 401
        params = challenge(response)
        assert params == {"": "Bearer", "resource_metadata": metadata_url(server), "scope": SCOPES}


@pytest.mark.parametrize(
    "value, status, error",
    [
        ("Bearer not-a-jwt", 401, "invalid_token"),
        ("Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA", 401, "invalid_token"),
        ("Bearer", 400, "invalid_request"),
        ("Bearer a b", 400, "invalid_request"),
        ("Basic dXNlcjpwYXNz", 401, "invalid_token"),
    ],
)
def test_bad_authorization_is_refused(servers, value, status, error):
    server = servers["clean"]
    response = post(server, headers={"authorization": value})
    assert response.status_code == status
    params = challenge(response)
    assert params[""] == "Bearer" and params["error"] == error and params["error_description"]
    assert params["resource_metadata"] == metadata_url(server) and params["scope"] == SCOPES


def test_another_scheme_with_a_valid_token_is_refused(issuer, servers):
    server = servers["clean"]
    response = post(server, headers={"authorization": f"Basic {mint(issuer, server)}"})
    assert response.status_code == 401 and challenge(response)["error"] == "invalid_token"


def test_query_token_is_ignored(issuer, servers):
    server = servers["clean"]
    response = post(server, url=f"{server.url}?access_token={mint(issuer, server)}")
    assert response.status_code == 401 and "error" not in challenge(response)


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"])
def test_protected_resource_metadata(issuer, servers, path):
    server = servers["clean"]
    response = httpx.get(f"http://127.0.0.1:{server.port}{path}", trust_env=False)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "resource": server.url,
        "authorization_servers": [issuer.url],
        "scopes_supported": ["mcp:basic", "mcp:tools"],
        "bearer_methods_supported": ["header"],
    }


# -- clean: valid tokens and what is checked in them --------------------------------------------
@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_valid_token_is_served(issuer, servers, alg):
    server = servers["clean"]
    token = mint(issuer, server, alg=alg)
    session = initialize(server, token)
    listed = on_session(server, session, token)
    assert listed.status_code == 200 and '"tools"' in listed.text


def test_uppercase_audience_is_accepted(issuer, servers):
    server = servers["clean"]
    upper = server.url.replace("http://", "HTTP://")
    assert post(server, token=mint(issuer, server, aud=upper)).status_code == 200
    assert post(server, token=mint(issuer, server, aud=["http://127.0.0.1:1/x", server.url])).status_code == 200


INVALID = {
    "wrong audience": lambda i, s: mint(i, s, aud="http://127.0.0.1:1/other-mcp"),
    "no audience": lambda i, s: mint(i, s, aud=None),
    "trailing-slash audience": lambda i, s: mint(i, s, aud=s.url + "/"),
    "expired": lambda i, s: mint(i, s, exp=int(time.time()) - 3600),
    "no expiry": lambda i, s: mint(i, s, exp=None),
    "not yet valid": lambda i, s: mint(i, s, nbf=int(time.time()) + 3600),
    "wrong issuer": lambda i, s: mint(i, s, iss="http://127.0.0.1:1/evil"),
    "issuer with a trailing slash": lambda i, s: mint(i, s, iss=i.url + "/"),
    "bad signature": lambda i, s: mint(i, s, key=ec.generate_private_key(ec.SECP256R1())),
    "unknown kid": lambda i, s: mint(i, s, kid="nobody"),
    "alg none": unsigned,
    "HS256": lambda i, s: jwt.encode(
        {"iss": i.url, "aud": s.url, "scope": SCOPES, "exp": int(time.time()) + 99},
        "secret-secret-secret-secret-secret!",
        algorithm="HS256",
        headers={"kid": "es-1"},
    ),
    "inactive opaque": lambda i, s: opaque(i, s, False),
    "inactive opaque, bare answer": lambda i, s: opaque(i, s, False, bare=True),
    "unknown opaque": lambda i, s: "opaque-never-issued",
    "opaque for another resource": lambda i, s: opaque(i, s, True, aud="http://127.0.0.1:1/other-mcp"),
}


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_token_is_refused(issuer, servers, kind):
    server = servers["clean"]
    response = post(server, token=INVALID[kind](issuer, server))
    assert response.status_code == 401, response.text
    assert challenge(response)["error"] == "invalid_token"


def test_active_opaque_token_is_served(issuer, servers):
    server = servers["clean"]
    assert post(server, token=opaque(issuer, server, True)).status_code == 200


def test_missing_scope_gets_403_naming_every_scope(issuer, servers):
    server = servers["clean"]
    for scope in ("", "mcp:basic", "mcp:tools other"):
        response = post(server, token=mint(issuer, server, scope=scope))
        assert response.status_code == 403
        params = challenge(response)
        assert params[""] == "Bearer" and params["error"] == "insufficient_scope" and params["error_description"]
        assert params["scope"] == SCOPES and params["resource_metadata"] == metadata_url(server)


def test_session_is_bound_to_its_subject(issuer, servers):
    server = servers["clean"]
    alice = mint(issuer, server)
    session = initialize(server, alice)
    bob = on_session(server, session, mint(issuer, server, sub="bob"))
    assert bob.status_code == 404 and "Session not found" in bob.text
    assert on_session(server, session, "garbage").status_code == 401
    assert on_session(server, session, None).status_code == 401
    assert on_session(server, session, mint(issuer, server)).status_code == 200  # a fresh token of Alice's


def test_modern_requests_are_validated_each(issuer, servers):
    server = servers["clean"]
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "server/discover",
        "params": {
            "_meta": {
                META + "protocolVersion": "2026-07-28",
                META + "clientInfo": {"name": "t", "version": "0"},
                META + "clientCapabilities": {},
            }
        },
    }
    headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover"}
    assert post(server, body, None, headers).status_code == 401
    assert post(server, body, mint(issuer, server, exp=int(time.time()) - 60), headers).status_code == 401
    served = post(server, body, mint(issuer, server), headers)
    assert served.status_code == 200 and "supportedVersions" in served.text


def test_issuer_may_start_after_the_server(monkeypatch):
    """The JWKS is fetched on first use: a server started before its issuer serves once it is up."""
    monkeypatch.delenv("MCP_CONFORMANCE_AUTH_JWKS_URI", raising=False)
    port = free_port()
    server = LaunchedServer(f"{REFERENCE} --auth-issuer http://127.0.0.1:{port} --auth-scope mcp", timeout=20)
    server.ensure_running()
    late = None
    try:
        late = Issuer(port)
        token = mint(late, server, scope="mcp")
        assert post(server, token=token).status_code == 200
        assert late.jwks_fetches == 1
        assert post(server, token=mint(late, server, scope="mcp")).status_code == 200
        assert late.jwks_fetches == 1  # cached
        assert post(server, token=mint(late, server, scope="mcp", kid="rotated")).status_code == 401
        assert late.jwks_fetches == 2  # an unknown kid: fetched again
        assert challenge(post(server))["scope"] == "mcp"
    finally:
        server.stop()
        if late is not None:
            late.stop()


def test_without_an_issuer_nothing_changes():
    server = LaunchedServer(REFERENCE, timeout=20)
    server.ensure_running()
    try:
        assert post(server).status_code == 200
        prm = httpx.get(f"http://127.0.0.1:{server.port}/.well-known/oauth-protected-resource", trust_env=False)
        assert prm.status_code == 404
    finally:
        server.stop()


# -- faults ------------------------------------------------------------------------------------
def test_fault_auth_open(issuer, servers):
    server = servers["auth-open"]
    assert post(server).status_code == 200
    assert post(server, token="garbage").status_code == 401
    assert httpx.get(server.url, headers=ACCEPT, trust_env=False).status_code == 401


def test_fault_accept_any_audience_checks_the_rest(issuer, servers):
    server = servers["auth-accept-any-audience"]
    assert post(server, token=mint(issuer, server, aud="http://127.0.0.1:1/other-mcp")).status_code == 200
    assert post(server, token=mint(issuer, server, aud=None)).status_code == 401
    assert post(server, token=mint(issuer, server, aud="http://127.0.0.1:1/x", exp=1)).status_code == 401


def test_fault_session_not_bound(issuer, servers):
    server = servers["auth-session-not-bound"]
    session = initialize(server, mint(issuer, server))
    assert on_session(server, session, mint(issuer, server, sub="bob")).status_code == 200
    assert on_session(server, session, "garbage").status_code == 401


def test_fault_validate_first_request_only(issuer, servers):
    server = servers["auth-validate-first-request-only"]
    assert post(server, token="garbage").status_code == 401  # initialize is validated
    session = initialize(server, mint(issuer, server))
    assert on_session(server, session, "garbage").status_code == 200
    assert on_session(server, session, mint(issuer, server, sub="bob")).status_code == 404  # still bound
    assert on_session(server, session, None).status_code == 401


def test_fault_incremental_challenge(issuer, servers):
    server = servers["auth-incremental-challenge"]
    first = post(server, token=mint(issuer, server, scope=""))
    assert first.status_code == 403 and challenge(first)["scope"] == "mcp:basic"
    second = post(server, token=mint(issuer, server, scope="mcp:basic"))
    assert second.status_code == 403 and challenge(second)["scope"] == "mcp:tools"
    assert post(server, token=mint(issuer, server)).status_code == 200


def test_faults_garbage_and_inactive_are_told_apart(issuer, servers):
    garbage, inactive = servers["auth-accept-garbage"], servers["auth-introspection-ignores-active"]
    for server, accepted in ((garbage, "never-issued"), (inactive, "inactive")):
        assert (post(server, token="never-issued").status_code == 200) == (accepted == "never-issued")
        for bare in (False, True):
            assert (post(server, token=opaque(issuer, server, False, bare)).status_code == 200) == (
                accepted == "inactive"
            )
    assert post(garbage, token=mint(issuer, garbage, exp=1)).status_code == 401  # JWTs are still checked


def test_fault_prm_trailing_slash(issuer, servers):
    server = servers["prm-trailing-slash"]
    prm = httpx.get(metadata_url(server), trust_env=False).json()
    assert prm["resource"] == server.url + "/"
    assert post(server, token=mint(issuer, server)).status_code == 200
    assert post(server, token=mint(issuer, server, aud=server.url + "/")).status_code == 200  # what it advertises


def test_fault_no_resource_metadata(issuer, servers):
    server = servers["auth-no-resource-metadata"]
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        assert httpx.get(f"http://127.0.0.1:{server.port}{path}", trust_env=False).status_code == 404
    assert "resource_metadata" not in challenge(post(server))
    refused = post(server, token=mint(issuer, server, scope=""))
    assert refused.status_code == 403 and "resource_metadata" not in challenge(refused)


def test_fault_challenge_not_bearer(issuer, servers):
    server = servers["auth-challenge-not-bearer"]
    assert post(server).headers["www-authenticate"] == 'Basic realm="mcp"'
    refused = post(server, token=mint(issuer, server, scope=""))
    assert refused.status_code == 403 and challenge(refused)[""] == "Bearer"
