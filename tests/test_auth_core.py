"""conformance.auth core: the WWW-Authenticate parser, the signing keys, the token recipes
verified with PyJWT against the JWKS the suite AS serves, and the AS itself (loopback only,
metadata, introspection, a clean stop)."""

from __future__ import annotations

import json
import socket
import threading

import httpx
import jwt
import pytest

from conformance.auth.challenge import Challenge, MalformedChallenge, bearer, parse_challenges
from conformance.auth.keys import KeyFileError, SigningKeys
from conformance.auth.server import AuthorizationServer, AuthServerError
from conformance.auth.tokens import CLIENT_ID, DEFAULT_SUBJECT, OTHER_SUBJECT

RESOURCE = "http://127.0.0.1:8123/mcp"
SCOPE = "mcp:read mcp:write"


# --- the WWW-Authenticate parser ---


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            'Bearer realm="a", error="x", Basic realm="b"',
            [Challenge("Bearer", {"realm": "a", "error": "x"}), Challenge("Basic", {"realm": "b"})],
        ),
        (
            'Bearer error="invalid_token", error_description="a, b, and c"',
            [Challenge("Bearer", {"error": "invalid_token", "error_description": "a, b, and c"})],
        ),
        (
            r'Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"',
            [
                Challenge("Newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
                Challenge("Basic", {"realm": "simple"}),
            ],
        ),
        (r'Basic realm="a\\b\c"', [Challenge("Basic", {"realm": "a\\bc"})]),
        ("Negotiate abc==", [Challenge("Negotiate", {}, "abc==")]),
        ("Negotiate abc=, Bearer", [Challenge("Negotiate", {}, "abc="), Challenge("Bearer")]),
        ("Bearer realm=", [Challenge("Bearer", {}, "realm=")]),  # the grammar reads a token68 here
        ("Bearer", [Challenge("Bearer")]),
        ("bearer , BASIC", [Challenge("bearer"), Challenge("BASIC")]),
        ('Bearer Realm = "x" ,, SCOPE="a b" ,', [Challenge("Bearer", {"realm": "x", "scope": "a b"})]),
        (
            'Bearer realm="a", Bearer realm="b"',
            [Challenge("Bearer", {"realm": "a"}), Challenge("Bearer", {"realm": "b"})],
        ),
        # two header values as httpx joins them
        (
            'Basic realm="x", Bearer resource_metadata="http://h/.well-known/oauth-protected-resource"',
            [
                Challenge("Basic", {"realm": "x"}),
                Challenge("Bearer", {"resource_metadata": "http://h/.well-known/oauth-protected-resource"}),
            ],
        ),
    ],
)
def test_parse_challenges(value, expected):
    assert parse_challenges(value) == expected


@pytest.mark.parametrize(
    "value, problem",
    [
        ("", "no challenge"),
        (" , ", "no challenge"),
        ("Bearer a b", "expected '=' after the auth-param name 'a' at position 9"),
        ('Bearer realm="x', "unterminated quoted string at position 13"),
        ('Bearer scope="a", realm=', "expected a token or a quoted string as the value of 'realm'"),
        ("Bearer realm=x, REALM=y", "auth-param 'REALM' repeated"),
        ('Bearer "x"', "expected an auth-param name at position 7"),
        ("Bearer\trealm=x", "expected a space after the auth-scheme 'Bearer' at position 6"),
        ('Bearer realm="a"x', "expected ',' after the value of 'realm'"),
        ('Bearer realm="a\x01"', "character '\\x01' not allowed in a quoted string"),
        ('"Bearer"', "expected an auth-scheme at position 0"),
    ],
)
def test_malformed_challenges(value, problem):
    with pytest.raises(MalformedChallenge) as raised:
        parse_challenges(value)
    message = str(raised.value)
    assert message.startswith(problem) and message.endswith(f" of {value!r}")


def test_bearer_picks_the_first_bearer_challenge():
    assert bearer('Basic realm="x", BEARER scope="a", Bearer scope="b"') == Challenge("BEARER", {"scope": "a"})
    assert bearer('Bearer scope="a"').is_bearer
    assert bearer('Basic realm="x"') is None
    assert bearer(None) is None
    assert bearer('Bearer realm="unterminated') is None
    assert bearer("") is None


# --- keys ---


