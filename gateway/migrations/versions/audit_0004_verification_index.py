"""audit: a partial index on the entries that record a full verification

Revision ID: audit_0004
Revises: audit_0003
Create Date: 2026-12-04

The console's overview shows the last full verification of the register: the newest `verify` read
(`audit.evidence`). Every page an officer opens is a register read too, so finding it scanned the
register reads back to that verification, or all of them if the register was never verified. The
index holds only the verification reads (one per verification), so it is one probe.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0004"
down_revision: str | Sequence[str] | None = "audit_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: A copy, not an import of `audit.models.VERIFICATION_READS`: a migration stays as it was written.
VERIFICATION_READS = "kind = 'register_accessed' AND body LIKE '%\"action\":\"verify\"%'"


def upgrade() -> None:
    op.create_index(
        "ix_register_entry_verifications",
        "register_entry",
        ["seq"],
        unique=False,
        postgresql_where=sa.text(VERIFICATION_READS),
        sqlite_where=sa.text(VERIFICATION_READS),
    )


def downgrade() -> None:
    op.drop_index("ix_register_entry_verifications", table_name="register_entry")
