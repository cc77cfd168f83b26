"""The reference HTTP server as an OAuth 2.1 resource server, with switchable faults.

    python -m conformance.reference.http --port N --auth-issuer URL [--auth-scope "mcp:basic mcp:tools"]

`ResourceGuard` wraps the ReferenceApp's ASGI app. Every request to the MCP endpoint (POST,
GET, DELETE, whatever the era) needs `Authorization: Bearer <token>` (the header only; a token
in the query string is ignored) carrying every scope of `--auth-scope`: one uniform
requirement, so a 403 names them all. A JWT is verified against the issuer's JWKS (ES256 or
RS256; signature, `iss` exactly, `aud` naming this resource with scheme and host compared
case-insensitively, `exp`, `nbf`, then the `scope` claim); any other token is opaque and is
introspected (RFC 7662) at the issuer. The resource is the endpoint's URL; the one the
metadata advertises is accepted as well (they differ only under the prm-* faults, whose
defect is the metadata document alone, so the suite's tokens minted for it still work).
The JWKS is fetched on first use and again when a `kid` is unknown, so the issuer may start before or after this server.

  * no token                      401  Bearer resource_metadata=..., scope=...
  * another scheme, bad token     401  Bearer error="invalid_token", error_description=..., ...
  * `Bearer` alone, `Bearer a b`  400  Bearer error="invalid_request", ...
  * scopes missing                403  Bearer error="insufficient_scope", scope=<every scope needed>, ...
  * a session used by another `sub` than the one that opened it: 404 "Session not found"

Protected Resource Metadata (RFC 9728) is served without a token at the path-based
`/.well-known/oauth-protected-resource/mcp` and at the root `/.well-known/oauth-protected-resource`.
The issuer's endpoints are `{issuer}/jwks.json` and `{issuer}/introspect`, or the URLs in
MCP_CONFORMANCE_AUTH_JWKS_URI and MCP_CONFORMANCE_AUTH_INTROSPECTION_ENDPOINT when set.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from urllib.parse import parse_qsl, urlsplit

from .. import jsonrpc
from ..auth.setup import same_resource
from .faults import Fault

MODERN = "2026-07-28"
ISSUER_ARGS = "--auth-issuer {issuer}"  # the suite fills in {issuer} (and {port})
PRM_PATH = "/.well-known/oauth-protected-resource"
ALGORITHMS = ("ES256", "RS256")
LEEWAY = 5.0  # seconds of clock skew allowed for exp and nbf
FETCH_TIMEOUT = 3.0  # seconds for a JWKS fetch or an introspection call
SESSION_HEADER = b"mcp-session-id"
OFFLINE_ACCESS = "offline_access"


def _fault(
    description: str, check: str, outcome: str = "failed", revision: str = "2025-11-25", also: tuple[str, ...] = ()
) -> Fault:
    return Fault(description, check, outcome, ISSUER_ARGS, revision=revision, also=also)


FAULTS: dict[str, Fault] = {
    # the positive control: every other check of the run is BLOCKED by it
    "auth-refuse-valid": _fault(
        "refuses every token, valid ones too (401 invalid_token)", "test_auth_valid_token_accepted"
    ),
    # refusing the unauthenticated, and the challenge
    "auth-open": _fault("serves POST /mcp without any token", "test_auth_unauthenticated_refused"),
    "auth-get-open": _fault(
        "serves GET (SSE stream) and DELETE without a token (POST still protected)", "test_auth_unauthenticated_refused"
    ),
    "auth-401-no-challenge": _fault("answers 401 without WWW-Authenticate", "test_auth_challenge_is_bearer"),
    "auth-challenge-not-bearer": _fault(
        'challenges 401s with Basic realm="mcp", not Bearer', "test_auth_challenge_is_bearer"
    ),
    "auth-no-resource-metadata": _fault(
        "challenges without resource_metadata and serves no Protected Resource Metadata at either well-known URL",
        "test_auth_resource_metadata_discoverable",
    ),
    "auth-401-no-scope": _fault("401 challenges carry no scope parameter", "test_auth_challenge_names_scope", "warned"),
    "auth-offline-access": _fault(
        "names offline_access in scopes_supported and in the challenge scope",
        "test_auth_no_offline_access",
        "warned",
        revision=MODERN,
    ),
    # Protected Resource Metadata
    "prm-wrong-resource": _fault(
        "Protected Resource Metadata names the resource .../other", "test_auth_protected_resource_metadata"
    ),
    "prm-no-authorization-servers": _fault(
        "Protected Resource Metadata with authorization_servers []", "test_auth_protected_resource_metadata"
    ),
    "prm-trailing-slash": _fault(
        "Protected Resource Metadata names the resource .../mcp/ (trailing slash)",
        "test_auth_resource_uri_form",
        "warned",
        also=("test_auth_protected_resource_metadata",),
    ),
    # the token and where it comes from
    "auth-accept-garbage": _fault(
        "accepts a token that is neither a JWT nor known to introspection", "test_auth_invalid_token_refused"
    ),
    "auth-any-scheme": _fault(
        "accepts a valid token after any scheme (Basic <jwt>)", "test_auth_malformed_authorization_refused"
    ),
    "auth-accept-query-token": _fault("accepts the token from ?access_token=", "test_auth_query_token_refused"),
    # JWT validation
    "auth-accept-any-audience": _fault(
        "does not check aud (any value; a missing aud is still refused)", "test_auth_token_audience_validated"
    ),
    "auth-accept-no-audience": _fault("accepts a token without aud", "test_auth_token_audience_validated"),
    "auth-accept-expired": _fault("does not check exp", "test_auth_token_lifetime_validated"),
    "auth-ignore-nbf": _fault("does not check nbf", "test_auth_token_lifetime_validated"),
    "auth-accept-any-issuer": _fault("does not check iss", "test_auth_token_issuer_validated"),
    "auth-skip-signature": _fault(
        "does not verify JWT signatures (alg none still refused)", "test_auth_token_signature_validated"
    ),
    "auth-accept-alg-none": _fault("accepts unsigned alg=none tokens", "test_auth_token_signature_validated"),
    "auth-case-sensitive-aud": _fault(
        "compares aud case-sensitively (an uppercase scheme or host is refused)",
        "test_auth_uppercase_audience_accepted",
        "warned",
    ),
    # A server that ignores `active` accepts any random token too (unknown ones are inactive):
    # the invalid-token rule is broken as well.
    "auth-introspection-ignores-active": _fault(
        "accepts tokens introspection answers with active:false",
        "test_auth_inactive_introspected_token_refused",
        also=("test_auth_invalid_token_refused",),
    ),
    # scopes
    "auth-scope-as-401": _fault(
        "answers a missing scope with 401 invalid_token, not 403", "test_auth_insufficient_scope"
    ),
    "auth-403-no-challenge": _fault("answers 403 without WWW-Authenticate", "test_auth_insufficient_scope", "warned"),
    "auth-403-no-scope": _fault("403 challenges carry no scope parameter", "test_auth_insufficient_scope", "warned"),
    "auth-incremental-challenge": _fault(
        "a 403 names only the first missing scope, the next one on the next try",
        "test_auth_scope_challenge_complete",
        "warned",
        revision=MODERN,
    ),
    # sessions
    "auth-validate-first-request-only": _fault(
        "validates only the initialize request: a session's later requests are served whatever their token",
        "test_auth_every_request_validated",
    ),
    "auth-session-not-bound": _fault(
        "serves a session to any subject's valid token", "test_auth_session_bound_to_subject", "warned"
    ),
}

B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 §2.1 b64token
ISSUED_LOOKING = re.compile(r"^[A-Za-z0-9_-]{32,}$")


class Refusal(Exception):
    """Why a request is not served: 400 invalid_request, 401 invalid_token or 403 insufficient_scope."""

    def __init__(self, status: int, error: str | None, description: str | None, scope: list[str] | None = None):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.scope = scope  # the scopes the challenge names (None: every scope advertised)


class Principal:
    """Who a valid token speaks for, and what it may do."""

    def __init__(self, subject, scopes):
        self.subject = subject if isinstance(subject, str) else None
        self.scopes = set(scopes)


def _scopes(claims: dict) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp = claims.get("scp")
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    return []


def looks_issued(token: str, answer: dict) -> bool:
    """Whether an inactive token is one the issuer issued rather than garbage. RFC 7662 §2.2
    answers both with `{"active": false}`, so only two faults need to tell them apart
    (auth-accept-garbage, auth-introspection-ignores-active): an answer that still carries
    claims, or a token with the entropy of an issued one (32+ base64url characters, like
    `secrets.token_urlsafe(32)`), is taken for an issued token; anything else is garbage."""
    return any(key != "active" for key in answer) or bool(ISSUED_LOOKING.match(token))


def metadata_url(resource: str) -> str:
    """The path-based well-known URL of `resource`'s Protected Resource Metadata (RFC 9728 §3.1)."""
    parts = urlsplit(resource)
    path = parts.path if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}{PRM_PATH}{path}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "").replace('"', "'") + '"'


