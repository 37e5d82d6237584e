"""access: follow-up rights asked for from the portal (art. 11-14)

Revision ID: access_0003
Revises: access_0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "access_0003"
down_revision: str | Sequence[str] | None = "access_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
TABLE = "rights_request"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("access_request_id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_label", sa.String(length=20), nullable=False),
        sa.Column("subject_bsn_sealed", sa.Text(), nullable=False),
        sa.Column("requester_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("disclosure_id", sa.String(length=64), nullable=True),
        sa.Column("sender", sa.String(length=20), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("handled_at", TIMESTAMP, nullable=True),
        sa.Column("handled_by", sa.String(length=200), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("access_request_id", "subject_hash", "requester_hash", "sender", "status"):
        op.create_index(op.f(f"ix_{TABLE}_{column}"), TABLE, [column], unique=False)


def downgrade() -> None:
    op.drop_table(TABLE)
