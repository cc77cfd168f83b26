"""The suite AS's signing keys: an ES256 and an RS256 key, plus an unpublished "stranger".

The stranger shares the ES256 kid, so a token it signs looks trusted by its header and
fails only on the signature. It is never saved: any unpublished key serves that purpose.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ALGORITHMS = ("ES256", "RS256")
_JWK_CODEC = {"ES256": ECAlgorithm, "RS256": RSAAlgorithm}


class KeyFileError(ValueError):
    """A --mcp-auth-key file that cannot be read or written as a private JWK set."""


def _es256_key():
    return ec.generate_private_key(ec.SECP256R1())


def _new_kid(alg: str) -> str:
    return f"{alg.lower()}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class SigningKeys:
    """An ES256 key and an RS256 key, each with a kid, plus `stranger`: an unpublished EC key
    with the same kid as the ES256 key (for bad-signature tokens)."""

    es256: ec.EllipticCurvePrivateKey
    es256_kid: str
    rs256: rsa.RSAPrivateKey
    rs256_kid: str
    stranger: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> SigningKeys:
        return cls(
            es256=_es256_key(),
            es256_kid=_new_kid("ES256"),
            rs256=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rs256_kid=_new_kid("RS256"),
            stranger=_es256_key(),
        )

    @classmethod
    def load(cls, path: str | Path) -> SigningKeys:
        """Keys from a private JWK set; a missing file is created, so later runs reuse its keys."""
        path = Path(path)
        if not path.exists():
            keys = cls.generate()
            keys.save(path)
            return keys
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyFileError(f"{path}: not a readable JSON key file ({exc})") from None
        found = _private_keys(path, document)
        (es256, es256_kid), (rs256, rs256_kid) = found["ES256"], found["RS256"]
        if es256_kid == rs256_kid:  # a verifier picks the key by kid: it must tell them apart
            raise KeyFileError(f"{path}: the ES256 and RS256 keys share the kid {es256_kid!r}")
        return cls(es256=es256, es256_kid=es256_kid, rs256=rs256, rs256_kid=rs256_kid, stranger=_es256_key())

    def save(self, path: str | Path) -> None:
        """Writes the private JWK set, readable by the owner only (it holds private keys)."""
        path = Path(path)
        keys = [self._jwk(alg, private=True) for alg in ALGORITHMS]
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"keys": keys}, f, indent=2)
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot write the key file ({exc.strerror})") from None

    def jwks(self) -> dict:
        """The public JWK set to publish (never the stranger)."""
        return {"keys": [self._jwk(alg, private=False) for alg in ALGORITHMS]}

    def private(self, alg: str):
        return {"ES256": self.es256, "RS256": self.rs256}[_known(alg)]

    def kid(self, alg: str) -> str:
        return {"ES256": self.es256_kid, "RS256": self.rs256_kid}[_known(alg)]

    def _jwk(self, alg: str, *, private: bool) -> dict:
        key = self.private(alg)
        jwk = _JWK_CODEC[alg].to_jwk(key if private else key.public_key(), as_dict=True)
        jwk.pop("key_ops", None)  # `use` says the same; RFC 7517 advises against both
        return {**jwk, "kid": self.kid(alg), "use": "sig", "alg": alg}


def _known(alg: str) -> str:
    if alg not in ALGORITHMS:
        raise ValueError(f"no signing key for alg {alg!r} (have {', '.join(ALGORITHMS)})")
    return alg


def _private_keys(path: Path, document) -> dict:
    """{alg: (private key, kid)} for ES256 and RS256, the first of each in the set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyFileError(f'{path}: not a JWK set (expected a JSON object {{"keys": [...]}})')
    found: dict = {}
    for index, jwk in enumerate(document["keys"]):
        alg, key, kid = _private_key(path, index, jwk)
        found.setdefault(alg, (key, kid))
    missing = [alg for alg in ALGORITHMS if alg not in found]
    if missing:
        raise KeyFileError(f"{path}: the key set has no private {' or '.join(missing)} key")
    return found


def _private_key(path: Path, index: int, jwk) -> tuple[str, object, str]:
    where = f"{path}: key {index}"
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        raise KeyFileError(f"{where} is not a JWK with a kid")
    try:
        key = jwt.PyJWK(jwk).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise KeyFileError(f"{where} ({jwk['kid']}) is not a usable JWK: {exc}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256", key, jwk["kid"]
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256", key, jwk["kid"]
    raise KeyFileError(f"{where} ({jwk['kid']}) is not a private P-256 EC or RSA key")
