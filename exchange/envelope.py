"""Storing and reading messages: sealing payloads at rest, building inbox items, acknowledging.

Shared by the pull inbox and the push worker, so both deliver exactly the same envelope and write
the same recipient-side register entry (art. 8.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.models import SubjectRestriction
from exchange.crypto import PayloadUnavailable, PayloadVault, SealedPayload
from exchange.models import (
    Message,
    MessageKind,
    MessageStatus,
    OutboxItem,
    OutboxState,
    Override,
    StoredPayload,
)
from exchange.outgoing import OutgoingMessage
from gateway.sqltypes import UTCDateTime

_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]
PAYLOAD_COLUMNS = ("message_id", "subject_hash", "wrapped_key", "kek_id", "nonce", "ciphertext")


def sealed_payload_row(
    vault: PayloadVault,
    message: Message | OutgoingMessage,
    *,
    bsn: str,
    payload_jwe: str | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `exchange_payload` row: the subject's BSN and the JWE sealed under a fresh data key.

    `extra`: more sealed content, e.g. the plain payload for an e-mail partner (`email_content`).
    """
    sealed = vault.seal(message.id, {"bsn": bsn, "payload_jwe": payload_jwe, **(extra or {})})
    return {
        "message_id": message.id,
        "subject_hash": message.subject_hash,
        "wrapped_key": sealed.wrapped_key,
        "kek_id": sealed.kek_id,
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


def _sealed(row: StoredPayload) -> SealedPayload:
    assert row.wrapped_key is not None
    return SealedPayload(row.wrapped_key, row.nonce, row.ciphertext, row.kek_id)


def open_payload(session: Session, vault: PayloadVault, message_id: str) -> dict[str, Any] | None:
    """The sealed content, or None when it was deleted after delivery or crypto-shredded.

    Raises `PayloadUnavailable` when the payload is there but cannot be opened.
    """
    stored = session.get(StoredPayload, message_id)
    if stored is None or stored.wrapped_key is None:
        return None
    return vault.open(message_id, _sealed(stored))


@dataclass(frozen=True)
class OpenedPayloads:
    """The contents of several messages; those that could not be opened are in `failed`, so one
    bad payload (a KEK missing from the configuration, a damaged row) costs only its own message."""

    contents: dict[str, dict[str, Any]]
    failed: dict[str, PayloadUnavailable]


def open_payloads(session: Session, vault: PayloadVault, message_ids: list[str]) -> OpenedPayloads:
    """The sealed contents of several messages, read in one query (ids without content are left out)."""
    contents: dict[str, dict[str, Any]] = {}
    failed: dict[str, PayloadUnavailable] = {}
    if not message_ids:
        return OpenedPayloads(contents, failed)
    rows = session.exec(select(StoredPayload).where(col(StoredPayload.message_id).in_(message_ids))).all()
    for row in rows:
        if row.wrapped_key is None:
            continue
        try:
            contents[row.message_id] = vault.open(row.message_id, _sealed(row))
        except PayloadUnavailable as exc:
            failed[row.message_id] = exc
    return OpenedPayloads(contents, failed)


def unavailable_item(message: Message, error: PayloadUnavailable) -> dict[str, Any]:
    """An inbox item whose payload cannot be opened: the message is listed (it exists, the sender
    sent it) with `payload_error` instead of its subject and payload, so the recipient can tell
    the sender or the Meerpunt office; never a plain BSN or key material, only the key id."""
    item = inbox_item(message, None)
    item["payload_error"] = {
        "type": "payload-unavailable",
        "detail": "The gateway cannot open this message's stored payload "
        f"({error.reason}); the operator has been alerted. Other messages are not affected.",
        "kek_id": error.kek_id,
    }
    return item


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
    elif message.kind == MessageKind.NOTICE and message.payload_sha256 is not None:
        # A coordinator notice (Spoorboekje §10.2) carries case data, encrypted like a disclosure.
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
    MessageKind.CORRECTION: EntryKind.DISCLOSURE_RECEIVED,  # a correction discloses corrected data
    MessageKind.INFORMATION_REQUEST: EntryKind.INFORMATION_REQUEST_RECEIVED,
    MessageKind.NOTICE: EntryKind.NOTICE_RECEIVED,
}


def _received_kind(message: Message) -> str:
    """A notice with a payload (a coordinator notice, §10.2) disclosed case data: art. 8.2 applies."""
    if message.kind == MessageKind.NOTICE and message.payload_sha256 is not None:
        return EntryKind.DISCLOSURE_RECEIVED
    return _RECEIVED_KIND[message.kind]


