"""Payload protection: JWE to the recipient's public key, and envelope encryption at rest (art. 19).

In transit and in the recipient's inbox a payload is a JWE (RSA-OAEP-256 + A256GCM) that only the
recipient's private key opens. At rest the gateway seals that JWE, together with the subject's BSN,
under a per-message data key; the data key is wrapped by the key-encryption key from configuration
(AES key wrap, RFC 3394). Destroying the wrapped data key crypto-shreds the message (art. 12).

The KEKs form a keyring with ids (`KekRing`): new payloads are wrapped under the current key and
the row keeps that key's id, so a rotation can re-wrap data keys in place (`exchange/kek_rotation.py`)
and an old key can leave the configuration once nothing depends on it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from jose import jwe

from gateway.registry import Partner

JWE_ALGORITHM = "RSA-OAEP-256"
JWE_ENCRYPTION = "A256GCM"


def encrypt_for_recipient(plaintext: bytes, public_key: RSAPublicKey, *, kid: str | None = None) -> str:
    """Encrypt to the recipient's key, handed over as a parsed `cryptography` object (never a PEM).

    python-jose wraps the object in its cryptography-backed key class on each call, which is cheap;
    given a PEM or JWK it would parse the key again every time.
    """
    key: Any = public_key
    token: bytes = jwe.encrypt(
        plaintext, key, encryption=JWE_ENCRYPTION, algorithm=JWE_ALGORITHM, kid=kid, cty="application/json"
    )
    return token.decode("ascii")


def encrypt_for_partner(plaintext: bytes, partner: Partner) -> str:
    """Encrypt to a partner's registered key; the JWE header names the key's `kid` if its JWK has one."""
    if partner.encryption_key is None:
        raise ValueError(f"partner {partner.oin} has no registered encryption key")
    kid = partner.encryption_jwk.get("kid") if partner.encryption_jwk else None
    return encrypt_for_recipient(plaintext, partner.encryption_key, kid=None if kid is None else str(kid))


def json_plaintext(payload: object) -> bytes:
    """What a JSON `payload` is encrypted as: compact UTF-8 JSON, parsed back by the recipient."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def decrypt_as_recipient(token: str, private_key: RSAPrivateKey) -> bytes:
    """What a recipient's system does with its private key (used by tests and example clients)."""
    key: Any = private_key
    plaintext: bytes | None = jwe.decrypt(token, key)
    if plaintext is None:
        raise ValueError("JWE could not be decrypted")
    return plaintext


def jwe_kid(token: str) -> str | None:
    """The `kid` in a compact JWE's protected header: which of its keys the recipient decrypts with."""
    header: dict[str, Any] = jwe.get_unverified_header(token)
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def decrypt_with_keyring(token: str, private_keys: Mapping[str, RSAPrivateKey]) -> bytes:
    """What a recipient does while it rotates its key: pick the private key by the JWE's `kid`
    (messages queued before the rotation name the old one). No `kid`, or an unknown one: refused
    rather than every key tried, so a mix-up shows instead of passing unnoticed."""
    kid = jwe_kid(token)
    if kid is None or kid not in private_keys:
        raise ValueError(f"no private key for kid {kid!r}")
    return decrypt_as_recipient(token, private_keys[kid])


def looks_like_compact_jwe(token: str) -> bool:
    """Five base64url parts: the shape of a compact JWE (RFC 7516 §7.1); contents are not ours to read."""
    parts = token.split(".")
    if len(parts) != 5 or not parts[0] or not parts[2] or not parts[3] or not parts[4]:
        return False
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return all(set(part) <= alphabet for part in parts)


#: The id of the single `kek` setting, and of every payload sealed before KEKs had ids.
LEGACY_KEK_ID = "legacy"


@dataclass(frozen=True)
class KekRing:
    """Key-encryption keys by id; `current` wraps every new data key, the others only unwrap.

    An old key stays here until `keys status` shows no payload depending on it any more.
    """

    keys: Mapping[str, bytes] = field(repr=False)
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current key-encryption key {self.current!r} is not in the keyring")
        for kek_id, key in self.keys.items():
            if len(key) != 32:
                raise ValueError(f"key-encryption key {kek_id!r} must be 32 bytes")

    @classmethod
    def single(cls, kek: bytes) -> KekRing:
        return cls({LEGACY_KEK_ID: kek}, LEGACY_KEK_ID)

    def __repr__(self) -> str:
        return f"KekRing(ids={sorted(self.keys)}, current={self.current!r})"