def test_keys_load_creates_then_reloads(tmp_path):
    path = tmp_path / "keys.json"
    created = SigningKeys.load(path)
    assert path.exists() and path.stat().st_mode & 0o077 == 0
    reloaded = SigningKeys.load(path)
    assert (reloaded.es256_kid, reloaded.rs256_kid) == (created.es256_kid, created.rs256_kid)
    assert reloaded.jwks() == created.jwks()
    assert "stranger" not in path.read_text() and len(json.loads(path.read_text())["keys"]) == 2


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json", "not a readable JSON key file"),
        ('{"kty": "EC"}', "not a JWK set"),
        ('{"keys": [{"kty": "EC"}]}', "key 0 is not a JWK with a kid"),
        ('{"keys": [{"kty": "EC", "kid": "k", "crv": "P-256"}]}', "key 0 (k) is not a usable JWK"),
        ("PUBLIC", "key 0 ({kid}) is not a private P-256 EC or RSA key"),
        ("ES256 ONLY", "the key set has no private RS256 key"),
    ],
)
def test_bad_key_file(tmp_path, content, problem):
    keys = SigningKeys.generate()
    if content == "PUBLIC":
        content, problem = json.dumps(keys.jwks()), problem.format(kid=keys.es256_kid)
    elif content == "ES256 ONLY":
        keys.save(tmp_path / "full.json")
        document = json.loads((tmp_path / "full.json").read_text())
        content = json.dumps({"keys": document["keys"][:1]})
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(KeyFileError, match="^" + str(path)) as raised:
        SigningKeys.load(path)
    assert problem in str(raised.value) and "\n" not in str(raised.value)


def test_jwks_is_public_and_never_the_stranger():
    keys = SigningKeys.generate()
    published = keys.jwks()["keys"]
    assert [(k["kid"], k["alg"], k["use"], k["kty"]) for k in published] == [
        (keys.es256_kid, "ES256", "sig", "EC"),
        (keys.rs256_kid, "RS256", "sig", "RSA"),
    ]
    assert not any("d" in k for k in published)
    assert keys.stranger.public_key().public_numbers() != keys.es256.public_key().public_numbers()
    assert keys.private("RS256") is keys.rs256 and keys.kid("ES256") == keys.es256_kid


# --- the authorization server and its tokens ---


@pytest.fixture(scope="module")
def auth():
    server = AuthorizationServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def published(auth):
    """The verification keys as a resource server gets them: over HTTP from jwks_uri."""
    return jwt.PyJWKSet.from_dict(httpx.get(auth.jwks_uri).json())


def verify(token, published, auth, audience=RESOURCE):
    key = published[jwt.get_unverified_header(token)["kid"]].key
    return jwt.decode(token, key, algorithms=["ES256", "RS256"], audience=audience, issuer=auth.issuer)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_valid_token_verifies(auth, published, alg):
    token = auth.minter.valid(RESOURCE, SCOPE, subject=OTHER_SUBJECT, alg=alg)
    header = jwt.get_unverified_header(token)
    assert (header["typ"], header["alg"], header["kid"]) == ("at+jwt", alg, auth.keys.kid(alg))
    claims = verify(token, published, auth)
    assert claims["iss"] == auth.issuer and claims["aud"] == RESOURCE and claims["sub"] == OTHER_SUBJECT
    assert claims["scope"] == SCOPE and claims["client_id"] == CLIENT_ID
    assert claims["iat"] == claims["nbf"] and claims["exp"] - claims["iat"] == 300 and claims["jti"]


@pytest.mark.parametrize(
    "recipe, error",
    [
        ("wrong_audience", jwt.InvalidAudienceError),
        ("no_audience", jwt.MissingRequiredClaimError),
        ("expired", jwt.ExpiredSignatureError),
        ("not_yet_valid", jwt.ImmatureSignatureError),
        ("wrong_issuer", jwt.InvalidIssuerError),
        ("bad_signature", jwt.InvalidSignatureError),
        ("alg_none", jwt.InvalidAlgorithmError),
        ("uppercase_audience", jwt.InvalidAudienceError),  # PyJWT compares aud exactly
    ],
)
def test_bad_tokens_fail_verification(auth, published, recipe, error):
    mint = getattr(auth.minter, recipe)
    token = mint(SCOPE) if recipe == "no_audience" else mint(RESOURCE, SCOPE)
    assert jwt.get_unverified_header(token)["kid"] == auth.keys.es256_kid  # looks trusted
    with pytest.raises(error):
        verify(token, published, auth)