#: Statuses in which a message may still be handed out (pull inbox, push worker).
OPEN_STATUSES = (MessageStatus.ACCEPTED, MessageStatus.DELIVERED)

_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]
_AT = sa.bindparam("at", type_=UTCDateTime())
# The transition to `acknowledged` is one conditional UPDATE: of two simultaneous acknowledgements
# (two pull acks, or a pull ack and a push 2xx) exactly one matches the row and writes the
# recipient-side entry; the other waits for it (PostgreSQL row lock) and then matches nothing.
# A message fetched from the inbox and then purged unacknowledged (retention) may still be
# acknowledged: the recipient did receive it, and art. 8.2 wants its entry.
_ACKNOWLEDGE = (
    sa.update(_MESSAGES)
    .where(
        _MESSAGES.c.id == sa.bindparam("b_message_id"),
        sa.or_(
            _MESSAGES.c.status.in_(OPEN_STATUSES),
            sa.and_(_MESSAGES.c.status == MessageStatus.PURGED, _MESSAGES.c.delivered_at.is_not(None)),
        ),
    )
    .values(
        status=MessageStatus.ACKNOWLEDGED,
        acknowledged_at=_AT,
        delivered_at=sa.func.coalesce(_MESSAGES.c.delivered_at, _AT),
    )
    .returning(_MESSAGES.c.delivered_at)
)
_OUTBOX_DONE = (
    sa.update(_OUTBOX)
    .where(
        _OUTBOX.c.message_id == sa.bindparam("b_message_id"),
        _OUTBOX.c.state.in_((OutboxState.PENDING, OutboxState.IN_INBOX, OutboxState.CANCELLED)),
    )
    .values(state=OutboxState.DONE, delivered_at=sa.func.coalesce(_OUTBOX.c.delivered_at, _AT))
)
_DELETE_AFTER = (
    sa.update(_PAYLOADS)
    .where(_PAYLOADS.c.message_id == sa.bindparam("b_message_id"))
    .values(delete_after=sa.bindparam("delete_after", type_=UTCDateTime()))
)


def withheld(at: dt.datetime) -> sa.ColumnElement[bool]:
    """Beperking (art. 14): a message about a restricted subject is held back while the restriction
    lasts, unless it goes on an override or statutory ground (art. 14.2; those have an Override row).

    A SQL condition on `exchange_message` (correlated EXISTS subqueries on indexed
    columns), so the inbox and the push worker filter in their one query, not per message.
    """
    ends_at = col(SubjectRestriction.ends_at)
    restricted = sa.exists().where(
        col(SubjectRestriction.subject_hash) == col(Message.subject_hash),
        col(SubjectRestriction.starts_at) <= at,
        sa.or_(ends_at.is_(None), ends_at > at),
    )
    on_override = sa.exists().where(col(Override.message_id) == col(Message.id))
    return sa.and_(restricted, ~on_override)


def schedule_payload_deletion(session: Session, message_id: str, at: dt.datetime) -> None:
    """Keep the sealed payload (and BSN) only until `at` (SPEC §8); the purge deletes it then."""
    session.connection().execute(_DELETE_AFTER, {"b_message_id": message_id, "delete_after": at})


def acknowledge(
    session: Session,
    message: Message,
    *,
    at: dt.datetime,
    channel: str,
    professional: dict[str, Any] | None,
    grace: dt.timedelta,
) -> str | None:
    """Ontvangst (art. 8 lid 2): mark a message acknowledged and write the recipient-side entry.

    Returns the register entry id, or None when this call did not make the transition: the
    message was already acknowledged, or is not open any more (declined, erased, …), or a
    simultaneous acknowledgement won. Whoever wins writes the one entry (sender and date).
    """
    won = session.connection().execute(_ACKNOWLEDGE, {"b_message_id": message.id, "at": at}).first()
    if won is None:
        return None
    # The row changed under the ORM object: record the new values without marking it dirty.
    set_committed_value(message, "status", MessageStatus.ACKNOWLEDGED)
    set_committed_value(message, "acknowledged_at", at)
    set_committed_value(message, "delivered_at", won.delivered_at)
    session.connection().execute(_OUTBOX_DONE, {"b_message_id": message.id, "at": at})
    # Payloads are kept only until acknowledged plus a grace period (SPEC §8).
    schedule_payload_deletion(session, message.id, at + grace)
    entry = record(
        session,
        EntryDraft(
            kind=_received_kind(message),
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
