"""Storing and reading messages: sealing payloads at rest, building inbox items, acknowledging.

Shared by the pull inbox and the push worker, so both deliver exactly the same envelope and write
the same recipient-side register entry (art. 8.2).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from audit.service import EntryDraft, EntryKind, record, rfc3339
from exchange.crypto import PayloadVault, SealedPayload
from exchange.models import Message, MessageKind, MessageStatus, OutboxItem, OutboxState, StoredPayload

_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]
PAYLOAD_COLUMNS = ("message_id", "subject_hash", "wrapped_key", "nonce", "ciphertext")


def sealed_payload_row(
    vault: PayloadVault, message: Message, *, bsn: str, payload_jwe: str | None
) -> dict[str, Any]:
    """The `exchange_payload` row: the subject's BSN and the JWE sealed under a fresh data key."""
    sealed = vault.seal(message.id, {"bsn": bsn, "payload_jwe": payload_jwe})
    return {
        "message_id": message.id,
        "subject_hash": message.subject_hash,
        "wrapped_key": sealed.wrapped_key,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
    }


def store_payload(
    session: Session, vault: PayloadVault, message: Message, *, bsn: str, payload_jwe: str | None
) -> None:
    """Seal the payload and store it in the message's transaction.

    A Core INSERT, not an ORM object: it runs for every message, and nothing reads it back in the
    same request.
    """
    row = sealed_payload_row(vault, message, bsn=bsn, payload_jwe=payload_jwe)
    session.connection().execute(_PAYLOADS.insert(), row)


def open_payload(session: Session, vault: PayloadVault, message_id: str) -> dict[str, Any] | None:
    """The sealed content, or None when it was deleted after delivery or crypto-shredded."""
    stored = session.get(StoredPayload, message_id)
    if stored is None or stored.wrapped_key is None:
        return None
    return vault.open(message_id, SealedPayload(stored.wrapped_key, stored.nonce, stored.ciphertext))


def inbox_item(message: Message, content: dict[str, Any] | None) -> dict[str, Any]:
    """The inbox item shape of SPEC §6 (identical for pull and push)."""
    item: dict[str, Any] = {
        "id": message.id,
        "kind": message.kind,
        "sender": message.sender,
        "recipient": message.recipient,
        "subject": {"bsn": content["bsn"] if content else None},
        "categories": list(message.categories),
        "reason": message.reason,
        "description": message.description,
        "professional": message.professional,
        "created_at": rfc3339(message.created_at),
        "trace_id": message.trace_id,
        "status": message.status,
    }
    if message.kind in (MessageKind.DISCLOSURE, MessageKind.CORRECTION):
        item["payload_jwe"] = content.get("payload_jwe") if content else None
        item["payload_sha256"] = message.payload_sha256
        item["legal_basis"] = {"type": message.legal_basis.get("type", "consent")}
    if message.in_reply_to:
        item["in_reply_to"] = message.in_reply_to
    if message.consent_ids:
        item["consent_ids"] = list(message.consent_ids)
    return item


_RECEIVED_KIND = {
    MessageKind.DISCLOSURE: EntryKind.DISCLOSURE_RECEIVED,
    MessageKind.CORRECTION: EntryKind.DISCLOSURE_RECEIVED,
    MessageKind.INFORMATION_REQUEST: EntryKind.DISCLOSURE_RECEIVED,
    MessageKind.NOTICE: EntryKind.DISCLOSURE_RECEIVED,
}


def acknowledge(
    session: Session,
    message: Message,
    *,
    at: dt.datetime,
    channel: str,
    professional: dict[str, Any] | None,
    grace: dt.timedelta,
) -> str | None:
    """Mark a message acknowledged and write the recipient-side entry (art. 8.2): sender and date.

    Returns the register entry id; acknowledging twice changes nothing and writes nothing.
    """
    if message.status == MessageStatus.ACKNOWLEDGED:
        return None
    message.status = MessageStatus.ACKNOWLEDGED
    message.acknowledged_at = at
    message.delivered_at = message.delivered_at or at
    session.add(message)
    outbox = session.exec(select(OutboxItem).where(OutboxItem.message_id == message.id)).first()
    if outbox is not None:
        outbox.state = OutboxState.DONE
        outbox.delivered_at = outbox.delivered_at or at
        session.add(outbox)
    stored = session.get(StoredPayload, message.id)
    if stored is not None:
        # Payloads are kept only until acknowledged plus a grace period (SPEC §8).
        stored.delete_after = at + grace
        session.add(stored)
    entry = record(
        session,
        EntryDraft(
            kind=_RECEIVED_KIND[message.kind],
            occurred_at=at,
            actor=message.recipient,
            actor_role="partner",
            actor_org=message.recipient,
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            reason=message.reason,
            description=message.description,
            legal_basis=message.legal_basis or None,
            professional=professional,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={
                "message_kind": message.kind,
                "disclosed_at": rfc3339(message.created_at),
                "channel": channel,
                "payload_sha256": message.payload_sha256,
            },
        ),
    )
    return entry.id
