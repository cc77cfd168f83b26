"""The run's authorization: how the suite gets a bearer for a protected server, and what
an unauthenticated request showed.

Three ways, from the options (`AuthOptions`):
- the suite's own authorization server (conformance.auth.server), started when the server
  command holds `{issuer}` or `--mcp-auth-port` fixes its port: the server under test is
  told to trust it (`{issuer}` and the MCP_CONFORMANCE_AUTH_* environment), and the suite
  mints every token it needs, valid or broken on purpose;
- a token the user gives (`--mcp-auth-token` or MCP_CONFORMANCE_AUTH_TOKEN), for a server
  that trusts another authorization server: checks that need a minted token skip;
- neither: an open server is tested as before; a protected one gives one clear failure.

`Protection` is what the probe found: the status of an unauthenticated request, its
challenge, and the Protected Resource Metadata (RFC 9728) the challenge or the well-known
URLs lead to, from which the audience and scopes of the suite's tokens are taken.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .challenge import Challenge, bearer

ISSUER_PLACEHOLDER = "{issuer}"
TOKEN_ENV = "MCP_CONFORMANCE_AUTH_TOKEN"
RUN_TOKEN_LIFETIME = 3600  # seconds: the bearer of the other checks outlives any run
PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class AuthOptions:
    issuer_wanted: bool = False  # {issuer} in the command, or --mcp-auth-port
    port: int = 0  # of the suite's authorization server (0: any free one)
    key_file: str | None = None
    user_token: str | None = None

    @classmethod
    def from_config(cls, command: str | None, port: int | None, key_file: str | None, token: str | None) -> AuthOptions:
        return cls(
            issuer_wanted=ISSUER_PLACEHOLDER in (command or "") or port is not None,
            port=port or 0,
            key_file=key_file,
            user_token=token or os.environ.get(TOKEN_ENV) or None,
        )


def absolute_http_url(value) -> bool:
    """An absolute http(s) URL with a host and no fragment."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def metadata_places(advertised, endpoint: str) -> list[tuple[str, str]]:
    """(how a client finds it, URL) of each place a client looks for the Protected Resource
    Metadata of `endpoint`, in its order: the challenge's resource_metadata (`advertised`,
    when it is an absolute URL), then the well-known URLs."""
    places = [("resource_metadata in the 401 challenge", advertised)] if absolute_http_url(advertised) else []
    urls = metadata_urls(endpoint)
    labels = ["the path-based well-known URL", "the root well-known URL"] if len(urls) > 1 else ["the well-known URL"]
    return places + list(zip(labels, urls))


def fetch_json(session, url: str):
    """GET `url` without credentials (recorded in the session's transcript): the exchange,
    and the JSON object it served (None unless a 200 with one)."""
    exchange = session.exchange(
        "GET", url=url, session=False, headers={"Authorization": None, "Accept": "application/json"}
    )
    return exchange, json_object(exchange.status, exchange.content)


def metadata_urls(endpoint: str) -> list[str]:
    """Where RFC 9728 puts the metadata of `endpoint`: the path-based well-known URL (the
    path appended), then the root one."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    urls = [urlunsplit((parts.scheme, parts.netloc, PRM_WELL_KNOWN + path, "", ""))]
    if path:
        urls.append(urlunsplit((parts.scheme, parts.netloc, PRM_WELL_KNOWN, "", "")))
    return urls


@dataclass
class Protection:
    """What the unauthenticated probe of the endpoint found."""

    status: int | None
    challenge_header: str | None = None
    metadata_url: str | None = None  # where the metadata was found
    metadata: dict | None = None  # the Protected Resource Metadata document, if one was found
    exchanges: list = field(default_factory=list)  # the probe's HTTP exchanges, for explanations

    @property
    def required(self) -> bool:
        """The unauthenticated request was refused for want of a token."""
        return self.status == 401

    @property
    def claimed(self) -> bool:
        """The server says it is protected: it refused with 401, or publishes resource metadata."""
        return self.required or self.metadata is not None

    @property
    def challenge(self) -> Challenge | None:
        return bearer(self.challenge_header)

    def resource(self, endpoint: str) -> str:
        """The audience of the suite's tokens: the metadata's `resource`, else the endpoint."""
        resource = (self.metadata or {}).get("resource")
        return resource if isinstance(resource, str) and resource else endpoint

    def scope(self) -> str:
        """The scopes of the suite's tokens: those the challenge names, else every scope the
        metadata lists, else none."""
        challenged = self.challenge.params.get("scope") if self.challenge else None
        if challenged:
            return challenged
        listed = (self.metadata or {}).get("scopes_supported")
        return " ".join(s for s in listed if isinstance(s, str)) if isinstance(listed, list) else ""

    def trusts(self, issuer: str) -> bool:
        """The metadata lists `issuer` among its authorization servers."""
        servers = (self.metadata or {}).get("authorization_servers")
        return isinstance(servers, list) and any(_same_issuer(s, issuer) for s in servers)

    def describe(self) -> str:
        shown = f"HTTP {self.status}" if self.status is not None else "no answer"
        if self.challenge_header:
            shown += f", WWW-Authenticate: {self.challenge_header}"
        return shown


def _same_issuer(listed, issuer: str) -> bool:
    return isinstance(listed, str) and listed.rstrip("/") == issuer.rstrip("/")


def probe(session, body: bytes) -> Protection:
    """Send `body` without credentials on a started HTTP session, and look for the Protected
    Resource Metadata (the challenge's resource_metadata, else the well-known URLs: a server
    that publishes it claims protection even if it answered). Every exchange goes to the
    session's transcript."""
    exchange = session.exchange(
        "POST", body, session=False, headers={"Authorization": None}, until=lambda e: bool(e.messages)
    )
    found = Protection(exchange.status, exchange.headers.get("www-authenticate"), exchanges=[exchange])
    advertised = found.challenge.params.get("resource_metadata") if found.challenge else None
    for _, url in metadata_places(advertised, session.transport.url):
        answer, document = fetch_json(session, url)
        found.exchanges.append(answer)
        if document is not None:
            found.metadata_url, found.metadata = url, document
            break
    return found


