"""A small but representative MCP server built on the official Python SDK (PyPI `mcp`, 2.x).

    python tests/peers/sdk_server.py                 # stdio
    python tests/peers/sdk_server.py --port N        # Streamable HTTP at http://127.0.0.1:N/mcp
    python tests/peers/sdk_server.py --port N --auth-issuer URL [--auth-scope mcp]   # the same, OAuth-protected

Serves over stdio, or over Streamable HTTP (the SDK's own uvicorn app) with --port. It
offers what a typical real server offers: three tools (one annotated
read-only, one that changes state and says so, one that asks the user for input: an
elicitation request in the legacy era, a multi round-trip request in 2026-07-28), a static
resource, a resource template and a prompt. The conformance suite's own tests run against it (tests/test_real_peers.py).

With --auth-issuer (HTTP only) the same server is an OAuth resource server protected by the
SDK's own auth, used as it is: `AuthSettings(issuer_url=URL, resource_server_url=
"http://127.0.0.1:N/mcp", required_scopes=[...], validate_token_resource=True)` and a token
verifier that checks JWTs (ES256 or RS256) against the issuer's JWKS with PyJWT: signature,
`iss` equal to URL, `aud` equal to the resource URL, `exp`/`nbf` when present. The JWKS is
read from $MCP_CONFORMANCE_AUTH_JWKS_URI, else URL + "/jwks.json" (the conformance suite's
own authorization server sets both: `--mcp-server "python tests/peers/sdk_server.py --port
{port} --auth-issuer {issuer}"`). --auth-scope names the scope every request needs (default
`mcp`; several separated by spaces; "" for none). The SDK then serves its protected resource
metadata at /.well-known/oauth-protected-resource/mcp and answers 401/403 with its own
`WWW-Authenticate` challenges (which carry no `scope`).

mcp 2.x renamed v1's `mcp.server.fastmcp.FastMCP` to `mcp.server.mcpserver.MCPServer`.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

try:
    import anyio
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.resolve import Elicit, Resolve
    from mcp.types import ToolAnnotations
    from pydantic import BaseModel
except ImportError as error:  # pragma: no cover - a clear message instead of a traceback
    sys.stderr.write(f"sdk_server: needs the `mcp` SDK 2.x (pip install -e '.[test]'): {error}\n")
    sys.exit(2)

USAGE = f"usage: {sys.argv[0]} [--port N [--auth-issuer URL [--auth-scope SCOPES]]]"


def command_line(argv: list[str]) -> dict[str, str]:
    """The options given (--port, --auth-issuer, --auth-scope, each once, each with a value),
    or exit with the usage."""
    if len(argv) % 2:
        sys.exit(USAGE)
    options = dict(zip(argv[::2], argv[1::2]))
    if (
        len(options) != len(argv) // 2
        or not set(options) <= {"--port", "--auth-issuer", "--auth-scope"}
        or ("--port" in options and not options["--port"].isdigit())
        or ("--auth-issuer" in options and "--port" not in options)
        or ("--auth-scope" in options and "--auth-issuer" not in options)
    ):
        sys.exit(USAGE)
    return options


class JwksVerifier:
    """The SDK's TokenVerifier protocol: a JWT access token checked against the issuer's JWKS
    (signature, iss, aud, exp/nbf), or None."""

    def __init__(self, issuer: str, jwks_uri: str, resource: str):
        import jwt  # PyJWT, a dependency of the SDK; only the protected mode needs it

        self.jwt = jwt
        self.jwks = jwt.PyJWKClient(jwks_uri, timeout=5)
        self.issuer, self.resource = issuer, resource

    def _claims(self, token: str) -> dict[str, Any]:
        key = self.jwks.get_signing_key_from_jwt(token).key  # fetches the JWKS (cached; again for a new kid)
        return self.jwt.decode(token, key, algorithms=["ES256", "RS256"], audience=self.resource, issuer=self.issuer)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await anyio.to_thread.run_sync(self._claims, token)  # the JWKS fetch blocks
            scope = claims.get("scope", "")
            return AccessToken(
                token=token,
                client_id=str(claims.get("client_id") or claims.get("azp") or "unknown"),
                scopes=scope.split() if isinstance(scope, str) else [],
                expires_at=claims.get("exp"),
                resource=self.resource,
                subject=claims.get("sub"),
                claims=claims,
            )
        except (self.jwt.PyJWTError, ValueError, TypeError):  # pydantic's ValidationError is a ValueError
            return None


def protection(options: dict[str, str]) -> dict[str, Any]:
    """MCPServer's auth keywords for --auth-issuer (none without it)."""
    if "--auth-issuer" not in options:
        return {}
    issuer = options["--auth-issuer"]
    resource = f"http://127.0.0.1:{options['--port']}/mcp"
    scopes = options.get("--auth-scope", "mcp").split()
    jwks_uri = os.environ.get("MCP_CONFORMANCE_AUTH_JWKS_URI") or issuer.rstrip("/") + "/jwks.json"
    return {
        "auth": AuthSettings(
            issuer_url=issuer,
            resource_server_url=resource,
            required_scopes=scopes or None,
            validate_token_resource=True,
        ),
        "token_verifier": JwksVerifier(issuer, jwks_uri, resource),
    }


OPTIONS = command_line(sys.argv[1:]) if __name__ == "__main__" else {}

server = MCPServer(
    name="conformance-sdk-peer",
    version="1.0.0",
    instructions="A test peer for mcp-conformance: a notes store with a word counter.",
    log_level="WARNING",  # the SDK logs to stderr; keep it quiet
    **protection(OPTIONS),
)

NOTES: dict[str, str] = {"welcome": "Hello from the Python SDK peer."}


@server.tool(
    title="Count words",
    description="Count the words in a text.",
    annotations=ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
)
def count_words(text: str) -> int:
    return len(text.split())


@server.tool(
    title="Add note",
    description="Store a note under a name (replaces a note of the same name).",
    annotations=ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
    ),
)
def add_note(name: str, text: str) -> str:
    NOTES[name] = text
    return f"stored note {name!r} ({len(text)} characters)"


class Author(BaseModel):
    name: str


def ask_author() -> Elicit:
    return Elicit("Who is signing the note?", Author)


@server.tool(
    title="Sign a note",
    description="Sign a stored note; asks the user for their name (elicitation).",
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False),
)
def sign_note(name: str, author: Annotated[Author, Resolve(ask_author)]) -> str:
    return f"note {name!r} signed by {author.name}"


@server.resource(
    "notes://index",
    name="notes-index",
    title="Note index",
    description="The names of all stored notes, one per line.",
    mime_type="text/plain",
)
def notes_index() -> str:
    return "\n".join(sorted(NOTES))


@server.resource(
    "notes://note/{name}", name="note", title="A note", description="One stored note by name.", mime_type="text/plain"
)
def note(name: str) -> str:
    return NOTES.get(name, "")


@server.prompt(title="Summarize a note", description="Ask the model to summarize one stored note.")
def summarize_note(name: str, style: str = "brief") -> str:
    return f"Summarize the note {name!r} in a {style} style:\n\n{NOTES.get(name, '(no such note)')}"


if __name__ == "__main__":
    if "--port" in OPTIONS:
        server.run("streamable-http", host="127.0.0.1", port=int(OPTIONS["--port"]))
    else:
        server.run("stdio")
