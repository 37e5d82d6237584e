"""consent: the organisation that set a restriction (art. 14; only it or the central officer lifts it)

Revision ID: consent_0002
Revises: consent_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "consent_0002"
down_revision: str | Sequence[str] | None = "consent_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subject_restriction") as batch:
        batch.add_column(sa.Column("set_by_org", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subject_restriction") as batch:
        batch.drop_column("set_by_org")
