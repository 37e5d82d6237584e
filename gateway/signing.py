"""The gateway's own signatures: receipts for accepted disclosures and signed tree heads (JWS, ES256).

The key is parsed once at start-up and handed to python-jose as a `cryptography` object, so every
EC operation runs on the `cryptography` backend (not the `ecdsa` package python-jose also pulls in).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jose import jws
from jose.backends.cryptography_backend import CryptographyECKey

from gateway.jwk import ec_public_jwk

ALGORITHM = "ES256"


class GatewaySigner:
    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        # Wrapped once in python-jose's cryptography-backed key class: no per-call key parsing.
        self._key = CryptographyECKey(private_key, ALGORITHM)
        self.public_key = private_key.public_key()
        self._public = CryptographyECKey(self.public_key, ALGORITHM)
        self.public_jwk = ec_public_jwk(self.public_key)
        self.key_id = self.public_jwk["kid"]

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True)
        return str(
            jws.sign(
                payload.encode(), self._key, headers={"kid": self.key_id, "typ": typ}, algorithm=ALGORITHM
            )
        )

    def verify(self, token: str) -> dict[str, Any]:
        """Verify a JWS made by this gateway; raises `jose.JWSError` if it was altered."""
        payload = jws.verify(token, self._public, algorithms=[ALGORITHM])
        claims: dict[str, Any] = json.loads(payload)
        return claims

    def __repr__(self) -> str:
        return f"GatewaySigner(kid={self.key_id!r})"
