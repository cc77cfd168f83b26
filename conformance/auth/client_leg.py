"""The client leg's authorization harness: for one `auth/*` scenario the suite serves the
scripted MCP server (conformance.peer_http) as an OAuth-protected resource, and the
authorization server its metadata names (two, where the resource moves from one to the
other; on the MCP server's own origin for a 2025-03-26 server), each on its own loopback
port.

The resource server answers 401 with a Bearer challenge, serves Protected Resource
Metadata where the scenario puts it, verifies the JWT on every POST, GET and DELETE (its
signature, `iss`, `aud`, `exp`, the scope the request needs), refuses query-string tokens
and can answer 403 for step-up; it serves the scripted tool's icon and notes the credentials
an icon fetch carries. The authorization server serves its metadata at the
scenario's discovery URL only (other well-known URLs answer 404; some are traps),
approves `/authorize` at once with a 302 to the client's redirect URI, binds each code to
client, redirect URI, PKCE challenge, resource and scope, and serves `/token`
(authorization_code with PKCE, refresh_token with rotation, client_credentials with
client_secret_basic or private_key_jwt) and `/register`; it fetches a client ID metadata
document whose URL answers (not the official suite's fixed one). Nothing is judged here: every
request to either server goes into the scenario's record as an `oauth-http` event (secrets
hidden), with what the server found (PKCE matched, client authentication used...), and
the checks in scenarios/client/authorization.py grade the record.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..peer import TOOL
from ..peer_http import PATH, HttpPeer, PeerApp
from .keys import SigningKeys
from .setup import same_resource
from .tokens import Minter, s256

HOST = "127.0.0.1"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
PRM_ROOT = "/.well-known/oauth-protected-resource"
AS_ROOT = "/.well-known/oauth-authorization-server"
OIDC_ROOT = "/.well-known/openid-configuration"
CIMD_URL = "https://conformance-test.local/client-metadata.json"  # the official suite's fixed client id URL
EVIL = "https://evil.example.com"
CIMD_TIMEOUT = 3.0  # seconds to fetch a client ID metadata document
MAX_AUTHORIZATIONS = 6  # then /authorize refuses, so a client that never stops still ends
HIDDEN = {"code", "code_verifier", "client_secret", "refresh_token", "client_assertion", "access_token"}
PRE_REGISTERED = {"client_id": "pre-registered-client", "client_secret": "pre-registered-secret"}
CREDENTIALS = {"client_id": "conformance-test-client", "client_secret": "conformance-test-secret"}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ICON_PATH = "/icons/echo.png"
ICON_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class AuthScenario:
    """What one scenario's servers do. `expect`: "complete" (the client gets a token and
    uses it), "no-authorization" (it must not send the user to /authorize), "no-token"
    (after the redirect, it must not redeem the code), "step-up" (it completes only by
    authorizing again, a SHOULD), "refused" (no token is ever enough: it must give up), or
    one owned by the scenario's own check: "legacy" (a 2025-03-26 server), "migration",
    "registration-rejected"."""

    name: str
    summary: str
    prm_path: str | None = PRM_PATH
    prm_in_challenge: bool = True
    resource: str | None = None  # the PRM `resource`; None: the MCP endpoint's URL ("{url}" filled)
    prm_scopes: tuple[str, ...] | None = None
    challenge_scope: str | None = None
    as_metadata: str | None = AS_ROOT  # None: no metadata anywhere (a 2025-03-26 server's default endpoints)
    as_prefix: str = ""  # the issuer's path
    endpoint_path: str = ""  # of /authorize, /token, /register, after the issuer
    as_scopes: tuple[str, ...] | None = None  # the authorization server metadata's scopes_supported
    openid: bool = False
    registration: bool = True
    auth_methods: tuple[str, ...] = ("none",)
    cimd: bool | None = None
    pkce_methods: tuple[str, ...] | None = ("S256",)
    iss_supported: bool | None = True
    iss_mode: str = "correct"  # correct, wrong, omit, normalized
    metadata_issuer: str | None = None  # served in place of the true issuer
    state: str = "echo"  # echo, or tampered
    # (the scope every request needs, the one tools/call needs instead); as in the official
    # scenario the 403 names only the second, so a client that keeps the first (the union
    # the spec asks for) is told apart from one that only echoes the challenge. Unlike it,
    # initialize needs a token too: one flow before the session, none racing its GET stream
    step_up: tuple[str, str] | None = None
    always_403: bool = False
    expire_after: int = 0  # the first two access tokens expire after this many uses (0: never)
    grant: str = "authorization_code"  # or client_credentials
    client_auth: str = ""  # client_credentials: client_secret_basic or private_key_jwt
    pre_registered: bool = False
    reject_registrations: int = 0  # the first ones are refused 400 invalid_redirect_uri
    # two authorization servers: after the first authorized request (past initialize) the
    # PRM names the second and tokens of the first are refused
    migrate: bool = False
    legacy: bool = False  # a 2025-03-26 server: no PRM, its own origin is the authorization server
    expect: str = "complete"
    revision: str = "2025-11-25"

    @property
    def icon(self) -> bool:
        """The tool offered has an icon on the resource server (Tool.icons: from 2025-11-25)."""
        return self.revision >= "2025-11-25"

    @property
    def file_name(self) -> str:
        return self.name.replace("/", "_")


def _s(name, summary, **kw) -> AuthScenario:
    return AuthScenario(f"auth/{name}", summary, **kw)


MODERN, LEGACY = "2026-07-28", "2025-03-26"
SCENARIOS = {
    s.name: s
    for s in [
        _s("metadata-default", "PRM at the path-based URL and in the challenge; AS metadata at the root"),
        _s(
            "metadata-var1",
            "PRM at the path-based URL, not in the challenge; OpenID configuration only",
            prm_in_challenge=False,
            as_metadata=OIDC_ROOT,
            openid=True,
        ),
        _s(
            "metadata-var2",
            "PRM at the root URL only; issuer with a path (RFC 8414 path insertion)",
            prm_path=PRM_ROOT,
            prm_in_challenge=False,
            as_metadata=AS_ROOT + "/tenant1",
            as_prefix="/tenant1",
        ),
        _s(
            "metadata-var3",
            "PRM at a custom URL named in the challenge; OpenID configuration after the issuer path",
            prm_path="/custom/metadata/location.json",
            as_metadata="/tenant1" + OIDC_ROOT,
            as_prefix="/tenant1",
            openid=True,
        ),
        _s(
            "metadata-var4",
            "issuer with a path; OpenID configuration with the path inserted",
            as_metadata=OIDC_ROOT + "/tenant1",
            as_prefix="/tenant1",
            openid=True,
        ),
        _s("basic-cimd", "the AS supports client ID metadata documents", cimd=True),
        _s(
            "pre-registration",
            "no registration endpoint: the client has pre-registered credentials",
            registration=False,
            auth_methods=("client_secret_basic",),
            pre_registered=True,
        ),
        _s("token-endpoint-auth-basic", "the AS takes client_secret_basic only", auth_methods=("client_secret_basic",)),
        _s("token-endpoint-auth-post", "the AS takes client_secret_post only", auth_methods=("client_secret_post",)),
        _s("token-endpoint-auth-none", "the AS takes public clients (none)", auth_methods=("none",)),
        _s(
            "scope-from-www-authenticate",
            "the challenge names a scope; PRM lists only others (no set relation may be assumed)",
            challenge_scope="mcp:read",
            prm_scopes=("mcp:profile", "mcp:admin"),
        ),
        _s(
            "scope-from-scopes-supported",
            "no scope in the challenge; PRM lists scopes_supported",
            prm_scopes=("mcp:basic", "mcp:read", "mcp:write"),
        ),
        _s("scope-omitted-when-undefined", "no scope anywhere: the client asks for none"),
        _s(
            "scope-step-up",
            "tools/list needs mcp:basic; tools/call answers 403 naming mcp:write until it is granted",
            challenge_scope="mcp:basic",
            prm_scopes=("mcp:profile",),
            step_up=("mcp:basic", "mcp:write"),
            expect="step-up",
        ),
        _s(
            "scope-retry-limit",
            "every authorized request is answered 403 insufficient_scope",
            challenge_scope="mcp:basic",
            always_403=True,
            expect="refused",
        ),
        _s(
            "client-credentials-basic",
            "client_credentials with client_secret_basic (no user)",
            registration=False,
            grant="client_credentials",
            client_auth="client_secret_basic",
            auth_methods=("client_secret_basic",),
        ),
        _s(
            "client-credentials-jwt",
            "client_credentials with private_key_jwt (RFC 7523)",
            registration=False,
            grant="client_credentials",
            client_auth="private_key_jwt",
            auth_methods=("private_key_jwt",),
        ),
        _s(
            "resource-mismatch",
            "PRM names another server as its resource: the client must not authorize",
            resource=EVIL + "/mcp",
            expect="no-authorization",
            revision=MODERN,
        ),
        _s(
            "metadata-issuer-mismatch",
            "the AS metadata names another issuer: the client must not authorize",
            metadata_issuer=EVIL,
            expect="no-authorization",
            revision=MODERN,
        ),
        _s(
            "pkce-not-advertised",
            "the AS metadata has no code_challenge_methods_supported",
            pkce_methods=None,
            expect="no-authorization",
        ),
        _s(
            "oidc-pkce-not-advertised",
            "the OpenID configuration has no code_challenge_methods_supported",
            as_metadata=OIDC_ROOT,
            openid=True,
            pkce_methods=None,
            expect="no-authorization",
        ),
        _s(
            "state-mismatch",
            "the redirect carries another state: the client must not redeem the code",
            state="tampered",
            expect="no-token",
        ),
        _s("iss-supported", "iss advertised and sent correctly", revision=MODERN),
        _s(
            "iss-not-advertised",
            "iss neither advertised nor sent",
            iss_supported=None,
            iss_mode="omit",
            revision=MODERN,
        ),
        _s(
            "iss-supported-missing",
            "iss advertised but missing from the redirect",
            iss_mode="omit",
            expect="no-token",
            revision=MODERN,
        ),
        _s(
            "iss-wrong-issuer",
            "iss advertised and naming another issuer",
            iss_mode="wrong",
            expect="no-token",
            revision=MODERN,
        ),
        _s(
            "iss-unexpected",
            "iss not advertised, yet sent naming another issuer",
            iss_supported=None,
            iss_mode="wrong",
            expect="no-token",
            revision=MODERN,
        ),
        _s(
            "iss-normalized",
            "iss is the issuer with a trailing slash (equal only after normalization)",
            iss_mode="normalized",
            expect="no-token",
            revision=MODERN,
        ),
        _s("resource-uppercase", "the PRM resource has an upper-case scheme and host", resource="{upper}"),
        _s("token-expiry", "the first two access tokens expire after two uses; refresh tokens rotate", expire_after=2),
        _s(
            "2025-03-26-oauth-metadata-backcompat",
            "a 2025-03-26 server: no PRM; AS metadata at the MCP server's root, its endpoints under /oauth",
            prm_path=None,
            legacy=True,
            endpoint_path="/oauth",
            iss_supported=None,
            iss_mode="omit",
            expect="legacy",
            revision=LEGACY,
        ),
        _s(
            "2025-03-26-oauth-endpoint-fallback",
            "a 2025-03-26 server: no metadata at all; /authorize, /token and /register at the MCP server's root",
            prm_path=None,
            legacy=True,
            as_metadata=None,
            iss_supported=None,
            iss_mode="omit",
            expect="legacy",
            revision=LEGACY,
        ),
        _s(
            "authorization-server-migration",
            "after the first authorized request the PRM names a second AS, and tokens of the first are refused",
            challenge_scope="mcp:basic",
            migrate=True,
            expect="migration",
            revision=MODERN,
        ),
        _s(
            "offline-access-scope",
            "the AS metadata lists offline_access in scopes_supported (the PRM does not); "
            "it takes client ID metadata documents and registrations",
            prm_scopes=("mcp:basic",),
            as_scopes=("mcp:basic", "offline_access"),
            cimd=True,
            revision=MODERN,
        ),
        _s(
            "offline-access-not-supported",
            "the AS metadata lists scopes_supported without offline_access",
            prm_scopes=("mcp:basic", "mcp:read"),
            as_scopes=("mcp:basic", "mcp:read"),
            revision=MODERN,
        ),
        _s(
            "registration-rejected",
            "the first registration is refused 400 invalid_redirect_uri",
            reject_registrations=1,
            expect="registration-rejected",
        ),
    ]
}


def _upper_origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.upper(), netloc=parts.netloc.upper()))


def _shown(values: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """A request's parameters for the record: secrets hidden, single values unwrapped."""
    shown = {}
    for name, items in values.items():
        items = ["(hidden)" if name in HIDDEN else v for v in items]
        shown[name] = items[0] if len(items) == 1 else items
    return shown


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _json(status: int, document: dict, headers: dict | None = None):
    return JSONResponse(document, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


@dataclass
class Client:
    client_id: str
    secret: str | None
    method: str  # token endpoint authentication: none, client_secret_basic, client_secret_post


class AuthHarness:
    """The loopback servers of one scenario (the resource server, and one authorization
    server or two), writing into the peer's record."""

    _keys: SigningKeys | None = None
    _keys_lock = threading.Lock()

    def __init__(self, scenario: AuthScenario, report_path: str):
        self.scenario = scenario
        self.peer = HttpPeer(scenario.name, report_path)  # an auth/* name: the peer plays "initialize"
        self.token_names: dict[str, str] = {}  # access token -> "token #n", as the record shows it
        self.uses: dict[str, int] = {}
        self.issued: list[str] = []  # the names of the access tokens issued, in order
        self.authorizations = 0  # over every authorization server: the runaway bound is the client's
        self.registrations = 0
        self.assertion_key = (
            ec.generate_private_key(ec.SECP256R1()) if scenario.client_auth == "private_key_jwt" else None
        )
        self.servers: _Loopback | None = None
        self.resource_url = ""
        self.authorization_servers: list[_AuthorizationServer] = []
        self.migrated = False  # auth/authorization-server-migration: the second server is the current one

    # -- where things are --------------------------------------------------------------------
    @property
    def current(self) -> _AuthorizationServer:
        return self.authorization_servers[1 if self.migrated else 0]

    @property
    def issuer(self) -> str:
        return self.current.issuer

    @property
    def mcp_url(self) -> str:
        return self.resource_url + PATH

    @property
    def resource(self) -> str:
        chosen = self.scenario.resource
        if chosen is None:
            return self.mcp_url
        return _upper_origin(self.mcp_url) if chosen == "{upper}" else chosen

    def context(self) -> dict:
        """MCP_CONFORMANCE_CONTEXT, as the official suite gives it."""
        extra = {}
        if self.scenario.pre_registered:
            extra = {**PRE_REGISTERED, "issuer": self.issuer}
        elif self.scenario.client_auth == "client_secret_basic":
            extra = dict(CREDENTIALS)
        elif self.scenario.client_auth == "private_key_jwt":
            pem = self.assertion_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode("ascii")
            extra = {"client_id": CREDENTIALS["client_id"], "private_key_pem": pem, "signing_algorithm": "ES256"}
        return {"name": self.scenario.name, **extra}

    # -- life ------------------------------------------------------------------------------
    def start(self) -> AuthHarness:
        with AuthHarness._keys_lock:  # RSA key generation is slow: one key set for all scenarios
            AuthHarness._keys = AuthHarness._keys or SigningKeys.generate()
        s = self.scenario
        count = 2 if s.migrate else 1
        # a 2025-03-26 server is its own authorization server: one origin for both roles
        self.authorization_servers = [_AuthorizationServer(self, n + 1) for n in range(count)]
        apps = [self.resource_app] + ([] if s.legacy else [a.app for a in self.authorization_servers])
        self.servers = _Loopback(apps)
        self.resource_url = self.servers.bases[0]
        for server, base in zip(self.authorization_servers, self.servers.bases[1:] or self.servers.bases):
            server.locate(base)
        if s.pre_registered:
            client = Client(PRE_REGISTERED["client_id"], PRE_REGISTERED["client_secret"], "client_secret_basic")
            self.current.clients[client.client_id] = client
        if s.icon:
            self.peer.tool = {**TOOL, "icons": [{"src": self.resource_url + ICON_PATH, "mimeType": "image/png"}]}
        self.servers.start(self.peer)
        self.peer.record(
            {
                "event": "oauth-setup",
                "mcp_url": self.mcp_url,
                "resource": self.resource,
                "issuer": self.issuer,
                "issuers": [a.issuer for a in self.authorization_servers],
                "prm_url": self.resource_url + s.prm_path if s.prm_path else None,
            }
        )
        return self

    def stop(self) -> None:
        if self.servers is not None:
            self.servers.stop()
        self.peer.record({"event": "stopped"})
        self.peer.report.close()

    def log(self, server: str, request, status: int, **found) -> None:
        query = {} if "params" in found else _shown(parse_qs(request.url.query, keep_blank_values=True))
        self.peer.record(
            {
                "event": "oauth-http",
                "server": server,
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "status": status,
                **found,
            }
        )

    def token_name(self, token: str) -> str:
        return self.token_names.setdefault(token, f"token #{len(self.token_names) + 1}")

    # -- the resource server ------------------------------------------------------------------
    async def resource_app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path
        if path == PATH:
            body = await request.body()
            refusal = self.guard(request, body)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            replay = [{"type": "http.request", "body": body, "more_body": False}]

            async def replayed():
                return replay.pop() if replay else await receive()

            await PeerApp(self.peer)(scope, replayed, send)
            return
        if path == self.scenario.prm_path:
            document = {"resource": self.resource, "authorization_servers": [self.issuer]}
            if self.scenario.prm_scopes is not None:
                document["scopes_supported"] = list(self.scenario.prm_scopes)
            self.log("resource", request, 200, what="protected-resource-metadata", **self.which())
            await _json(200, document)(scope, receive, send)
            return
        if path == ICON_PATH and request.method == "GET":
            self.log(
                "resource",
                request,
                200,
                what="icon",
                authorization=request.headers.get("authorization") is not None,
                cookie=request.headers.get("cookie") is not None,
            )
            await Response(ICON_PNG, media_type="image/png")(scope, receive, send)
            return
        if self.scenario.legacy and self.current.handler(request) is not None:
            await self.current.app(scope, receive, send)
            return
        self.log("resource", request, 404, what="not-found")
        await Response(status_code=404)(scope, receive, send)

    def which(self) -> dict:
        """Which authorization server is meant, where a scenario has two."""
        return {"authorization_server": self.current.number} if self.scenario.migrate else {}

    def challenge(self, error: str | None = None, scope: str | None = None) -> str:
        params = []
        if error:
            params.append(f'error="{error}"')
        scope = scope or self.scenario.challenge_scope
        if scope:
            params.append(f'scope="{scope}"')
        if self.scenario.prm_in_challenge and self.scenario.prm_path:
            params.append(f'resource_metadata="{self.resource_url}{self.scenario.prm_path}"')
        return "Bearer " + ", ".join(params) if params else "Bearer"

    def guard(self, request, body: bytes):
        """None to let the request through to the MCP peer, else the refusal to answer."""
        method = _mcp_method(body) if request.method == "POST" else None
        header = request.headers.get("authorization")
        token = header[7:].strip() if header and header[:7].lower() == "bearer " else None
        in_query = "access_token" in parse_qs(request.url.query)
        found = {"mcp": method, "bearer": self.token_name(token) if token else None, "token_in_query": in_query}
        claims = self.verify(token) if token else None
        if claims is None:
            status = 401
            self.log(
                "resource", request, status, what="mcp", **found, refused="no token" if not token else "invalid token"
            )
            return _json(
                status,
                {"error": "invalid_token"},
                {"WWW-Authenticate": self.challenge("invalid_token" if token else None)},
            )
        needed = self.needed_scope(method)
        granted = set((claims.get("scope") or "").split())
        if self.scenario.always_403 or not set(needed.split()) <= granted:
            wanted = "mcp:admin" if self.scenario.always_403 else needed
            self.log("resource", request, 403, what="mcp", **found, refused=f"insufficient scope (needs {wanted})")
            return _json(
                403, {"error": "insufficient_scope"}, {"WWW-Authenticate": self.challenge("insufficient_scope", wanted)}
            )
        self.log("resource", request, 0, what="mcp", **found)  # 0: passed on to the MCP peer
        if (
            self.scenario.migrate
            and not self.migrated
            and method
            and method != "initialize"
            and not method.startswith("notifications/")
        ):
            # The resource moves to the second authorization server: its metadata names it
            # from now on, and the first one's tokens are refused (their issuer is not it).
            self.migrated = True
            self.peer.record({"event": "oauth-migrated", "issuer": self.issuer})
        return None

    def needed_scope(self, method: str | None) -> str:
        if not self.scenario.step_up:
            return ""
        first, more = self.scenario.step_up
        return more if method == "tools/call" else first

    def verify(self, token: str) -> dict | None:
        """The claims of a live access token the current authorization server issued for
        this resource, else None."""
        try:
            claims = jwt.decode(
                token,
                AuthHarness._keys.es256.public_key(),
                algorithms=["ES256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "aud"]},
            )
        except jwt.PyJWTError:
            return None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not any(same_resource(a, self.resource) for a in audiences):
            return None
        uses = self.uses[token] = self.uses.get(token, 0) + 1
        expiring = self.scenario.expire_after and self.token_name(token) in self.issued[:2]
        if expiring and uses > self.scenario.expire_after:
            return None
        return claims


class _AuthorizationServer:
    """One authorization server of a scenario: its metadata, /authorize, /token and
    /register, its clients, codes and refresh tokens (credentials of one server mean
    nothing to another)."""

    def __init__(self, harness: AuthHarness, number: int):
        self.harness, self.scenario, self.number = harness, harness.scenario, number
        self.base = ""
        self.minter: Minter | None = None
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, tuple[bool, str]] = {}  # refresh token -> (still valid, its scope)

    def locate(self, base: str) -> None:
        self.base = base
        self.minter = Minter(self.issuer, AuthHarness._keys)

    @property
    def issuer(self) -> str:
        return self.base + self.scenario.as_prefix

    @property
    def endpoints(self) -> str:
        return self.issuer + self.scenario.endpoint_path

    def log(self, request, status: int, **found) -> None:
        which = {"authorization_server": self.number} if self.scenario.migrate else {}
        self.harness.log("authorization", request, status, **which, **found)

    def handler(self, request):
        """The handler of the request's route, None where this server has none."""
        path, prefix = request.url.path, self.scenario.as_prefix + self.scenario.endpoint_path
        routes = {prefix + "/authorize": ("GET", self.authorize), prefix + "/token": ("POST", self.token)}
        if self.scenario.as_metadata:
            routes[self.scenario.as_metadata] = ("GET", self.metadata_document)
        if self.scenario.registration:
            routes[prefix + "/register"] = ("POST", self.register)
        verb, handler = routes.get(path, (None, None))
        return handler if request.method == verb else None

    async def app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        handler = self.handler(request)
        if handler is None:
            self.log(request, 404, what="not-found")
            response = _json(404, {"error": "not_found"})
        else:
            response = await handler(request)
        await response(scope, receive, send)

    def metadata(self) -> dict:
        s, base = self.scenario, self.endpoints
        document = {
            "issuer": s.metadata_issuer or self.issuer,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "response_types_supported": ["code"],
            "grant_types_supported": (
                ["client_credentials"] if s.grant == "client_credentials" else ["authorization_code", "refresh_token"]
            ),
            "token_endpoint_auth_methods_supported": list(s.auth_methods),
        }
        if s.registration:
            document["registration_endpoint"] = base + "/register"
        if s.pkce_methods is not None:
            document["code_challenge_methods_supported"] = list(s.pkce_methods)
        if s.iss_supported is not None:
            document["authorization_response_iss_parameter_supported"] = s.iss_supported
        if s.cimd is not None:
            document["client_id_metadata_document_supported"] = s.cimd
        if s.as_scopes is not None:
            document["scopes_supported"] = list(s.as_scopes)
        if s.client_auth == "private_key_jwt":
            document["token_endpoint_auth_signing_alg_values_supported"] = ["ES256"]
        if s.openid:
            document.update(
                jwks_uri=base + "/jwks.json",
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["ES256"],
            )
        return document

    async def metadata_document(self, request):
        self.log(request, 200, what="metadata")
        return _json(200, self.metadata())

    async def register(self, request):
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.log(request, 400, what="register")
            return _json(400, {"error": "invalid_client_metadata"})
        shown = {
            k: v
            for k, v in body.items()
            if k
            in (
                "client_name",
                "redirect_uris",
                "grant_types",
                "response_types",
                "token_endpoint_auth_method",
                "application_type",
                "scope",
            )
        }
        self.harness.registrations += 1
        if self.harness.registrations <= self.scenario.reject_registrations:
            refusal = "the redirect URIs do not fit this authorization server's rules for the application type"
            self.log(request, 400, what="register", registration=shown, refused=refusal)
            return _json(400, {"error": "invalid_redirect_uri", "error_description": refusal})
        method = body.get("token_endpoint_auth_method") or "client_secret_basic"
        if method not in self.scenario.auth_methods:
            method = self.scenario.auth_methods[0]
        prefix = f"as{self.number}-client" if self.scenario.migrate else "client"
        client = Client(
            f"{prefix}-{secrets.token_hex(4)}", None if method == "none" else secrets.token_urlsafe(16), method
        )
        self.clients[client.client_id] = client
        self.log(request, 201, what="register", registration=shown, client_id=client.client_id)
        answer = {**shown, "client_id": client.client_id, "token_endpoint_auth_method": method}
        if client.secret:
            answer["client_secret"] = client.secret
        return _json(201, answer)

    async def authorize(self, request):
        query = parse_qs(request.url.query, keep_blank_values=True)
        one = {k: v[0] for k, v in query.items()}
        self.harness.authorizations += 1
        found = {"what": "authorize", "attempt": self.harness.authorizations, "params": _shown(query)}
        client_id, redirect = one.get("client_id", ""), one.get("redirect_uri", "")
        known = client_id in self.clients or (self.scenario.cimd and client_id.startswith("https://"))
        if known and client_id not in self.clients and client_id != CIMD_URL:
            found["client_metadata"] = await client_metadata(client_id, redirect)
        problem = (
            "too many authorization requests"
            if self.harness.authorizations > MAX_AUTHORIZATIONS
            else "unknown client_id"
            if not known
            else "no redirect_uri"
            if not redirect
            else "response_type is not code"
            if one.get("response_type") != "code"
            else "client metadata document: " + "; ".join(found["client_metadata"]["problems"])
            if found.get("client_metadata", {}).get("problems")
            else None
        )
        if problem:
            self.log(request, 400, **found, refused=problem)
            return _json(400, {"error": "invalid_request", "error_description": problem})
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "client_id": client_id,
            "redirect_uri": redirect,
            "challenge": one.get("code_challenge"),
            "method": one.get("code_challenge_method"),
            "resource": query.get("resource", []),
            "scope": one.get("scope", ""),
        }
        state = one.get("state")
        answer = {"code": code}
        if state is not None:
            answer["state"] = "tampered-" + state if self.scenario.state == "tampered" else state
        iss = {"correct": self.issuer, "wrong": EVIL, "normalized": self.issuer + "/"}.get(self.scenario.iss_mode)
        if iss:
            answer["iss"] = iss
        location = redirect + ("&" if "?" in redirect else "?") + urlencode(answer)
        self.log(request, 302, **found)
        return RedirectResponse(location, status_code=302)

    async def token(self, request):
        form = _form(await request.body())
        one = {k: v[0] for k, v in form.items()}
        grant = one.get("grant_type")
        found = {
            "what": "token",
            "grant_type": grant,
            "params": _shown(form),
            "client_auth": self.client_auth_used(request, one),
        }
        handler = {
            "authorization_code": self.redeem_code,
            "refresh_token": self.refresh,
            "client_credentials": self.client_credentials,
        }.get(grant)
        if handler is None:
            self.log(request, 400, **found, refused="unsupported grant_type")
            return _json(400, {"error": "unsupported_grant_type"})
        problem, scope = handler(request, one, found)
        if problem:
            self.log(request, 400, **found, refused=problem)
            return _json(
                400,
                {
                    "error": "invalid_grant" if "client" not in problem else "invalid_client",
                    "error_description": problem,
                },
            )
        access = self.minter.valid(self.harness.resource, scope)
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        if grant != "client_credentials":
            refresh = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = (True, scope)
            answer["refresh_token"] = refresh
        issued = self.harness.issued
        issued.append(self.harness.token_name(access))
        self.log(request, 200, **found, issued=issued[-1])
        return _json(200, answer)

    @staticmethod
    def client_auth_used(request, one: dict) -> str:
        if _basic_credentials(request.headers.get("authorization")):
            return "client_secret_basic"
        if "client_assertion" in one:
            return "private_key_jwt"
        return "client_secret_post" if "client_secret" in one else "none"

    def authenticate(self, request, one: dict, client_id: str) -> str | None:
        """Why the client's authentication at the token endpoint fails, or None."""
        client = self.clients.get(client_id)
        if client is None:
            return (
                None
                if self.scenario.cimd and client_id.startswith("https://")
                else "client authentication: unknown client"
            )
        basic = _basic_credentials(request.headers.get("authorization"))
        if client.method == "client_secret_basic":
            ok = basic == (client.client_id, client.secret)
        elif client.method == "client_secret_post":
            ok = basic is None and one.get("client_secret") == client.secret
        else:
            ok = basic is None and "client_secret" not in one
        return None if ok else f"client authentication: the client registered {client.method}"

    def redeem_code(self, request, one: dict, found: dict) -> tuple[str | None, str]:
        basic = _basic_credentials(request.headers.get("authorization"))
        client_id = one.get("client_id") or (basic[0] if basic else "")
        found["client_id"] = client_id
        bound = self.codes.pop(one.get("code", ""), None)
        if bound is None:
            return "unknown or used code", ""
        verifier = one.get("code_verifier")
        pkce = (
            "missing"
            if not verifier or not bound["challenge"]
            else "match"
            if s256(verifier) == bound["challenge"]
            else "mismatch"
        )
        found.update(pkce=pkce, authorize_resource=bound["resource"])
        problem = (
            self.authenticate(request, one, client_id)
            or ("the code was issued to another client" if client_id != bound["client_id"] else None)
            or (
                "redirect_uri differs from the authorization request"
                if one.get("redirect_uri") != bound["redirect_uri"]
                else None
            )
            or (f"PKCE: code_verifier {pkce}" if pkce != "match" else None)
        )
        return problem, bound["scope"]

    def refresh(self, request, one: dict, found: dict) -> tuple[str | None, str]:
        token = one.get("refresh_token", "")
        live, scope = self.refresh_tokens.get(token, (None, ""))
        if live is None:
            if any(token in other.refresh_tokens for other in self.harness.authorization_servers):
                found["refresh_token_of"] = "another authorization server"
            return "unknown refresh token", ""
        if not live:
            found["reused_refresh_token"] = True
            return "refresh token already used (rotated)", ""
        self.refresh_tokens[token] = (False, scope)  # rotation: each refresh token works once
        return None, one.get("scope") or scope

    def client_credentials(self, request, one: dict, found: dict) -> tuple[str | None, str]:
        client_id = CREDENTIALS["client_id"]
        if self.scenario.client_auth == "client_secret_basic":
            basic = _basic_credentials(request.headers.get("authorization"))
            problem = (
                None
                if basic == (client_id, CREDENTIALS["client_secret"])
                else "client authentication: client_secret_basic with the context's credentials expected"
            )
        else:
            problem = self.assertion_problem(one, client_id)
        found["assertion"] = problem or "valid" if self.scenario.client_auth == "private_key_jwt" else None
        return problem, one.get("scope", "")

    def assertion_problem(self, one: dict, client_id: str) -> str | None:
        if one.get("client_assertion_type") != JWT_BEARER:
            return "client authentication: client_assertion_type is not jwt-bearer"
        base = self.issuer
        audiences = [base, base + "/", base + "/token"]
        try:
            claims = jwt.decode(
                one.get("client_assertion", ""),
                self.harness.assertion_key.public_key(),
                algorithms=["ES256"],
                audience=audiences,
                options={"require": ["exp", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            return f"client authentication: the assertion does not verify ({exc})"
        if claims["iss"] != client_id or claims["sub"] != client_id:
            return "client authentication: the assertion's iss and sub must be the client_id"
        return None


async def client_metadata(url: str, redirect_uri: str) -> dict:
    """Fetch the client ID metadata document at `url` (within CIMD_TIMEOUT) and say what is
    wrong with it for an authorization request to `redirect_uri`. A loopback URL's
    certificate is not verified: a client serving its own document on 127.0.0.1 signs it
    itself, and nothing else can answer there."""
    loopback = (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")
    try:
        async with httpx.AsyncClient(timeout=CIMD_TIMEOUT, verify=not loopback, follow_redirects=False) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        return {"fetched": False, "error": str(error) or type(error).__name__}
    try:
        document = response.json()
    except ValueError:
        document = None
    if response.status_code != 200 or not isinstance(document, dict):
        return {"fetched": True, "status": response.status_code, "problems": ["no JSON object behind the URL"]}
    uris = document.get("redirect_uris")
    problems = [
        f"client_id {document.get('client_id')!r} is not the document's URL"
        if document.get("client_id") != url
        else None,
        "no client_name" if not isinstance(document.get("client_name"), str) else None,
        "no redirect_uris"
        if not isinstance(uris, list) or not uris
        else f"redirect_uri {redirect_uri!r} is not among its redirect_uris"
        if redirect_uri not in uris
        else None,
    ]
    return {
        "fetched": True,
        "status": 200,
        "problems": [p for p in problems if p],
        "grant_types": document.get("grant_types"),
    }


def _mcp_method(body: bytes) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message.get("method") if isinstance(message, dict) else None


class _Loopback:
    """Both servers of a scenario: one uvicorn server on a thread, listening on two loopback
    sockets bound at once (so their ports are known with no race); requests go to the app
    of the socket they came in on. One event loop, so the peer's state needs no lock."""

    def __init__(self, apps: list):
        self.sockets = []
        for _ in apps:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, 0))
            self.sockets.append(sock)
        self.apps = {sock.getsockname()[1]: app for sock, app in zip(self.sockets, apps)}
        self.bases = [f"http://{HOST}:{sock.getsockname()[1]}" for sock in self.sockets]
        self.server = None
        self.thread: threading.Thread | None = None

    async def dispatch(self, scope, receive, send) -> None:
        await self.apps[scope["server"][1]](scope, receive, send)

    def start(self, peer: HttpPeer, timeout: float = 5.0) -> _Loopback:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(
                self.dispatch, log_level="warning", lifespan="off", interface="asgi3", timeout_graceful_shutdown=0.1
            )
        )

        async def main():
            async def ticks():  # the peer's held answers time out by ticks
                while True:
                    await asyncio.sleep(0.1)
                    peer.tick()

            ticker = asyncio.ensure_future(ticks())
            try:
                await self.server.serve(sockets=self.sockets)
            finally:
                ticker.cancel()

        self.thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True, name="mcp-client-leg-auth")
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
            if self.thread.is_alive():  # a held connection keeps the graceful shutdown waiting
                self.server.force_exit = True
                self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()
