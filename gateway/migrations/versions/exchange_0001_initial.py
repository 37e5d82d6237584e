"""exchange: messages, sealed payloads, outbox and override follow-up

Revision ID: exchange_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "exchange_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("exchange",)
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("exchange_payload", "exchange_override", "exchange_outbox", "exchange_message")


def upgrade() -> None:
    op.create_table(
        "exchange_message",
        sa.Column("seq", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("professional", JSON, nullable=False),
        sa.Column("legal_basis", JSON, nullable=False),
        sa.Column("consent_ids", JSON, nullable=False),
        sa.Column("in_reply_to", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=True),
        sa.Column("end_to_end", sa.Boolean(), nullable=False),
        sa.Column("register_entry_id", sa.String(length=36), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("sender", "idempotency_key", name="uq_exchange_message_idempotency"),
    )
    op.create_index(
        op.f("ix_exchange_message_in_reply_to"), "exchange_message", ["in_reply_to"], unique=False
    )
    op.create_index(
        "ix_exchange_message_inbox", "exchange_message", ["recipient", "status", "seq"], unique=False
    )
    op.create_index(op.f("ix_exchange_message_sender"), "exchange_message", ["sender"], unique=False)
    op.create_index(
        op.f("ix_exchange_message_subject_hash"), "exchange_message", ["subject_hash"], unique=False
    )
    op.create_table(
        "exchange_outbox",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_exchange_outbox_due", "exchange_outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "exchange_override",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("partner", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("basis_type", sa.String(length=20), nullable=False),
        sa.Column("ground", sa.String(length=80), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("professional", JSON, nullable=False),
        sa.Column("approval_status", sa.String(length=20), nullable=False),
        sa.Column("approval_deadline", TIMESTAMP, nullable=True),
        sa.Column("approved_by", JSON, nullable=True),
        sa.Column("approved_at", TIMESTAMP, nullable=True),
        sa.Column("inform_status", sa.String(length=20), nullable=False),
        sa.Column("informed_at", TIMESTAMP, nullable=True),
        sa.Column("informed_how", sa.Text(), nullable=True),
        sa.Column("informed_by", sa.String(length=200), nullable=True),
        sa.Column("review_status", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(op.f("ix_exchange_override_partner"), "exchange_override", ["partner"], unique=False)
    op.create_index(op.f("ix_exchange_override_recipient"), "exchange_override", ["recipient"], unique=False)
    op.create_table(
        "exchange_payload",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("delete_after", TIMESTAMP, nullable=True),
        sa.Column("shredded_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(
        op.f("ix_exchange_payload_delete_after"), "exchange_payload", ["delete_after"], unique=False
    )
    op.create_index(
        op.f("ix_exchange_payload_subject_hash"), "exchange_payload", ["subject_hash"], unique=False
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