class PayloadUnavailable(Exception):
    """A stored payload cannot be opened: its KEK id is not configured, or unwrapping/decryption
    fails (a wrong key under a known id, a damaged row). Reported per message, never for a whole
    inbox or delivery batch."""

    def __init__(self, message_id: str, kek_id: str, reason: str) -> None:
        super().__init__(f"payload of message {message_id} cannot be opened ({reason}, kek_id {kek_id})")
        self.message_id = message_id
        self.kek_id = kek_id
        self.reason = reason


@dataclass(frozen=True)
class SealedPayload:
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    kek_id: str = LEGACY_KEK_ID


def unwrap_data_key(ring: KekRing, message_id: str, kek_id: str, wrapped_key: bytes) -> bytes:
    key = ring.keys.get(kek_id)
    if key is None:
        raise PayloadUnavailable(message_id, kek_id, "key-encryption key not configured")
    try:
        return aes_key_unwrap(key, wrapped_key)
    except InvalidUnwrap:
        raise PayloadUnavailable(message_id, kek_id, "data key does not unwrap") from None


def rewrap_data_key(ring: KekRing, message_id: str, kek_id: str, wrapped_key: bytes) -> bytes:
    """The same data key wrapped under the current KEK: ciphertext and nonce stay as they are."""
    data_key = unwrap_data_key(ring, message_id, kek_id, wrapped_key)
    return aes_key_wrap(ring.keys[ring.current], data_key)


class PayloadVault:
    """Envelope encryption at rest with a per-message data key under the keyring's current KEK."""

    def __init__(self, kek: KekRing | bytes) -> None:
        if isinstance(kek, bytes):
            if len(kek) != 32:
                raise ValueError("the key-encryption key must be 32 bytes")
            kek = KekRing.single(kek)
        self._ring = kek

    def seal(self, message_id: str, content: dict[str, Any]) -> SealedPayload:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        plaintext = json.dumps(content, separators=(",", ":")).encode()
        # The message id is authenticated data: a sealed blob cannot be moved to another message.
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, message_id.encode())
        current = self._ring.current
        return SealedPayload(aes_key_wrap(self._ring.keys[current], data_key), nonce, ciphertext, current)

    def open(self, message_id: str, sealed: SealedPayload) -> dict[str, Any]:
        """The content, or `PayloadUnavailable` (never another exception) when it cannot be opened."""
        data_key = unwrap_data_key(self._ring, message_id, sealed.kek_id, sealed.wrapped_key)
        try:
            plaintext = AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, message_id.encode())
        except InvalidTag:
            raise PayloadUnavailable(message_id, sealed.kek_id, "ciphertext does not authenticate") from None
        content: dict[str, Any] = json.loads(plaintext)
        return content

    def __repr__(self) -> str:
        return "PayloadVault(<kek hidden>)"


def payload_digest(payload_jwe: str) -> str:
    """`payload_sha256` of messages, receipts and register entries: SHA-256 of the JWE as delivered.

    Of the JWE, not of the plaintext: the register keeps this hash long after the payload is gone
    (and after an erasure, art. 12), and a hash of a short plaintext (a phone number, a date of
    birth) could be confirmed by guessing. A JWE carries a fresh content key and IV, so its hash
    says nothing about the data, yet the recipient can still check that what it received is what
    was registered.
    """
    return hashlib.sha256(payload_jwe.encode("ascii")).hexdigest()


def email_content(plaintext: bytes) -> tuple[dict[str, str], str]:
    """Sealed content and `payload_sha256` of a plain payload for an e-mail partner (art. 19.2).

    Such a partner has no system that can open a JWE: the gateway keeps the plaintext sealed at rest
    (like every payload) and encrypts it for delivery, as S/MIME to the partner's certificate or
    over TLS on the pickup page. The registered hash is over a random salt and the plaintext, for
    the reason `payload_digest` gives; the salt travels with the payload, so the recipient can
    still check what it received against the receipt.
    """
    salt = os.urandom(16).hex()
    digest = hashlib.sha256(bytes.fromhex(salt) + plaintext).hexdigest()
    return {"payload_json": plaintext.decode("utf-8"), "payload_salt": salt}, digest
