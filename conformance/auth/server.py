"""The suite-run OAuth authorization server: loopback only, in a uvicorn thread.

The MCP server under test is configured to trust it (its issuer, JWKS or introspection
endpoint), and the suite then mints tokens directly through `minter`. The endpoints are
what a resource server needs to validate those tokens, plus client_credentials for servers
that fetch a token themselves. Every request is logged in `requests`.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .keys import SigningKeys
from .tokens import LIFETIME, Minter

HOST = "127.0.0.1"  # never another interface: the suite's keys are for this machine only
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
NO_STORE = {"Cache-Control": "no-store"}  # token responses must not be cached


class AuthServerError(Exception):
    """The suite's authorization server could not start."""


class AuthorizationServer:
    """An OAuth authorization server on 127.0.0.1 only (never another interface), in a
    uvicorn thread of this process."""

    def __init__(self, *, port: int = 0, keys: SigningKeys | None = None):
        self.port = port  # the bound port once started (port 0 picks a free one)
        self.keys = keys or SigningKeys.generate()
        self.minter = Minter(self.issuer, self.keys)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/jwks.json"

    @property
    def introspection_endpoint(self) -> str:
        return self.issuer + "/introspect"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/token"

    @property
    def address(self) -> tuple[str, int] | None:
        """The listening socket's (host, port) while running."""
        return self._socket.getsockname() if self._socket is not None else None

    def env(self) -> dict[str, str]:
        """Where the server under test finds this AS (SERVER_URL: the TS SDK's name for it)."""
        return {
            "MCP_CONFORMANCE_AUTH_ISSUER": self.issuer,
            "MCP_CONFORMANCE_AUTH_JWKS_URI": self.jwks_uri,
            "MCP_CONFORMANCE_AUTH_INTROSPECTION_ENDPOINT": self.introspection_endpoint,
            "MCP_CONFORMANCE_AUTH_SERVER_URL": self.issuer,
        }

    def start(self) -> AuthorizationServer:
        """Serves until stop(); returns once connections are accepted."""
        if self._thread is not None:
            return self
        import uvicorn

        self._socket = self._bind()
        self.port = self._socket.getsockname()[1]
        self.minter.issuer = self.issuer
        config = uvicorn.Config(
            self._app(), host=HOST, port=self.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=0.1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"mcp-auth-server-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.stop()
            raise AuthServerError(
                f"the suite's authorization server on {HOST}:{self.port} did not start within {START_TIMEOUT:g} s"
            )
        return self

    def stop(self) -> None:
        """Idempotent; returns when the server thread has ended."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)
            if self._thread.is_alive():  # a connection holds the graceful shutdown: cut it
                self._server.force_exit = True
                self._thread.join(timeout=STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> AuthorizationServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        """The listening socket, bound here so a chosen port 0 is known with no race."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a fixed port reused at once
        try:
            sock.bind((HOST, self.port))
        except OSError as exc:
            sock.close()
            reason = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise AuthServerError(
                f"cannot start the suite's authorization server on {HOST}:{self.port}: {reason}"
            ) from None
        return sock

    def _app(self):
        routes = [
            Route("/.well-known/oauth-authorization-server", self._oauth_metadata),
            Route("/.well-known/openid-configuration", self._openid_configuration),
            Route("/jwks.json", self._jwks),
            Route("/introspect", self._introspect, methods=["POST"]),
            Route("/token", self._token, methods=["POST"]),
        ]
        starlette = Starlette(routes=routes)

        async def app(scope, receive, send):  # logs every request, unknown paths too
            if scope["type"] == "http":
                with self._lock:
                    self.requests.append((scope["method"], scope["path"]))
            await starlette(scope, receive, send)

        return app

    def metadata(self) -> dict:
        """The RFC 8414 document (issuer with no path, so the well-known URL has no suffix)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "introspection_endpoint": self.introspection_endpoint,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        }

    async def _oauth_metadata(self, request: Request) -> JSONResponse:
        return JSONResponse(self.metadata())

    async def _openid_configuration(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                **self.metadata(),
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            }
        )

    async def _jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(self.keys.jwks())

    async def _introspect(self, request: Request) -> JSONResponse:
        # any client authentication, or none, is accepted: the checks are about the RS
        token = (await _form(request)).get("token")
        if not token:
            return JSONResponse({"error": "invalid_request"}, status_code=400, headers=NO_STORE)
        return JSONResponse(self.minter.introspect(token[0]), headers=NO_STORE)

    async def _token(self, request: Request) -> JSONResponse:
        form = await _form(request)
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400, headers=NO_STORE)
        resources = form.get("resource", [])  # RFC 8707: repeatable, each an audience
        audience = resources[0] if len(resources) == 1 else (resources or None)
        scope = form.get("scope", [""])[0]
        return JSONResponse(
            {"access_token": self.minter.valid(audience, scope), "token_type": "Bearer", "expires_in": LIFETIME},
            headers=NO_STORE,
        )


async def _form(request: Request) -> dict[str, list[str]]:
    """An urlencoded body, parsed here so no form library (python-multipart) is needed."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return parse_qs(body, keep_blank_values=True)
