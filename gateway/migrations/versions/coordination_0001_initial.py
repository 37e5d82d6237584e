"""coordination: households, children (keyed hashes), involved partners and events (1H-1P-1R)

Revision ID: coordination_0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "coordination_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("coordination",)
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "coordination_household",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("created_by", sa.String(20), nullable=False),
        sa.Column("form", sa.String(30), nullable=True),
        sa.Column("coordinator", sa.String(20), nullable=True),
        sa.Column("coordinator_since", MOMENT, nullable=True),
        sa.Column("coordinator_until", MOMENT, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_coordination_household_coordinator", "coordination_household", ["coordinator"])
    op.create_table(
        "coordination_child",
        sa.Column("household_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("subject_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_coordination_child_subject_hash", "coordination_child", ["subject_hash"])
    op.create_table(
        "coordination_participant",
        sa.Column("household_id", sa.String(36), primary_key=True),
        sa.Column("partner", sa.String(20), primary_key=True),
        sa.Column("added_at", MOMENT, nullable=False),
    )
    op.create_index("ix_coordination_participant_partner", "coordination_participant", ["partner"])
    op.create_table(
        "coordination_event",
        sa.Column("seq", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("household_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("occurred_at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column("form", sa.String(30), nullable=True),
        sa.Column("coordinator", sa.String(20), nullable=True),
        sa.Column("recipient", sa.String(20), nullable=True),
        sa.Column("child_position", sa.Integer(), nullable=True),
        sa.Column("notice_type", sa.String(30), nullable=True),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("register_entry_id", sa.String(36), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("details", JSON, nullable=False),
    )
    op.create_index("ix_coordination_event_household", "coordination_event", ["household_id", "seq"])


def downgrade() -> None:
    op.drop_table("coordination_event")
    op.drop_table("coordination_participant")
    op.drop_table("coordination_child")
    op.drop_table("coordination_household")