def test_recipe_details(auth, published):
    minter = auth.minter
    none = minter.alg_none(RESOURCE)
    assert jwt.get_unverified_header(none)["alg"] == "none" and none.endswith(".")
    assert jwt.decode(none, options={"verify_signature": False})["aud"] == RESOURCE
    upper = minter.uppercase_audience(RESOURCE, SCOPE)
    assert verify(upper, published, auth, audience="HTTP://127.0.0.1:8123/mcp")["scope"] == SCOPE
    assert verify(minter.mint(audience=[RESOURCE, "x"], scope=None, omit=("jti",)), published, auth).keys() == {
        "iss",
        "sub",
        "aud",
        "client_id",
        "iat",
        "nbf",
        "exp",
    }
    unverified = jwt.decode(minter.wrong_issuer(RESOURCE), options={"verify_signature": False})
    assert unverified["iss"] == "http://127.0.0.1:1/another-issuer"
    assert (
        jwt.decode(minter.wrong_audience(RESOURCE), options={"verify_signature": False})["aud"]
        == "http://127.0.0.1:1/not-this-server"
    )


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])
def test_metadata(auth, path):
    document = httpx.get(auth.issuer + path).json()
    assert document["issuer"] == auth.issuer and not auth.issuer.endswith("/")
    assert document["jwks_uri"] == auth.jwks_uri and document["token_endpoint"] == auth.token_endpoint
    assert document["introspection_endpoint"] == auth.introspection_endpoint
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert ("id_token_signing_alg_values_supported" in document) == path.endswith("openid-configuration")


def introspect(auth, token):
    response = httpx.post(auth.introspection_endpoint, data={"token": token}, auth=("any", "secret"))
    assert response.status_code == 200
    return response.json()


def test_introspection(auth):
    minter = auth.minter
    active = introspect(auth, minter.opaque(audience=RESOURCE, scope=SCOPE))
    assert active["active"] is True and active["aud"] == RESOURCE and active["scope"] == SCOPE
    assert active["sub"] == DEFAULT_SUBJECT and active["iss"] == auth.issuer and active["token_type"] == "Bearer"
    assert {"client_id", "exp", "iat"} <= active.keys()
    assert introspect(auth, minter.opaque(active=False, audience=RESOURCE)) == {"active": False}
    assert introspect(auth, "never-issued") == {"active": False}
    minted = introspect(auth, minter.valid(RESOURCE, SCOPE, alg="RS256"))
    assert minted["active"] is True and minted["aud"] == RESOURCE and minted["scope"] == SCOPE
    for recipe in ("expired", "not_yet_valid", "wrong_issuer", "bad_signature", "alg_none"):
        assert introspect(auth, getattr(minter, recipe)(RESOURCE)) == {"active": False}, recipe
    assert httpx.post(auth.introspection_endpoint, data={}).status_code == 400


def test_token_endpoint(auth, published):
    answer = httpx.post(
        auth.token_endpoint,
        data={
            "grant_type": "client_credentials",
            "resource": RESOURCE,
            "scope": SCOPE,
            "client_id": "c",
            "client_secret": "s",
        },
    )
    body = answer.json()
    assert (answer.status_code, body["token_type"], body["expires_in"]) == (200, "Bearer", 300)
    assert verify(body["access_token"], published, auth)["scope"] == SCOPE
    refused = httpx.post(auth.token_endpoint, data={"grant_type": "authorization_code", "code": "x"})
    assert (refused.status_code, refused.json()) == (400, {"error": "unsupported_grant_type"})
    assert httpx.get(auth.issuer + "/authorize").status_code == 404


def test_requests_logged_and_env(auth):
    httpx.get(auth.issuer + "/nowhere")
    assert auth.requests[-1] == ("GET", "/nowhere")
    assert ("GET", "/jwks.json") in auth.requests
    env = auth.env()
    assert env["MCP_CONFORMANCE_AUTH_ISSUER"] == env["MCP_CONFORMANCE_AUTH_SERVER_URL"] == auth.issuer
    assert env["MCP_CONFORMANCE_AUTH_JWKS_URI"] == auth.jwks_uri
    assert env["MCP_CONFORMANCE_AUTH_INTROSPECTION_ENDPOINT"] == auth.introspection_endpoint


def test_loopback_only_and_clean_stop():
    server = AuthorizationServer(keys=SigningKeys.generate())
    with server:
        assert server.address == ("127.0.0.1", server.port) and server.port != 0
        assert server.issuer == f"http://127.0.0.1:{server.port}" == server.minter.issuer
        with httpx.Client() as client:  # a kept-alive connection must not hold the stop
            assert client.get(server.jwks_uri).status_code == 200
            server.stop()
    server.stop()  # idempotent
    assert not [t for t in threading.enumerate() if t.name.startswith(f"mcp-auth-server-{server.port}")]


def test_fixed_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AuthServerError) as raised:
            AuthorizationServer(port=port).start()
    assert str(raised.value) == f"cannot start the suite's authorization server on 127.0.0.1:{port}: address in use"
