"""Keyed hashes of BSNs (SPEC §8): indexes stay queryable by BSN without holding plain BSNs."""

from __future__ import annotations

import hashlib
import hmac


class BsnHasher:
    """HMAC-SHA256 under a secret key, so a leaked index cannot be reversed by hashing all BSNs."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the BSN hash key must be at least 32 bytes")
        self._key = key

    def __call__(self, bsn: str) -> str:
        return hmac.new(self._key, bsn.encode("ascii"), hashlib.sha256).hexdigest()

    def derive_key(self, label: str) -> bytes:
        """A separate 32-byte key for another purpose, HMAC(key, label): domain separation, since
        labels are not 9-digit BSNs, and one secret to manage instead of two."""
        return hmac.new(self._key, b"meerpunt-derive:" + label.encode("ascii"), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "BsnHasher(<key hidden>)"
