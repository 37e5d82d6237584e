"""audit: the art. 8 register (entries, tree state, tiles, signed tree heads)

Revision ID: audit_0001
Revises:
Create Date: 2026-11-23

The hashed content of an entry is its indexed columns plus `body` (canonical JSON of the rest),
encoded as in `audit.leaf`; `tests/audit/test_migration.py` compares this revision with the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("register_tree_head", "register_tree_tile", "register_tree_state", "register_entry")
_INDEXED = ("kind", "occurred_at", "actor", "actor_org", "sender", "recipient", "legal_basis", "trace_id")


def upgrade() -> None:
    op.create_table(
        "register_entry",
        sa.Column("seq", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_org", sa.String(length=20), nullable=True),
        sa.Column("sender", sa.String(length=20), nullable=True),
        sa.Column("recipient", sa.String(length=20), nullable=True),
        sa.Column("subject_hash", sa.String(length=64), nullable=True),
        sa.Column("categories", sa.String(length=1000), nullable=False),
        sa.Column("legal_basis", sa.String(length=20), nullable=True),
        sa.Column("trace_id", sa.String(length=55), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("leaf_index"),
    )
    for column in (*_INDEXED, "disclosure_id"):
        op.create_index(f"ix_register_entry_{column}", "register_entry", [column], unique=False)
    op.create_index(
        "ix_register_entry_subject_time", "register_entry", ["subject_hash", "occurred_at"], unique=False
    )
    op.create_index(
        "ix_register_entry_unsequenced",
        "register_entry",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("leaf_index IS NULL"),
        sqlite_where=sa.text("leaf_index IS NULL"),
    )
    op.create_table(
        "register_tree_head",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", TIMESTAMP, nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_register_tree_head_size", "register_tree_head", ["size"], unique=False)
    op.create_table(
        "register_tree_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "register_tree_tile",
        sa.Column("tile_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("tile_index"),
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
