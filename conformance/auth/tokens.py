"""Access tokens minted by the suite AS: RFC 9068 JWTs and opaque tokens for introspection.

`Minter.mint` builds any token; the named recipes are the ones the resource-server checks
send (a valid token, and tokens a server must refuse). Tokens are minted directly, with no
authorization flow, because the suite is the AS the server under test trusts.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import jwt

from .keys import ALGORITHMS, SigningKeys
from .setup import s256  # noqa: F401 (kept where the harness imports it from)

DEFAULT_SUBJECT = "conformance-user-a"
OTHER_SUBJECT = "conformance-user-b"
CLIENT_ID = "mcp-conformance"
FOREIGN_AUDIENCE = "http://127.0.0.1:1/not-this-server"  # port 1: nothing real lives there
FOREIGN_ISSUER = "http://127.0.0.1:1/another-issuer"
HOUR = 3600
LIFETIME = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uppercase_origin(url: str) -> str:
    """Scheme and host upper-cased: the same URL to a server that normalises as it should."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.upper(), netloc=parts.netloc.upper()))


class Minter:
    """Mints tokens for one issuer and answers introspection for them."""

    def __init__(self, issuer: str, keys: SigningKeys):
        self.issuer = issuer
        self.keys = keys
        self._opaque: dict[str, dict] = {}  # token -> its record; read by the AS thread too
        self._lock = threading.Lock()

    def _claims(
        self,
        *,
        audience,
        scope: str | None = "",
        subject: str = DEFAULT_SUBJECT,
        lifetime: int = LIFETIME,
        not_before: int | None = None,
        issuer: str | None = None,
        extra: dict | None = None,
        omit: tuple[str, ...] = (),
    ) -> dict:
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience,
            "client_id": CLIENT_ID,
            "scope": scope,
            "iat": now,
            "nbf": now if not_before is None else not_before,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(extra or {})
        return {name: value for name, value in claims.items() if value is not None and name not in omit}

    def mint(
        self,
        *,
        audience: str | list[str] | None,
        scope: str | None = "",
        subject: str = DEFAULT_SUBJECT,
        lifetime: int = LIFETIME,
        not_before: int | None = None,
        issuer: str | None = None,
        alg: str = "ES256",
        key=None,
        extra: dict | None = None,
        omit: tuple[str, ...] = (),
    ) -> str:
        """An RFC 9068 JWT access token; `key` signs instead of the trusted key (the kid stays)."""
        claims = self._claims(
            audience=audience,
            scope=scope,
            subject=subject,
            lifetime=lifetime,
            not_before=not_before,
            issuer=issuer,
            extra=extra,
            omit=omit,
        )
        headers = {"typ": "at+jwt", "kid": self.keys.kid(alg)}
        return jwt.encode(claims, key or self.keys.private(alg), algorithm=alg, headers=headers)

    # The recipes. `audience` is the resource the server is; `scope` what it needs.

    def valid(self, audience, scope="", subject=DEFAULT_SUBJECT, alg="ES256") -> str:
        return self.mint(audience=audience, scope=scope, subject=subject, alg=alg)

    def wrong_audience(self, audience, scope="") -> str:
        return self.mint(audience=FOREIGN_AUDIENCE, scope=scope)

    def no_audience(self, scope="") -> str:
        return self.mint(audience=None, scope=scope)

    def expired(self, audience, scope="") -> str:
        issued = int(time.time()) - 2 * HOUR
        return self.mint(audience=audience, scope=scope, not_before=issued, lifetime=-HOUR, extra={"iat": issued})

    def not_yet_valid(self, audience, scope="") -> str:
        # iat stays now (a future iat is a different fault); exp after nbf so only nbf is wrong
        return self.mint(audience=audience, scope=scope, not_before=int(time.time()) + HOUR, lifetime=HOUR + LIFETIME)

    def wrong_issuer(self, audience, scope="") -> str:
        return self.mint(audience=audience, scope=scope, issuer=FOREIGN_ISSUER)

    def bad_signature(self, audience, scope="") -> str:
        return self.mint(audience=audience, scope=scope, key=self.keys.stranger)

    def alg_none(self, audience, scope="") -> str:
        """Unsigned, with the trusted kid, so a verifier that trusts the header is caught."""
        claims = self._claims(audience=audience, scope=scope)
        header = {"alg": "none", "typ": "at+jwt", "kid": self.keys.es256_kid}
        segments = (json.dumps(part, separators=(",", ":")).encode() for part in (header, claims))
        return ".".join(_b64url(segment) for segment in segments) + "."

    def uppercase_audience(self, audience, scope="") -> str:
        if isinstance(audience, list):
            return self.mint(audience=[_uppercase_origin(a) for a in audience], scope=scope)
        return self.mint(audience=_uppercase_origin(audience), scope=scope)

    def opaque(self, *, active: bool = True, audience=None, scope="", subject=DEFAULT_SUBJECT) -> str:
        """A random token only introspection can explain; `active=False` is one the AS disowns."""
        token = secrets.token_urlsafe(32)
        record = self._claims(audience=audience, scope=scope, subject=subject, omit=("nbf", "jti"))
        with self._lock:
            self._opaque[token] = {"active": active, **record}
        return token

    def introspect(self, token: str) -> dict:
        """The RFC 7662 answer for a token: active only for live tokens this AS issued."""
        with self._lock:
            record = self._opaque.get(token)
        if record is None:
            record = self._verified_jwt(token)
        if record is None or not record.get("active", True) or record["exp"] <= time.time():
            return {"active": False}
        answer = {"active": True, "token_type": "Bearer"}
        for name in ("iss", "sub", "aud", "scope", "client_id", "exp", "iat"):
            if name in record:
                answer[name] = record[name]
        return answer

    def _verified_jwt(self, token: str) -> dict | None:
        """The claims of a JWT signed by a published key for this issuer, else None."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            alg = next(a for a in ALGORITHMS if self.keys.kid(a) == kid)
            return jwt.decode(
                token,
                self.keys.private(alg).public_key(),
                algorithms=[alg],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp"]},
            )
        except (jwt.PyJWTError, StopIteration):
            return None
