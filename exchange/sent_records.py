"""What a sent message leaves behind in the sender's transaction: its register entry (art. 8 lid 1)
and its transactional outbox row.

Shared by every way a message is sent: `exchange.sending` writes both in its one accept statement,
corrections, approved overrides and answers to requests through the ORM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record
from exchange.models import Message, MessageKind, OutboxItem, OutboxState
from exchange.outgoing import MessageLike
from gateway.runtime import Runtime

__all__ = ["enqueue", "outbox_row", "register_and_enqueue", "sent_entry_draft"]

_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]


def register_and_enqueue(
    session: Session, runtime: Runtime, message: Message, *, at: dt.datetime
) -> RegisterEntry:
    """Registratie van verstrekking (art. 8 lid 1): the sender-side entry, and the outbox row.

    For messages written through the ORM (corrections, approved overrides); a send writes both in
    its one accept statement instead.
    """
    entry = record(session, sent_entry_draft(message, at=at))
    enqueue(session, runtime, message, at=at)
    return entry


def sent_entry_draft(message: MessageLike, *, at: dt.datetime) -> EntryDraft:
    """What the sender-side entry says: reasons, recipient and which data (art. 8 lid 1)."""
    return EntryDraft(
        # A coordinator notice carrying case data is a verstrekking like any other (art. 8.1).
        kind=EntryKind.CORRECTION_SENT
        if message.kind == MessageKind.CORRECTION
        else EntryKind.DISCLOSURE_SENT,
        occurred_at=at,
        actor=message.sender,
        actor_role="partner",
        actor_org=message.sender,
        sender=message.sender,
        recipient=message.recipient,
        subject_hash=message.subject_hash,
        categories=message.categories,
        reason=message.reason,
        description=message.description,
        legal_basis=message.legal_basis,
        professional=message.professional,
        trace_id=message.trace_id,
        disclosure_id=message.id,
        details={
            "consent_ids": list(message.consent_ids),
            "payload_sha256": message.payload_sha256,
            "end_to_end": message.end_to_end,
            "in_reply_to": message.in_reply_to,
            "message_kind": message.kind,
        },
    )


def enqueue(session: Session, runtime: Runtime, message: Message, *, at: dt.datetime) -> None:
    session.connection().execute(_OUTBOX.insert(), outbox_row(runtime, message, at=at))


def outbox_row(runtime: Runtime, message: MessageLike, *, at: dt.datetime) -> dict[str, Any]:
    """The transactional outbox row: pushed by a worker, or waiting in the recipient's inbox."""
    partner = runtime.partners.get(message.recipient)
    # Push and e-mail partners are delivered to by a worker; pull partners fetch from their inbox.
    push = partner is not None and partner.delivery in ("push", "email")
    return {
        "message_id": message.id,
        "recipient": message.recipient,
        "state": OutboxState.PENDING if push else OutboxState.IN_INBOX,
        "attempts": 0,
        "next_attempt_at": at,
    }