class ResourceGuard:
    """ASGI middleware: serves Protected Resource Metadata and lets through only requests
    whose bearer token the issuer vouches for (see the module docstring)."""

    def __init__(
        self,
        app,
        issuer: str,
        resource: str,
        scopes: list[str] | tuple[str, ...],
        faults: set[str] | frozenset[str] = frozenset(),
    ):
        try:
            from jwt.algorithms import has_crypto
        except ImportError:
            has_crypto = False
        if not has_crypto:
            raise RuntimeError("--auth-issuer needs PyJWT with cryptography: pip install 'pyjwt[crypto]'")
        self.app = app
        self.issuer = issuer
        self.resource = resource
        self.scopes = list(dict.fromkeys(scopes))
        self.faults = set(faults)
        base = issuer.rstrip("/")
        self.jwks_uri = os.environ.get("MCP_CONFORMANCE_AUTH_JWKS_URI") or f"{base}/jwks.json"
        self.introspection_endpoint = (
            os.environ.get("MCP_CONFORMANCE_AUTH_INTROSPECTION_ENDPOINT") or f"{base}/introspect"
        )
        self.metadata_url = metadata_url(resource)
        self.keys: list | None = None  # the issuer's keys (PyJWK), fetched on first use
        self._keys_lock: asyncio.Lock | None = None
        self._client = None  # an httpx.AsyncClient, made on first use
        self.bound: dict[str, str | None] = {}  # session id -> the subject that opened it

    def has(self, fault: str) -> bool:
        return fault in self.faults

    # -- what is advertised ----------------------------------------------------------------
    def advertised_resource(self) -> str:
        if self.has("prm-wrong-resource"):
            return self.resource.rsplit("/", 1)[0] + "/other"
        if self.has("prm-trailing-slash"):
            return self.resource.rstrip("/") + "/"
        return self.resource

    def advertised_scopes(self) -> list[str]:
        return [*self.scopes, OFFLINE_ACCESS] if self.has("auth-offline-access") else list(self.scopes)

    def metadata(self) -> dict:
        return {
            "resource": self.advertised_resource(),
            "authorization_servers": [] if self.has("prm-no-authorization-servers") else [self.issuer],
            "scopes_supported": self.advertised_scopes(),
            "bearer_methods_supported": ["header"],
        }

    def challenge(self, refusal: Refusal) -> str | None:
        """The WWW-Authenticate value for a refusal (None: the header is left out)."""
        status = refusal.status
        if self.has({401: "auth-401-no-challenge", 403: "auth-403-no-challenge"}.get(status, "")):
            return None
        if status == 401 and self.has("auth-challenge-not-bearer"):
            return 'Basic realm="mcp"'
        params = []
        if refusal.error:
            params.append(f"error={_quoted(refusal.error)}")
            if refusal.description:
                params.append(f"error_description={_quoted(refusal.description)}")
        if not self.has("auth-no-resource-metadata"):
            params.append(f"resource_metadata={_quoted(self.metadata_url)}")
        scope = self.advertised_scopes() if refusal.scope is None else refusal.scope
        if scope and not self.has({401: "auth-401-no-scope", 403: "auth-403-no-scope"}.get(status, "")):
            params.append(f"scope={_quoted(' '.join(scope))}")
        return "Bearer " + ", ".join(params) if params else "Bearer"

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if (
            path in (PRM_PATH, urlsplit(self.metadata_url).path)
            and scope["method"] in ("GET", "HEAD")
            and not self.has("auth-no-resource-metadata")
        ):
            await self.send_json(send, 200, self.metadata(), {})
            return
        if path.startswith("/.well-known/"):  # discovery probes are not the MCP endpoint: 404 there
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticate(scope)
        except Refusal as refusal:
            await self.refuse(send, refusal)
            return
        if principal is None:  # served without a token (a fault)
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        session_id = headers.get(SESSION_HEADER, b"").decode("latin-1") or None
        if session_id is not None and session_id in self.bound and not self.has("auth-session-not-bound"):
            if self.bound[session_id] != principal.subject:
                body = jsonrpc.encode(jsonrpc.error(None, jsonrpc.INVALID_REQUEST, "Session not found"))
                await self.send_body(send, 404, body, {"content-type": "application/json"})
                return
        deleting = scope["method"] == "DELETE" and session_id is not None

        async def watched_send(message):
            if message["type"] == "http.response.start":
                status = message.get("status", 200)
                issued = dict(message.get("headers") or []).get(SESSION_HEADER)
                if issued is not None and session_id is None and status < 300:
                    self.bound.setdefault(issued.decode("latin-1"), principal.subject)
                if deleting and status < 300:
                    self.bound.pop(session_id, None)
            await send(message)

        await self.app(scope, receive, watched_send)

    async def send_body(self, send, status: int, body: bytes, headers: dict[str, str]) -> None:
        raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def send_json(self, send, status: int, document: dict, headers: dict[str, str]) -> None:
        await self.send_body(
            send,
            status,
            json.dumps(document).encode(),
            {"content-type": "application/json", "cache-control": "no-store", **headers},
        )

    async def refuse(self, send, refusal: Refusal) -> None:
        challenge = self.challenge(refusal)
        headers = {"www-authenticate": challenge} if challenge is not None else {}
        document = (
            {"error": refusal.error, "error_description": refusal.description}
            if refusal.error
            else {"error_description": "Authentication required: send Authorization: Bearer <token>"}
        )
        await self.send_json(send, refusal.status, document, headers)

    # -- who is asking -----------------------------------------------------------------------
    async def authenticate(self, scope) -> Principal | None:
        """The request's principal; None when it is served without a token (a fault);
        Refusal when it is not served."""
        method = scope["method"]
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"]
        if not values:
            token = None
            if self.has("auth-accept-query-token"):
                query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
                token = query.get("access_token") or None
            if token is None:
                if (method == "POST" and self.has("auth-open")) or (
                    method in ("GET", "DELETE") and self.has("auth-get-open")
                ):
                    return None
                raise Refusal(401, None, None)
        else:
            if len(values) > 1:
                raise Refusal(400, "invalid_request", "more than one Authorization header")
            parts = values[0].split()
            if not parts:
                raise Refusal(400, "invalid_request", "empty Authorization header")
            if parts[0].lower() != "bearer" and not self.has("auth-any-scheme"):
                raise Refusal(401, "invalid_token", f"the {parts[0][:20]} scheme is not accepted: use Bearer")
            if len(parts) != 2:
                raise Refusal(400, "invalid_request", "the Authorization header must be `Bearer <token>`")
            token = parts[1]
        if self.has("auth-validate-first-request-only") and values:
            session_id = dict(scope["headers"]).get(SESSION_HEADER, b"").decode("latin-1")
            if session_id in self.bound:  # a later request of a session: not looked at (the fault)
                return Principal(self.unverified_subject(token, session_id), self.scopes)
        principal = await self.validate(token)
        self.check_scopes(principal)
        return principal

    def unverified_subject(self, token: str, session_id: str):
        """The `sub` a JWT claims, unverified, else the session's own subject."""
        import jwt

        try:
            return jwt.decode(token, options={"verify_signature": False}).get("sub")
        except Exception:
            return self.bound.get(session_id)

    def check_scopes(self, principal: Principal) -> None:
        missing = [s for s in self.scopes if s not in principal.scopes]
        if not missing:
            return
        named = missing[:1] if self.has("auth-incremental-challenge") else self.scopes
        challenged = [*named, OFFLINE_ACCESS] if self.has("auth-offline-access") else named
        if self.has("auth-scope-as-401"):
            raise Refusal(401, "invalid_token", f"the access token lacks the scope {' '.join(missing)}", challenged)
        raise Refusal(403, "insufficient_scope", f"required scope: {' '.join(named)}", challenged)

    async def validate(self, token: str) -> Principal:
        if self.has("auth-refuse-valid"):
            raise Refusal(401, "invalid_token", "the access token is not accepted")
        if not B64TOKEN.match(token):
            raise Refusal(401, "invalid_token", "the access token is malformed")
        header = self.jwt_header(token)
        if header is None:
            return await self.introspect(token)
        return await self.verify_jwt(token, header)

    @staticmethod
    def jwt_header(token: str) -> dict | None:
        """The header of a token that is a JWT (three segments, a JSON header naming alg), else None."""
        if token.count(".") != 2:
            return None
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except Exception:
            return None
        return header if isinstance(header, dict) and "alg" in header else None

    # -- JWTs --------------------------------------------------------------------------------
    async def verify_jwt(self, token: str, header: dict) -> Principal:
        import jwt

        alg = header.get("alg")
        unsigned = isinstance(alg, str) and alg.lower() == "none"
        lenient = {
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": False,
            "verify_iss": False,
            "verify_sub": False,
            "verify_jti": False,
        }
        try:
            if unsigned and not self.has("auth-accept-alg-none"):
                raise Refusal(401, "invalid_token", "unsigned tokens (alg none) are not accepted")
            if unsigned or self.has("auth-skip-signature"):
                claims = jwt.decode(token, options={"verify_signature": False, **lenient})
            else:
                if alg not in ALGORITHMS:
                    raise Refusal(401, "invalid_token", f"the algorithm {alg!r} is not accepted")
                claims = None
                for key in await self.signing_keys(header):  # one, unless the token names no kid
                    try:
                        claims = jwt.decode(token, key, algorithms=[alg], options=lenient)
                        break
                    except jwt.InvalidSignatureError:
                        continue
                if claims is None:
                    raise Refusal(401, "invalid_token", "the token's signature is invalid")
        except Refusal:
            raise
        except Exception as exc:
            raise Refusal(401, "invalid_token", f"the access token is invalid ({type(exc).__name__})") from None
        if not isinstance(claims, dict):
            raise Refusal(401, "invalid_token", "the token's claims are not an object")
        if not self.has("auth-accept-any-issuer") and claims.get("iss") != self.issuer:
            raise Refusal(401, "invalid_token", "the token was not issued by this server's authorization server")
        self.check_audience(claims, required=True)
        self.check_lifetime(claims)
        return Principal(claims.get("sub"), _scopes(claims))

    def check_audience(self, claims: dict, required: bool) -> None:
        if "aud" not in claims:
            if required and not self.has("auth-accept-no-audience"):
                raise Refusal(401, "invalid_token", "the token names no audience")
            return
        if self.has("auth-accept-any-audience"):
            return
        aud = claims["aud"]
        audiences = aud if isinstance(aud, list) else [aud]
        mine = {self.resource, self.advertised_resource()}
        exact = self.has("auth-case-sensitive-aud")
        if not any(same_resource(a, r, exact) for a in audiences for r in mine):
            raise Refusal(401, "invalid_token", "the token was not issued for this resource")

    def check_lifetime(self, claims: dict) -> None:
        now = time.time()
        if not self.has("auth-accept-expired"):
            exp = claims.get("exp")
            if exp is None:
                raise Refusal(401, "invalid_token", "the token has no expiry")
            if exp is not None and (not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= now - LEEWAY):
                raise Refusal(401, "invalid_token", "the token has expired")
        if not self.has("auth-ignore-nbf"):
            nbf = claims.get("nbf")
            if nbf is not None and (not isinstance(nbf, (int, float)) or isinstance(nbf, bool) or nbf > now + LEEWAY):
                raise Refusal(401, "invalid_token", "the token is not valid yet")

    async def signing_keys(self, header: dict) -> list:
        """The issuer's keys for this header's kid and alg (the JWKS fetched again once when the kid is unknown)."""
        kid, alg = header.get("kid"), header.get("alg")
        for refresh in (False, True):
            keys = await self.jwks(refresh)
            found = [k for k in keys if (kid is None or k.key_id == kid)]
            if found or kid is None:
                break
        matching = [k.key for k in found if k.algorithm_name == alg]
        if not matching:
            raise Refusal(401, "invalid_token", "the token's signing key is unknown to the authorization server")
        return matching

    async def jwks(self, refresh: bool = False) -> list:
        if self._keys_lock is None:
            self._keys_lock = asyncio.Lock()
        async with self._keys_lock:
            if self.keys is None or refresh:
                from jwt import PyJWK

                try:
                    response = await self.client().get(self.jwks_uri)
                    response.raise_for_status()
                    documents = response.json().get("keys", [])
                except Exception as exc:
                    raise Refusal(
                        401, "invalid_token", f"the authorization server's keys are unavailable ({type(exc).__name__})"
                    ) from None
                keys = []
                for document in documents if isinstance(documents, list) else []:
                    try:
                        keys.append(PyJWK(document))
                    except Exception:
                        continue  # a key type or algorithm this server does not use
                self.keys = keys
            return self.keys

    def client(self):
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(trust_env=False, timeout=FETCH_TIMEOUT)
        return self._client

    # -- opaque tokens -----------------------------------------------------------------------
    async def introspect(self, token: str) -> Principal:
        """An opaque token, vouched for by the issuer's introspection endpoint (RFC 7662)."""
        auth = None
        if os.environ.get("MCP_CONFORMANCE_AUTH_RS_CLIENT_ID"):
            auth = (
                os.environ["MCP_CONFORMANCE_AUTH_RS_CLIENT_ID"],
                os.environ.get("MCP_CONFORMANCE_AUTH_RS_CLIENT_SECRET", ""),
            )
        try:
            response = await self.client().post(
                self.introspection_endpoint, data={"token": token}, headers={"accept": "application/json"}, auth=auth
            )
            answer = response.json() if response.status_code == 200 else None
        except Exception:
            answer = None
        if not isinstance(answer, dict):
            if self.has("auth-accept-garbage"):
                return Principal(None, self.scopes)
            raise Refusal(401, "invalid_token", "the access token could not be introspected")
        active = answer.get("active") is True
        if not active:
            issued = looks_issued(token, answer)
            if self.has("auth-accept-garbage") and not issued:
                return Principal(None, self.scopes)
            if not (self.has("auth-introspection-ignores-active") and issued):
                raise Refusal(401, "invalid_token", "the access token is not active")
        # `active` is the issuer's verdict on lifetime and signature; the audience and the
        # scopes are this server's to judge.
        self.check_audience(answer, required=False)
        scopes = _scopes(answer) if active or "scope" in answer else self.scopes
        return Principal(answer.get("sub"), scopes)
