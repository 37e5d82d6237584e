"""The keys that verify the register's signed tree heads: the current signing key and earlier ones.

A key rotation must not make the register unverifiable: heads signed before it stay in the
register (and in partners' saved checkpoints) for as long as the register exists. New heads are
signed with the current key only (`runtime.signer`); each head names its key in the JWS header
(`kid`, the RFC 7638 thumbprint), and verification picks the key by that `kid`. Earlier public
keys are configured with `gateway_previous_signing_public_key_files` (PEM).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jose import jws
from jose.backends.cryptography_backend import CryptographyECKey
from jose.exceptions import JOSEError

from gateway.jwk import ec_public_jwk
from gateway.runtime import Runtime
from gateway.signing import ALGORITHM

__all__ = ["Keyring", "UnknownKey", "keyring", "load_public_keys"]

_EXTENSION = "audit.keyring"


class UnknownKey(JOSEError):
    """A JWS names a key (`kid`) that is neither the current signing key nor a configured earlier one."""


class Keyring:
    """Verification keys by `kid`. Only ES256 with a `cryptography` key (never the `ecdsa` package)."""

    def __init__(self, current: ec.EllipticCurvePublicKey, earlier: Iterable[ec.EllipticCurvePublicKey] = ()):
        self._keys: dict[str, tuple[CryptographyECKey, dict[str, Any]]] = {}
        for key in [current, *earlier]:
            jwk = ec_public_jwk(key)
            self._keys.setdefault(str(jwk["kid"]), (CryptographyECKey(key, ALGORITHM), jwk))
        self.current_kid = str(ec_public_jwk(current)["kid"])

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def jwk(self, kid: str) -> dict[str, Any] | None:
        found = self._keys.get(kid)
        return dict(found[1]) if found else None

    def jwks(self) -> list[dict[str, Any]]:
        """Every verification key as a public JWK, the current one first."""
        return [dict(jwk) for _key, jwk in self._keys.values()]

    def verify(self, token: str, *, typ: str) -> tuple[str, dict[str, Any]]:
        """(kid, claims) of a JWS of type `typ`; raises `JOSEError` if it does not verify.

        The header's `kid` chooses the key; the algorithm is pinned to ES256 whatever the header
        says, and a `kid` claim, if present, must name the same key.
        """
        header = jws.get_unverified_header(token)
        if header.get("typ") != typ:
            raise JOSEError(f"not a {typ} signature")
        kid = header.get("kid")
        found = self._keys.get(kid) if isinstance(kid, str) else None
        if found is None or not isinstance(kid, str):
            raise UnknownKey(f"signed by an unknown key (kid {kid!r})")
        claims: dict[str, Any] = json.loads(jws.verify(token, found[0], algorithms=[ALGORITHM]))
        if not isinstance(claims, dict):
            raise JOSEError("the payload is not a JSON object")
        if claims.get("kid", kid) != kid:
            raise JOSEError("the kid claim does not name the signing key")
        return kid, claims


def load_public_keys(paths: Iterable[Path]) -> list[ec.EllipticCurvePublicKey]:
    keys = []
    for path in paths:
        key = load_pem_public_key(path.read_bytes())
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError(f"{path}: an earlier gateway signing key must be an EC P-256 public key")
        keys.append(key)
    return keys


def keyring(runtime: Runtime) -> Keyring:
    """The runtime's keyring, built once per signing key and configuration, then reused."""
    earlier_files = tuple(runtime.settings.gateway_previous_signing_public_key_files)
    cache_key = (runtime.signer.key_id, earlier_files)
    cached = runtime.extensions.get(_EXTENSION)
    if isinstance(cached, tuple) and cached[0] == cache_key:
        ring: Keyring = cached[1]
        return ring
    ring = Keyring(runtime.signer.public_key, load_public_keys(earlier_files))
    runtime.extensions[_EXTENSION] = (cache_key, ring)
    return ring
