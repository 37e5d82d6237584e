"""access: subject-access requests (art. 10, 16)

Revision ID: access_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "access_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("access",)
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_access_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_label", sa.String(length=20), nullable=False),
        sa.Column("subject_birth_date", sa.Date(), nullable=True),
        sa.Column("relationship", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("requester_hash", sa.String(length=64), nullable=True),
        sa.Column("requester_subject", sa.String(length=200), nullable=True),
        sa.Column("co_requester_hash", sa.String(length=64), nullable=True),
        sa.Column("needs", sa.String(length=30), nullable=True),
        sa.Column("representation_evidence", sa.String(length=40), nullable=True),
        sa.Column("lodged_with", sa.String(length=20), nullable=True),
        sa.Column("verified_by", JSON, nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("ground", sa.String(length=20), nullable=True),
        sa.Column("motivation", sa.Text(), nullable=True),
        sa.Column("withheld_entries", JSON, nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_subject_access_request_co_requester_hash"),
        "subject_access_request",
        ["co_requester_hash"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_request_lodged_with"), "subject_access_request", ["lodged_with"], unique=False
    )
    op.create_index(
        op.f("ix_subject_access_request_requester_hash"),
        "subject_access_request",
        ["requester_hash"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subject_access_request_status"), "subject_access_request", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_subject_access_request_subject_hash"),
        "subject_access_request",
        ["subject_hash"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("subject_access_request")
