"""Payload protection: JWE to the recipient's public key, and envelope encryption at rest (art. 19).

In transit and in the recipient's inbox a payload is a JWE (RSA-OAEP-256 + A256GCM) that only the
recipient's private key opens. At rest the gateway seals that JWE, together with the subject's BSN,
under a per-message data key; the data key is wrapped by the key-encryption key from configuration
(AES key wrap, RFC 3394). Destroying the wrapped data key crypto-shreds the message (art. 12).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
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


def looks_like_compact_jwe(token: str) -> bool:
    """Five base64url parts: the shape of a compact JWE (RFC 7516 §7.1); contents are not ours to read."""
    parts = token.split(".")
    if len(parts) != 5 or not parts[0] or not parts[2] or not parts[3] or not parts[4]:
        return False
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return all(set(part) <= alphabet for part in parts)


@dataclass(frozen=True)
class SealedPayload:
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class PayloadVault:
    """Envelope encryption at rest with a per-message data key under the configured KEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._kek = kek

    def seal(self, message_id: str, content: dict[str, Any]) -> SealedPayload:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        plaintext = json.dumps(content, separators=(",", ":")).encode()
        # The message id is authenticated data: a sealed blob cannot be moved to another message.
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, message_id.encode())
        return SealedPayload(aes_key_wrap(self._kek, data_key), nonce, ciphertext)

    def open(self, message_id: str, sealed: SealedPayload) -> dict[str, Any]:
        data_key = aes_key_unwrap(self._kek, sealed.wrapped_key)
        plaintext = AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, message_id.encode())
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
