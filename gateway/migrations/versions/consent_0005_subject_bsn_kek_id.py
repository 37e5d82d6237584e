"""consent: the id of the key-encryption key the subject's sealed BSN depends on (KEK rotation)

Revision ID: consent_0005
Revises: consent_0004
Create Date: 2026-12-04

Every BSN sealed before this revision used the single `kek` setting, id `legacy` in the keyring;
the server default also covers an instance of the previous release during a rolling upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "consent_0005"
down_revision: str | Sequence[str] | None = "consent_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "consent",
        sa.Column("subject_bsn_kek_id", sa.String(length=64), nullable=False, server_default="legacy"),
    )


def downgrade() -> None:
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("subject_bsn_kek_id")
