"""consent: statements, grants, withdrawals and subject restrictions

Revision ID: consent_0001
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "consent_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("consent",)
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_birth_date", sa.Date(), nullable=False),
        sa.Column("obtained_by", sa.String(length=20), nullable=False),
        sa.Column("obtained_on_behalf_of", sa.String(length=20), nullable=True),
        sa.Column("form", sa.String(length=10), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("given_at", TIMESTAMP, nullable=False),
        sa.Column("valid_until", TIMESTAMP, nullable=False),
        sa.Column("signatories", JSON, nullable=False),
        sa.Column("other_parent_statement", sa.Text(), nullable=True),
        sa.Column("subject_incapable", sa.Boolean(), nullable=False),
        sa.Column("legal_representation", sa.Boolean(), nullable=False),
        sa.Column("professional", JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_subject_hash", "consent", ["subject_hash"])

    op.create_table(
        "consent_grant",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["consent_id"], ["consent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_grant_consent_id", "consent_grant", ["consent_id"])
    op.create_index("ix_consent_grant_recipient", "consent_grant", ["recipient"])

    op.create_table(
        "consent_withdrawal",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("grant_ids", JSON, nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("registered_by", sa.String(length=20), nullable=False),
        sa.Column("professional", JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["consent_id"], ["consent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_withdrawal_consent_id", "consent_withdrawal", ["consent_id"])
    op.create_index("ix_consent_withdrawal_subject_hash", "consent_withdrawal", ["subject_hash"])

    op.create_table(
        "subject_restriction",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=True),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subject_restriction_subject_hash", "subject_restriction", ["subject_hash"])


def downgrade() -> None:
    op.drop_index("ix_subject_restriction_subject_hash", table_name="subject_restriction")
    op.drop_table("subject_restriction")
    op.drop_index("ix_consent_withdrawal_subject_hash", table_name="consent_withdrawal")
    op.drop_index("ix_consent_withdrawal_consent_id", table_name="consent_withdrawal")
    op.drop_table("consent_withdrawal")
    op.drop_index("ix_consent_grant_recipient", table_name="consent_grant")
    op.drop_index("ix_consent_grant_consent_id", table_name="consent_grant")
    op.drop_table("consent_grant")
    op.drop_index("ix_consent_subject_hash", table_name="consent")
    op.drop_table("consent")
