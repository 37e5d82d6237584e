"""The subject's BSN of a consent, sealed at rest (SPEC §8) so that a consent can be shown by id.

Indexes hold only keyed hashes of BSNs; showing a consent as FHIR needs the BSN itself (the patient
identifier). It is kept encrypted with AES-256-GCM under a key derived from the configured
key-encryption key, with the consent id as authenticated data: a sealed BSN copied onto another
consent row does not open.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


def _key(kek: bytes) -> bytes:
    # Domain separation: the KEK also wraps payload data keys; this key does nothing else.
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"meerpunt consent subject bsn v1").derive(kek)


def seal_bsn(kek: bytes, consent_id: str, bsn: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(_key(kek)).encrypt(nonce, bsn.encode("ascii"), consent_id.encode())


def open_bsn(kek: bytes, consent_id: str, sealed: bytes) -> str:
    nonce, ciphertext = sealed[:_NONCE], sealed[_NONCE:]
    return AESGCM(_key(kek)).decrypt(nonce, ciphertext, consent_id.encode()).decode("ascii")