def json_object(status: int | None, content: bytes) -> dict | None:
    """The JSON object of a 200 answer, else None."""
    if status != 200:
        return None
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


class AuthSetup:
    """The authorization of one run: the suite's authorization server (started on demand),
    the user's token, and the bearer every other check sends."""

    def __init__(self, options: AuthOptions):
        self.options = options
        self.server = None  # conformance.auth.server.AuthorizationServer, once started
        self.protection: Protection | None = None  # learnt by the first connection (Target)
        self.endpoint: str | None = None
        self._bearer: str | None = None

    @property
    def active(self) -> bool:
        return self.options.issuer_wanted or self.options.user_token is not None

    def start(self) -> None:
        """Start the suite's authorization server, if the run asks for it (idempotent)."""
        if self.server is not None or not self.options.issuer_wanted:
            return
        from ..transport import ServerStartError
        from .keys import KeyFileError, SigningKeys
        from .server import AuthorizationServer, AuthServerError

        try:
            keys = SigningKeys.load(self.options.key_file) if self.options.key_file else SigningKeys.generate()
            self.server = AuthorizationServer(port=self.options.port, keys=keys).start()
        except (KeyFileError, AuthServerError) as error:  # the server under test cannot be started without it
            raise ServerStartError(str(error)) from None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def describe(self) -> str:
        if self.options.user_token:
            return "every request carries the token given (--mcp-auth-token); minted-token checks skipped"
        where = f"127.0.0.1:{self.options.port}" if self.options.port else "a free loopback port"
        return f"tokens minted by the suite's authorization server (on {where})"

    @property
    def issuer(self) -> str | None:
        return self.server.issuer if self.server is not None else None

    @property
    def minter(self):
        return self.server.minter if self.server is not None else None

    def fill(self, command: str | None) -> str | None:
        """The server command with `{issuer}` filled in (the suite's server is started first)."""
        if command is None or ISSUER_PLACEHOLDER not in command:
            return command
        self.start()
        return command.replace(ISSUER_PLACEHOLDER, self.issuer)

    def env(self) -> dict[str, str]:
        """What a started server's environment gains: the suite's authorization server's location."""
        self.start()
        return self.server.env() if self.server is not None else {}

    def learn(self, protection: Protection, endpoint: str) -> None:
        self.protection, self.endpoint = protection, endpoint

    @property
    def resource(self) -> str:
        """The audience the server should accept: its metadata's resource, else its URL."""
        return self.protection.resource(self.endpoint) if self.protection else (self.endpoint or "")

    @property
    def scope(self) -> str:
        return self.protection.scope() if self.protection else ""

    def can_mint(self) -> str | None:
        """None when the suite can mint tokens this server accepts, else why not."""
        if self.server is None:
            return (
                "no token the suite can mint: the server does not trust the suite's authorization server "
                "(put {issuer} in its command, or start it trusting http://127.0.0.1:N and pass "
                "--mcp-auth-port N)"
            )
        listed = (self.protection.metadata or {}).get("authorization_servers") if self.protection else None
        if isinstance(listed, list) and listed and not self.protection.trusts(self.issuer):
            # A server naming other authorization servers will not take ours; one naming none
            # (a metadata defect its own check reports) is given the benefit of the doubt.
            return (
                f"the server does not trust the suite's authorization server {self.issuer}: its resource "
                f"metadata lists {listed}"
            )
        return None

    def header(self) -> str | None:
        """The Authorization header of every other request: the user's token, else a valid
        token minted for this server (when the suite can), else None."""
        if self.options.user_token:
            return f"Bearer {self.options.user_token}"
        if self._bearer is None and self.can_mint() is None:
            self._bearer = self.minter.mint(audience=self.resource, scope=self.scope, lifetime=RUN_TOKEN_LIFETIME)
        return f"Bearer {self._bearer}" if self._bearer else None


def same_resource(aud, resource: str, case_sensitive: bool = False) -> bool:
    """Whether `aud` names `resource`: scheme and host compared without case (RFC 3986 §6.2.2.1)."""
    if not isinstance(aud, str):
        return False
    if case_sensitive:
        return aud == resource
    a, r = urlsplit(aud), urlsplit(resource)
    return (a.scheme.lower(), a.netloc.lower(), a.path, a.query, a.fragment) == (
        r.scheme.lower(),
        r.netloc.lower(),
        r.path,
        r.query,
        r.fragment,
    )


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of `verifier` (RFC 7636 section 4.2). Here, not in
    tokens.py, so that the reference client does not import PyJWT to compute it."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
