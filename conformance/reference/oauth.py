"""Headless OAuth 2.1 for the reference client over Streamable HTTP (its oauth-* faults: client.py).

On a 401 the client finds the Protected Resource Metadata (challenge, path-based, root),
checks its `resource` names this server, discovers the authorization server (RFC 8414 /
OpenID order; exact issuer; S256 PKCE required; a server without resource metadata is a
2025-03-26 one: its origin's metadata, else the default endpoints), identifies itself
(pre-registered credentials; a client ID metadata document: the official fixed URL in
auth/basic-cimd, else its own, served on loopback TLS by client_metadata.py; or DCR), asks
the authorization endpoint itself and takes the code from its redirect (state and RFC 9207
iss checked), and redeems it with PKCE and `resource`. The bearer then goes on every request
and the refused message is sent again. A 403 insufficient_scope steps up to the union of
scopes (3 authorizations per run); a 401 on a token that worked refreshes it (rotating) or
re-authorizes (registering anew where the resource names another authorization server);
offline_access is asked for where the authorization server lists it; tool icons are fetched
without credentials. The official auth/client-credentials-* scenarios get the
client_credentials grant instead.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx

from .. import jsonrpc
from ..auth.challenge import bearer
from ..auth.setup import json_object, metadata_urls, s256
from .client_metadata import DocumentServer

TIMEOUT = 5.0  # of every request to the authorization server and for metadata
MAX_AUTHORIZATIONS = 3  # per run: then the client gives up (the spec's retry limit)
RUNAWAY_AUTHORIZATIONS = 10  # under oauth-no-retry-limit
MAX_REFRESHES = 5  # per run, so a server refusing every token still ends the run
REDIRECT_URI = "http://127.0.0.1:33418/callback"  # nobody listens: the code is read from the redirect
CIMD_CLIENT_ID = "https://conformance-test.local/client-metadata.json"  # the official suite's fixed CIMD URL
CLIENT_NAME = "mcp-conformance-reference-client"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OFFLINE = "offline_access"
AS_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
# the official suite's scenarios of a client acting on its own behalf -> its authentication
CLIENT_CREDENTIALS = {
    "auth/client-credentials-basic": "client_secret_basic",
    "auth/client-credentials-jwt": "private_key_jwt",
}


class OAuthError(Exception):
    """The client cannot, or must not, get a token; the message says why."""


def as_metadata_urls(issuer: str) -> list[str]:
    """Where a client looks for the metadata of `issuer`, in the spec's order."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    if path:
        return [origin + AS_WELL_KNOWN + path, origin + OIDC_WELL_KNOWN + path, origin + path + OIDC_WELL_KNOWN]
    return [origin + AS_WELL_KNOWN, origin + OIDC_WELL_KNOWN]


def names_server(resource: str, server_url: str) -> bool:
    """The metadata's `resource` identifies the server at `server_url`: the same origin
    (scheme and host compared case-insensitively), the server's path at or below its path."""
    r, s = urlsplit(resource), urlsplit(server_url)
    if (r.scheme.lower(), r.netloc.lower()) != (s.scheme.lower(), s.netloc.lower()):
        return False
    base = r.path.rstrip("/")
    return s.path == base or s.path.startswith(base + "/")


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys(first + second))


