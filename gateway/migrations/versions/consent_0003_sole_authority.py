"""consent: sole authority (art. 6.7) and written authorisation evidence (art. 6.8)

Revision ID: consent_0003
Revises: consent_0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "consent_0003"
down_revision: str | Sequence[str] | None = "consent_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Consents registered before this revision were all judged as "both parents have authority".
    op.add_column(
        "consent", sa.Column("sole_authority", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("consent", sa.Column("authorisation_evidence_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("authorisation_evidence_sha256")
        batch.drop_column("sole_authority")
