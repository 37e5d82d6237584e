"""Conversions between `cryptography` key objects and JSON Web Keys (RFC 7517/7518).

Keys are parsed once, at start-up, into `cryptography` objects; these helpers are the only place
that touches the JWK encoding.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_to_b64(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(size, "big"))


def _b64_to_int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def rsa_public_jwk(key: rsa.RSAPublicKey, *, use: str = "enc", alg: str = "RSA-OAEP-256") -> dict[str, str]:
    numbers = key.public_numbers()
    jwk = {"kty": "RSA", "n": _int_to_b64(numbers.n), "e": _int_to_b64(numbers.e), "use": use, "alg": alg}
    jwk["kid"] = thumbprint(jwk)
    return jwk


def rsa_public_key_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA" or "n" not in jwk or "e" not in jwk:
        raise ValueError("expected an RSA public JWK with n and e")
    key = rsa.RSAPublicNumbers(_b64_to_int(str(jwk["e"])), _b64_to_int(str(jwk["n"]))).public_key()
    if key.key_size < 2048:
        raise ValueError("RSA keys shorter than 2048 bits are not accepted")
    return key


def ec_public_jwk(key: ec.EllipticCurvePublicKey, *, use: str = "sig", alg: str = "ES256") -> dict[str, str]:
    numbers = key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _int_to_b64(numbers.x, 32),
        "y": _int_to_b64(numbers.y, 32),
        "use": use,
        "alg": alg,
    }
    jwk["kid"] = thumbprint(jwk)
    return jwk


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint: a stable key id derived from the required members only."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[str(jwk["kty"])]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())