def strings(value) -> list[str]:
    """The strings of a metadata list ([] when it is not a list)."""
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def scenario_context(text: str | None) -> dict:
    """MCP_CONFORMANCE_CONTEXT as a dict ({} when absent or not a JSON object)."""
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class OAuth:
    """The authorization of one run against the endpoint of `transport` (an HttpTransport)."""

    def __init__(self, transport, fault: str | None, env=os.environ):
        self.transport = transport
        self.fault = fault
        self.scenario = env.get("MCP_CONFORMANCE_SCENARIO", "")
        self.context = scenario_context(env.get("MCP_CONFORMANCE_CONTEXT"))
        self.http = httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
        self.refusals: dict[str, tuple[int, str | None]] = {}  # message key -> status, WWW-Authenticate
        self.prm: dict | None = None
        self.metadata: dict | None = None
        self.client: dict | None = None  # client_id, client_secret, method (token endpoint authentication)
        self.scopes: list[str] = []  # asked for so far
        self.access_token: str | None = None
        self.token_worked = False  # the server took the access token at least once (expired if refused now)
        self.refresh_tokens: list[str] = []  # as issued, the newest last
        self.authorizations = self.refreshes = 0
        self.document_server: DocumentServer | None = None  # serves its client ID metadata document
        # The transport reports a refusal by status only: its challenge is read on the way.
        hooks = transport._client.event_hooks
        transport._client.event_hooks = {
            "request": hooks["request"] + [self._present],
            "response": hooks["response"] + [self._note],
        }

    def close(self) -> None:
        self.http.close()
        if self.document_server is not None:
            self.document_server.close()

    # -- the MCP server's side ---------------------------------------------------------
    def _note(self, response: httpx.Response) -> None:
        """File a message refused for want of authorization, with its challenge. (It runs
        before the transport's send returns: the POST waits for the status line.)"""
        if response.status_code in (401, 403) and response.request.method == "POST":
            key = self.key(jsonrpc.decode(response.request.content))
            self.refusals[key] = (response.status_code, response.headers.get("www-authenticate"))
        elif response.is_success and self.access_token is not None:
            self.token_worked = True

    @staticmethod
    def key(message: jsonrpc.Message) -> str:
        return f"{message.kind.value} {message.method} {message.id!r}"

    def refused(self, obj: dict) -> bool:
        """The message `obj` was refused with 401 or 403 (the last time it was sent)."""
        return self.key(jsonrpc.classify(obj)) in self.refusals

    def _present(self, request: httpx.Request) -> None:
        """The token faults; the clean client's bearer is the transport's `authorization`."""
        if self.access_token is None:
            return
        if self.fault == "oauth-token-in-query":
            request.url = request.url.copy_add_param("access_token", self.access_token)
        elif self.fault == "oauth-token-post-only" and request.method != "POST":
            del request.headers["Authorization"]

    def recover(self, obj: dict) -> None:
        """After a 401 or 403 to the message `obj`, get a token worth sending it again with;
        OAuthError if there is none to get."""
        status, header = self.refusals.pop(self.key(jsonrpc.classify(obj)))
        challenge = bearer(header)
        params = challenge.params if challenge else {}
        if status == 403:
            if params.get("error") != "insufficient_scope":
                raise OAuthError(f"the MCP server refused the token with 403 ({params.get('error') or 'no error'})")
            self.authorize(params)  # step-up
        elif not self.token_worked:  # no token yet, or one refused from the start (renewing it will not help)
            self.authorize(params)
        elif self.fault == "oauth-no-refresh":
            raise OAuthError("the access token is no longer accepted (401), and this client does not renew it")
        elif not self.refresh():
            self.authorize(params)

    def use(self, answer: dict) -> None:
        """Take the token response: its access token goes on every request from now on."""
        self.access_token, self.token_worked = answer["access_token"], False
        if isinstance(answer.get("refresh_token"), str):
            self.refresh_tokens.append(answer["refresh_token"])
        self.transport.authorization = None if self.fault == "oauth-token-in-query" else f"Bearer {self.access_token}"

    # -- discovery -----------------------------------------------------------------------
    def discover(self, params: dict) -> None:
        """The resource's metadata and its authorization server's, at every authorization:
        the resource may have moved to another authorization server since."""
        self.prm = self.protected_resource(params.get("resource_metadata"))
        if self.prm is None:
            self.metadata = self.legacy_metadata()
            return
        resource, url = self.prm.get("resource"), self.transport.url
        if not isinstance(resource, str) or (
            not names_server(resource, url) and self.fault != "oauth-ignore-resource-mismatch"
        ):
            raise OAuthError(
                f"the protected resource metadata names the resource {resource!r}, not this server "
                f"{url}: not authorizing"
            )
        servers = self.prm.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
            raise OAuthError("the protected resource metadata lists no authorization server")
        metadata = self.authorization_server(servers[0])
        moved = self.metadata is not None and metadata.get("issuer") != self.metadata.get("issuer")
        if moved and self.fault != "oauth-reuse-client-across-as":
            self.client, self.refresh_tokens = None, []  # they are bound to the server that issued them
        self.metadata = metadata

    def protected_resource(self, advertised) -> dict | None:
        """The Protected Resource Metadata; None where there is none (a 2025-03-26 server)."""
        places = metadata_urls(self.transport.url)  # path-based, then root
        if self.fault == "oauth-root-prm-first":
            places.reverse()
        elif isinstance(advertised, str) and advertised:
            places = [advertised]
        for url in places:
            document = self.fetch_json(url)
            if document is not None:
                return document
        if advertised:
            raise OAuthError(f"no protected resource metadata at {advertised}, which the challenge names")
        return None

    def legacy_metadata(self) -> dict:
        """2025-03-26, for a server without Protected Resource Metadata: the authorization
        base URL is the MCP server's origin; its RFC 8414 metadata, else the default
        endpoints there (with PKCE, which that revision requires of every client)."""
        parts = urlsplit(self.transport.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self.fetch_json(origin + AS_WELL_KNOWN)
        if found is not None and self.fault != "oauth-ignore-metadata-endpoints":
            return found
        return {
            "issuer": origin,
            "authorization_endpoint": origin + "/authorize",
            "token_endpoint": origin + "/token",
            "registration_endpoint": origin + "/register",
            "code_challenge_methods_supported": ["S256"],
        }

    def authorization_server(self, issuer: str) -> dict:
        urls = as_metadata_urls(issuer)
        if self.fault == "oauth-openid-first":
            urls = sorted(urls, key=lambda url: OIDC_WELL_KNOWN not in url)
        for url in urls:
            metadata = self.fetch_json(url)
            if metadata is None:
                continue
            if metadata.get("issuer") != issuer and self.fault != "oauth-no-issuer-check":
                raise OAuthError(
                    f"the metadata at {url} names the issuer {metadata.get('issuer')!r}, not {issuer!r}: not using it"
                )
            return metadata
        raise OAuthError(f"no authorization server metadata for {issuer}")

    def fetch_json(self, url: str) -> dict | None:
        """The JSON object a 200 answer to GET url carries, else None."""
        try:
            response = self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            return None
        return json_object(response.status_code, response.content)

    def endpoint(self, name: str) -> str:
        url = self.metadata.get(name)
        if not isinstance(url, str):
            raise OAuthError(f"the authorization server metadata has no {name}")
        return url

    # -- authorization ----------------------------------------------------------------------
    def authorize(self, params: dict) -> None:
        """A new access token for the scopes the challenge `params` call for."""
        limit = RUNAWAY_AUTHORIZATIONS if self.fault == "oauth-no-retry-limit" else MAX_AUTHORIZATIONS
        if self.authorizations >= limit:
            raise OAuthError(f"still refused after {limit} authorizations: giving up")
        self.authorizations += 1
        self.discover(params)
        self.scopes = self.choose_scopes(params)
        self.use(self.client_credentials() if self.scenario in CLIENT_CREDENTIALS else self.authorization_code())

    def choose_scopes(self, params: dict) -> list[str]:
        """First the challenge's scope, else every scope the resource metadata lists (else
        none); later the union of the scopes asked for before and those challenged."""
        challenged = (params.get("scope") or "").split()
        listed = strings((self.prm or {}).get("scopes_supported"))
        if self.fault == "oauth-ignore-challenge-scope" or not (challenged or self.scopes):
            challenged = [] if self.fault == "oauth-ignore-scopes-supported" else listed
        chosen = challenged if self.fault == "oauth-no-scope-union" else union(self.scopes, challenged)
        # A refresh token is asked for where the authorization server offers it (a MAY)
        offered = OFFLINE in strings(self.metadata.get("scopes_supported"))
        if chosen and (offered or self.fault == "oauth-offline-access-always"):
            chosen = union(chosen, [OFFLINE])
        return chosen

    def resource_param(self) -> dict:
        """RFC 8707: the resource metadata's `resource`, exactly as given."""
        if self.fault == "oauth-no-resource" or self.prm is None:  # 2025-03-26 had no resource indicators
            return {}
        resource = self.prm["resource"]
        return {"resource": resource + "/" if self.fault == "oauth-resource-trailing-slash" else resource}

    def scope_param(self) -> dict:
        return {"scope": " ".join(self.scopes)} if self.scopes else {}

    @property
    def redirect_uri(self) -> str:
        return "http://example.com/callback" if self.fault == "oauth-http-redirect-uri" else REDIRECT_URI

    def authorization_code(self) -> dict:
        """The authorization code grant with PKCE: the token response."""
        methods = self.metadata.get("code_challenge_methods_supported")
        if not (isinstance(methods, list) and "S256" in methods) and self.fault != "oauth-ignore-pkce-support":
            raise OAuthError(
                "the authorization server does not offer PKCE with S256 (code_challenge_methods_"
                "supported): not authorizing"
            )
        client = self.registered()
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        query = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": self.redirect_uri,
            "state": state,
            **self.resource_param(),
            **self.scope_param(),
        }
        if self.fault == "oauth-plain-pkce":
            query |= {"code_challenge": verifier, "code_challenge_method": "plain"}
        elif self.fault != "oauth-no-pkce":
            query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        code = self.code_from(self.redirect(query), state)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            **self.resource_param(),
        }
        if self.fault != "oauth-no-pkce":
            form["code_verifier"] = verifier
        return self.token_request(form, client)

    def redirect(self, query: dict) -> dict[str, str]:
        """The parameters of the redirect the authorization endpoint answers with (the user
        would be sent there; here it answers at once)."""
        response = self.call("GET", self.endpoint("authorization_endpoint"), params=query)
        location = response.headers.get("location")
        if not response.has_redirect_location or not location:
            raise OAuthError(f"the authorization endpoint answered HTTP {response.status_code}, not a redirect")
        return {name: values[0] for name, values in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}

    def code_from(self, answer: dict[str, str], state: str) -> str:
        """The code of an authorization response whose state and iss check out."""
        if answer.get("state") != state and self.fault != "oauth-ignore-state":
            raise OAuthError("the authorization response carries another state: not redeeming its code")
        if self.fault != "oauth-ignore-iss":
            self.check_iss(answer.get("iss"))
        if "error" in answer or not answer.get("code"):
            raise OAuthError(
                f"authorization refused: {answer.get('error', 'no code')} "
                f"{answer.get('error_description', '')}".rstrip()
            )
        return answer["code"]

    def check_iss(self, iss: str | None) -> None:
        """RFC 9207 as the spec's table has it: a present iss must be the issuer (simple
        string comparison); an absent one only if the metadata does not advertise it."""
        issuer = self.metadata.get("issuer")
        if iss is None and self.metadata.get("authorization_response_iss_parameter_supported") is True:
            raise OAuthError("the authorization server advertises iss, yet its response has none: rejected")
        if iss is not None and iss != issuer:
            raise OAuthError(f"the authorization response's iss {iss!r} is not the issuer {issuer!r}: rejected")

    # -- the client's identity ---------------------------------------------------------------
    def registered(self) -> dict:
        """Pre-registered credentials, else the CIMD URL, else a registration (once per
        authorization server)."""
        if self.client is None:
            self.client = self.pre_registered() or self.metadata_document() or self.register()
        return self.client

    def pre_registered(self) -> dict | None:
        client_id, secret = self.context.get("client_id"), self.context.get("client_secret")
        # Credentials are bound to the authorization server that issued them.
        if not isinstance(client_id, str) or self.context.get("issuer") not in (None, self.metadata.get("issuer")):
            return None
        return {"client_id": client_id, "client_secret": secret, "method": self.auth_method(confidential=bool(secret))}

    def metadata_document(self) -> dict | None:
        """A client ID metadata document where the authorization server takes them: in
        auth/basic-cimd the official suite's fixed URL (as SDK conformance clients use;
        nobody serves it), elsewhere one this client serves itself."""
        if self.metadata.get("client_id_metadata_document_supported") is not True or self.fault == "oauth-no-cimd":
            return None
        if self.scenario == "auth/basic-cimd":
            return {"client_id": CIMD_CLIENT_ID, "client_secret": None, "method": "none"}
        if self.document_server is None:
            self.document_server = DocumentServer(self.client_metadata)
        return {"client_id": self.document_server.url, "client_secret": None, "method": "none"}

    def client_metadata(self, url: str) -> dict:
        document = {
            "client_id": url,
            "client_name": CLIENT_NAME,
            "redirect_uris": [self.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        if self.fault == "oauth-incomplete-client-metadata":
            del document["redirect_uris"]
        return document

    def register(self) -> dict:
        """Dynamic Client Registration (RFC 7591)."""
        if not isinstance(self.metadata.get("registration_endpoint"), str):
            raise OAuthError(
                "no client identity for this authorization server: no pre-registered credentials, no "
                "client ID metadata document support, no registration_endpoint"
            )
        method = self.auth_method(confidential=True)
        body = {
            "client_name": CLIENT_NAME,
            "redirect_uris": [self.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "application_type": "native",
        }
        if self.fault == "oauth-no-application-type":
            del body["application_type"]
        if self.fault == "oauth-no-refresh-grant":
            body["grant_types"] = ["authorization_code"]
        response = self.call("POST", self.endpoint("registration_endpoint"), json=body)
        if not response.is_success and self.fault == "oauth-ignore-registration-error":
            return {"client_id": CLIENT_NAME, "client_secret": None, "method": "none"}
        answer = self.answer(response, "registration")
        if not isinstance(answer.get("client_id"), str):
            raise OAuthError("the registration answer has no client_id")
        return {
            "client_id": answer["client_id"],
            "client_secret": answer.get("client_secret"),
            "method": answer.get("token_endpoint_auth_method") or method,
        }

    def auth_method(self, confidential: bool) -> str:
        """client_secret_basic if the server takes it, else client_secret_post, else none
        (RFC 8414: no list means client_secret_basic)."""
        listed = self.metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        usable = ["client_secret_basic", "client_secret_post"] if confidential else []
        return next((m for m in usable if m in listed), "none")

    # -- the token endpoint -------------------------------------------------------------------
    def client_credentials(self) -> dict:
        """A token for the client itself (no user), with the context's credentials."""
        client_id = self.context.get("client_id")
        if not isinstance(client_id, str):
            raise OAuthError(f"{self.scenario}: MCP_CONFORMANCE_CONTEXT has no client_id")
        client = {
            "client_id": client_id,
            "client_secret": self.context.get("client_secret"),
            "method": CLIENT_CREDENTIALS[self.scenario],
        }
        form = {"grant_type": "client_credentials", **self.resource_param(), **self.scope_param()}
        return self.token_request(form, client)

    def refresh(self) -> bool:
        """A new access token for the refresh token (the newest: they rotate); False when
        there is none to use (a refused refresh is an OAuthError: its reason is the news)."""
        if not self.refresh_tokens or self.refreshes >= MAX_REFRESHES:
            return False
        self.refreshes += 1
        token = self.refresh_tokens[0] if self.fault == "oauth-reuse-refresh-token" else self.refresh_tokens[-1]
        self.use(
            self.token_request(
                {"grant_type": "refresh_token", "refresh_token": token, **self.resource_param()}, self.registered()
            )
        )
        return True

    def token_request(self, form: dict, client: dict) -> dict:
        form, headers = self.authenticated(form, client)
        answer = self.answer(
            self.call("POST", self.endpoint("token_endpoint"), data=form, headers=headers), "token request"
        )
        if not isinstance(answer.get("access_token"), str):
            raise OAuthError("the token response has no access_token")
        return answer

    def authenticated(self, form: dict, client: dict) -> tuple[dict, dict]:
        """The token request's form and headers with the client's authentication."""
        method = "client_secret_post" if self.fault == "oauth-wrong-auth-method" else client["method"]
        client_id, secret = client["client_id"], client.get("client_secret")
        if method == "client_secret_basic":  # RFC 6749 §2.3.1: both form-urlencoded first
            pair = f"{quote_plus(client_id)}:{quote_plus(secret or '')}".encode()
            return form, {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        if method == "private_key_jwt":
            return form | {"client_assertion_type": JWT_BEARER, "client_assertion": self.assertion(client_id)}, {}
        if method == "client_secret_post" and secret:
            return form | {"client_id": client_id, "client_secret": secret}, {}
        return form | {"client_id": client_id}, {}

    def assertion(self, client_id: str) -> str:
        """An RFC 7523 client assertion for this authorization server, signed with the
        context's key."""
        import jwt  # here: PyJWT (with cryptography) costs every start of the reference client about 60 ms

        now = int(time.time())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": self.metadata.get("issuer"),
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 300,
        }
        try:
            return jwt.encode(
                claims, self.context.get("private_key_pem"), algorithm=self.context.get("signing_algorithm") or "ES256"
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise OAuthError(f"cannot sign the client assertion: {error}") from None

    # -- icons ---------------------------------------------------------------------------------
    def fetch_icons(self, tools: list) -> None:
        """Fetch the icons the tools name on the server's own origin, as a client showing
        them would: without cookies or credentials (basic-041), on the client's own
        connection rather than the authorized transport's."""
        server = urlsplit(self.transport.url)
        for tool in tools:
            for icon in (tool.get("icons") or []) if isinstance(tool, dict) else []:
                src = icon.get("src") if isinstance(icon, dict) else None
                if not isinstance(src, str) or urlsplit(src).netloc != server.netloc:
                    continue
                headers = (
                    {"Authorization": f"Bearer {self.access_token}"}
                    if self.fault == "oauth-auth-header-on-icons" and self.access_token
                    else {}
                )
                try:
                    self.http.get(src, headers=headers)
                except httpx.HTTPError:
                    pass  # an icon that cannot be had is not shown

    # -- HTTP ---------------------------------------------------------------------------------
    def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise OAuthError(f"{method} {url} failed: {error or type(error).__name__}") from None

    @staticmethod
    def answer(response: httpx.Response, what: str) -> dict:
        """The JSON object of a 2xx answer; OAuthError with the server's reason otherwise."""
        try:
            document = response.json()
        except ValueError:
            document = None
        if response.is_success and isinstance(document, dict):
            return document
        reason = document.get("error_description") or document.get("error") if isinstance(document, dict) else ""
        raise OAuthError(f"{what} refused: HTTP {response.status_code} {reason or ''}".rstrip())
