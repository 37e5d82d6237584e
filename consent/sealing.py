"""The subject's BSN of a consent, sealed at rest (SPEC §8) so that a consent can be shown by id.

Indexes hold only keyed hashes of BSNs; showing a consent as FHIR needs the BSN itself (the patient
identifier). It is kept encrypted with AES-256-GCM under a key derived from the configured
key-encryption key, with the consent id as authenticated data: a sealed BSN copied onto another
consent row does not open.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from exchange.crypto import KekRing

_NONCE = 12


def _key(kek: bytes) -> bytes:
    # Domain separation: the KEK also wraps payload data keys; this key does nothing else.
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"meerpunt consent subject bsn v1").derive(kek)


def seal_bsn(ring: KekRing, consent_id: str, bsn: str) -> tuple[str, bytes]:
    """(kek_id, sealed BSN) under the ring's current KEK."""
    nonce = os.urandom(_NONCE)
    key = _key(ring.keys[ring.current])
    return ring.current, nonce + AESGCM(key).encrypt(nonce, bsn.encode("ascii"), consent_id.encode())


def open_bsn(ring: KekRing, consent_id: str, kek_id: str, sealed: bytes) -> str:
    """The BSN, or `PayloadUnavailable` when its KEK is not configured or it does not open."""
    from exchange.crypto import PayloadUnavailable

    kek = ring.keys.get(kek_id)
    if kek is None:
        raise PayloadUnavailable(consent_id, kek_id, "key-encryption key not configured")
    nonce, ciphertext = sealed[:_NONCE], sealed[_NONCE:]
    try:
        return AESGCM(_key(kek)).decrypt(nonce, ciphertext, consent_id.encode()).decode("ascii")
    except InvalidTag:
        raise PayloadUnavailable(consent_id, kek_id, "sealed BSN does not authenticate") from None


def reseal_bsn(ring: KekRing, consent_id: str, kek_id: str, sealed: bytes) -> tuple[str, bytes]:
    """The same BSN sealed under the current KEK (KEK rotation)."""
    return seal_bsn(ring, consent_id, open_bsn(ring, consent_id, kek_id, sealed))
