"""A quick smoke test of the two OAuth-protected test peers, each on an official SDK:

    python tests/peers/sdk_server.py --port {port} --auth-issuer {issuer}     (PyPI `mcp` 2.x)
    node tests/peers/ts_auth_server.mjs --port {port} --auth-issuer {issuer}  (@modelcontextprotocol/sdk)

Each is started against a stand-in issuer run here (an `http.server` thread on 127.0.0.1 that
serves an EC P-256 JWKS and RFC 8414 metadata; the tokens are minted here with PyJWT), and
must: refuse a request without a token (401, a Bearer challenge), publish protected resource
metadata naming the issuer, accept a valid token (initialize answered 200) and refuse a token
for another audience (401). The conformance suite's own authorization checks against these
peers are judged elsewhere; this only shows the peers work. A peer that is not installed
fails the test, with how to install it; it is never skipped.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from conftest import PEERS, SDK_SERVER, require_peer
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

TS_AUTH_SERVER = PEERS / "ts_auth_server.mjs"
NODE_PACKAGES = [
    ("@modelcontextprotocol/sdk", PEERS / "node_modules" / "@modelcontextprotocol" / "sdk"),
    ("jose", PEERS / "node_modules" / "jose"),
    ("zod", PEERS / "node_modules" / "zod"),
]
START_TIMEOUT = 15.0  # seconds for a peer to listen
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "auth-peers-smoke", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class StandInIssuer:
    """A loopback authorization server stand-in: /jwks.json and its RFC 8414 metadata, and
    ES256 access tokens (RFC 9068 shape) minted directly."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "smoke-" + uuid.uuid4().hex[:8]
        jwk = {**ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": self.kid, "alg": "ES256", "use": "sig"}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.documents = {
            "/jwks.json": {"keys": [jwk]},
            "/.well-known/oauth-authorization-server": {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks.json",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
            },
        }
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="stand-in-issuer").start()

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                document = issuer.documents.get(self.path)
                body = json.dumps(document).encode() if document is not None else b'{"error":"not found"}'
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        return Handler

    def token(self, audience: str, **claims) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "sub": "alice",
            "aud": audience,
            "client_id": "smoke-client",
            "scope": "mcp",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_command(name: str) -> str:
    """The command line of a peer, with {port} and {issuer}; fails when it is not installed."""
    if name == "python-sdk":
        try:
            import mcp.server.mcpserver  # noqa: F401
        except ImportError as error:
            pytest.fail(
                f"the Python MCP SDK 2.x is not installed ({error}): run `pip install -e '.[test]'`", pytrace=False
            )
        return shlex.join([sys.executable, str(SDK_SERVER), "--port", "{port}", "--auth-issuer", "{issuer}"])
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript SDK peer needs Node.js 20 or later", pytrace=False)
    for what, path in NODE_PACKAGES:
        require_peer(path / "package.json", what)
    return shlex.join([node, str(TS_AUTH_SERVER), "--port", "{port}", "--auth-issuer", "{issuer}"])


class Peer:
    """A peer process in its own process group, on a free port, output kept in a file."""

    def __init__(self, command: str, issuer: StandInIssuer):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.origin = f"http://127.0.0.1:{self.port}"
        argv = [arg.replace("{port}", str(self.port)).replace("{issuer}", issuer.url) for arg in shlex.split(command)]
        env = {
            **os.environ,
            "MCP_CONFORMANCE_AUTH_ISSUER": issuer.url,
            "MCP_CONFORMANCE_AUTH_JWKS_URI": f"{issuer.url}/jwks.json",
            "MCP_CONFORMANCE_AUTH_SERVER_URL": issuer.url,
        }
        self.output = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{argv} exited with {self.proc.returncode} before listening:\n{self.tail()}", pytrace=False
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"{argv} did not listen within {START_TIMEOUT:g}s:\n{self.tail()}", pytrace=False)
                time.sleep(0.05)

    def tail(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
        self.output.close()


@pytest.fixture(scope="module")
def issuer():
    stand_in = StandInIssuer()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module", params=["python-sdk", "typescript-sdk"])
def peer(request, issuer):
    command = peer_command(request.param)
    launched = Peer(command, issuer)
    yield launched
    launched.stop()


def initialize(peer: Peer, token: str | None) -> httpx.Response:
    headers = {**HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(peer.url, json=INITIALIZE, headers=headers, timeout=10)


def test_no_token_refused_with_a_bearer_challenge(peer):
    response = initialize(peer, None)
    assert response.status_code == 401, f"{response.status_code} {response.text}\n{peer.tail()}"
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), response.headers


def test_protected_resource_metadata_names_the_issuer(peer, issuer):
    response = httpx.get(f"{peer.origin}/.well-known/oauth-protected-resource/mcp", timeout=10)
    assert response.status_code == 200, f"{response.status_code} {response.text}\n{peer.tail()}"
    document = response.json()
    assert document["resource"] == peer.url, document
    assert issuer.url in document["authorization_servers"], document


def test_valid_token_accepted(peer, issuer):
    response = initialize(peer, issuer.token(peer.url))
    assert response.status_code == 200, f"{response.status_code} {response.headers} {response.text}\n{peer.tail()}"
    assert '"protocolVersion"' in response.text, response.text


def test_token_for_another_audience_refused(peer, issuer):
    response = initialize(peer, issuer.token("http://127.0.0.1:1/other-mcp"))
    assert response.status_code == 401, f"{response.status_code} {response.text}\n{peer.tail()}"
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), response.headers
