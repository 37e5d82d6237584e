"""consent: the subject's BSN sealed under the KEK, for GET /v1/consents/{id} (FHIR patient)

Revision ID: consent_0004
Revises: consent_0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "consent_0004"
down_revision: str | Sequence[str] | None = "consent_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: consents registered before this revision have no sealed BSN (GET by id says so).
    op.add_column("consent", sa.Column("subject_bsn_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("subject_bsn_sealed")
