"""Tables of the exchange: messages, their sealed payloads, the outbox, and override follow-up."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.sqltypes import BigIntPK, JSONColumn, UTCDateTime


def _tz(nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class MessageKind:
    DISCLOSURE = "disclosure"
    INFORMATION_REQUEST = "information_request"
    CORRECTION = "correction"
    NOTICE = "notice"


class MessageStatus:
    AWAITING_APPROVAL = "awaiting_approval"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    DECLINED = "declined"
    EXPIRED = "expired"
    #: Not acknowledged within `inbox_retention_days`: payload deleted, never handed out again.
    PURGED = "purged"
    #: The subject's data was erased (art. 12) before the recipient acknowledged it: withdrawn,
    #: never handed out again.
    ERASED = "erased"


class Message(SQLModel, table=True):
    """One verstrekking, informatieverzoek, correctie or notice between two partners."""

    __tablename__ = "exchange_message"
    __table_args__ = (
        sa.UniqueConstraint("sender", "idempotency_key", name="uq_exchange_message_idempotency"),
        sa.Index("ix_exchange_message_inbox", "recipient", "status", "seq"),
    )

    seq: int | None = Field(default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True))
    id: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=30)
    sender: str = Field(max_length=20, index=True)
    recipient: str = Field(max_length=20)
    subject_hash: str = Field(max_length=64, index=True)
    categories: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONColumn, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    professional: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONColumn, nullable=False)
    )
    legal_basis: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONColumn, nullable=False))
    consent_ids: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONColumn, nullable=False))
    in_reply_to: str | None = Field(default=None, max_length=36, index=True)
    status: str = Field(max_length=20)
    created_at: dt.datetime = Field(sa_column=_tz())
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    acknowledged_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    payload_sha256: str | None = Field(default=None, max_length=64)
    end_to_end: bool = False
    register_entry_id: str | None = Field(default=None, max_length=36)
    trace_id: str = Field(max_length=32)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    receipt: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class StoredPayload(SQLModel, table=True):
    """The sealed JWE and subject BSN of a message; deleting `wrapped_key` crypto-shreds it (art. 12)."""

    __tablename__ = "exchange_payload"

    message_id: str = Field(primary_key=True, max_length=36)
    subject_hash: str = Field(max_length=64, index=True)
    wrapped_key: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    #: Id of the KEK that wrapped `wrapped_key` (exchange/crypto.py `KekRing`); rotation changes both.
    kek_id: str = Field(
        default="legacy",
        sa_column=sa.Column(sa.String(64), nullable=False, server_default="legacy", index=True),
    )
    nonce: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    delete_after: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True, index=True))
    shredded_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class OutboxState:
    PENDING = "pending"  # push: to be delivered by a worker
    IN_INBOX = "in_inbox"  # pull: waiting for the recipient to fetch and acknowledge
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # erased (art. 12) or past the inbox retention: never delivered


class OutboxItem(SQLModel, table=True):
    """Transactional outbox: written with the message, drained by delivery workers."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (sa.Index("ix_exchange_outbox_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True))
    message_id: str = Field(max_length=36, unique=True)
    recipient: str = Field(max_length=20)
    state: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_column=_tz())
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))


class Override(SQLModel, table=True):
    """Follow-up of a disclosure without consent (art. 7) or on a statutory ground.

    Tracks vier-ogen approval (art. 7.6), the obligation to inform the subject (art. 7.4-7.5) and
    the privacy officer's review (art. 7.7).
    """

    __tablename__ = "exchange_override"

    message_id: str = Field(primary_key=True, max_length=36)
    partner: str = Field(max_length=20, index=True)
    recipient: str = Field(max_length=20, index=True)
    basis_type: str = Field(max_length=20)
    ground: str = Field(max_length=80)
    created_at: dt.datetime = Field(sa_column=_tz())
    professional: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONColumn, nullable=False)
    )
    approval_status: str = Field(max_length=20)  # not_required | awaiting | approved | expired
    approval_deadline: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    approved_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONColumn, nullable=True))
    approved_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    inform_status: str = Field(max_length=20)  # planned | waived | informed | not_applicable
    informed_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    informed_how: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    informed_by: str | None = Field(default=None, max_length=200)
    review_status: str = Field(max_length=20)  # pending_review | reviewed
    verdict: str | None = Field(default=None, max_length=20)
    review_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
