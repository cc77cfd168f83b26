"""An OAuth client built on the official Python SDK (mcp 2.x), for the client leg's auth scenarios.

    python tests/peers/sdk_auth_client.py http://HOST:PORT/mcp

Driven only by the official conformance environment contract, so it runs unchanged under the official
suite and under ours: MCP_CONFORMANCE_SCENARIO picks the SDK provider (auth/client-credentials-basic:
ClientCredentialsOAuthProvider with client_secret_basic; auth/client-credentials-jwt:
PrivateKeyJWTOAuthProvider; anything else: OAuthClientProvider's authorization-code flow with a headless
redirect handler and CIMD), MCP_CONFORMANCE_CONTEXT (JSON) supplies credentials. Connects over Streamable
HTTP, lists the tools, calls the first one with {} and closes. Exits 1 with the error on stderr when the
SDK refuses (or fails) to authorize; gives up after 20 s.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import warnings
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.shared.exceptions import MCPDeprecationWarning

REDIRECT_URI = "http://localhost:3000/callback"
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


class MemoryStorage:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessBrowser:
    """Redirect and callback handlers: GET the authorization URL without following the redirect and
    hand the code, state and iss from its Location header back to the SDK."""

    result: AuthorizationCodeResult | None = None

    async def redirect(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient() as http:
            response = await http.get(authorization_url, follow_redirects=False)
        location = response.headers.get("location")
        if not location:
            raise RuntimeError(f"authorization endpoint answered {response.status_code} without a redirect")
        query = {name: values[0] for name, values in parse_qs(urlparse(location).query).items()}
        if "code" not in query:
            raise RuntimeError(f"no authorization code in the redirect: {location}")
        self.result = AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    async def callback(self) -> AuthorizationCodeResult:
        result, self.result = self.result, None
        if result is None:
            raise RuntimeError("callback before any redirect")
        return result


async def provider_for(scenario: str, context: dict, url: str) -> OAuthClientProvider:
    storage = MemoryStorage()
    if scenario == "auth/client-credentials-basic":
        return ClientCredentialsOAuthProvider(
            url,
            storage,
            client_id=context["client_id"],
            client_secret=context["client_secret"],
            token_endpoint_auth_method="client_secret_basic",
        )
    if scenario == "auth/client-credentials-jwt":
        signer = SignedJWTParameters(
            issuer=context["client_id"],
            subject=context["client_id"],
            signing_key=context["private_key_pem"],
            signing_algorithm=context.get("signing_algorithm", "ES256"),
        )
        return PrivateKeyJWTOAuthProvider(
            url, storage, client_id=context["client_id"], assertion_provider=signer.create_assertion_provider()
        )
    if "client_id" in context:  # pre-registered credentials
        secret = context.get("client_secret")
        await storage.set_client_info(
            OAuthClientInformationFull(
                client_id=context["client_id"],
                client_secret=secret,
                redirect_uris=[REDIRECT_URI],
                token_endpoint_auth_method="client_secret_basic" if secret else "none",
            )
        )
    browser = HeadlessBrowser()
    metadata = OAuthClientMetadata(
        client_name="mcp-conformance-sdk-auth-client",
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    return OAuthClientProvider(
        url,
        metadata,
        storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
        client_metadata_url=CLIENT_METADATA_URL,
    )


async def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    provider = await provider_for(scenario, context, url)
    with anyio.move_on_after(20) as deadline:
        # The read timeout outlasts the run so an idle SSE stream never trips it.
        async with httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(10, read=30)) as http:
            async with Client(streamable_http_client(url, http_client=http), read_timeout_seconds=10) as client:
                tools = await client.list_tools()
                if tools.tools:
                    await client.call_tool(tools.tools[0].name, {})
    if deadline.cancelled_caught:
        raise TimeoutError("gave up after 20 s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sdk_auth_client.py URL")
    warnings.simplefilter(
        "ignore", MCPDeprecationWarning
    )  # the contract names no issuer; issuer= is optional until 3.0
    try:
        sys.exit(anyio.run(main, sys.argv[1]))
    except Exception as exc:  # the SDK refused or failed: say so, exit non-zero
        while isinstance(exc, getattr(builtins, "BaseExceptionGroup", ())) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # unwrap task-group wrappers to the real error
        print(f"sdk auth client: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
