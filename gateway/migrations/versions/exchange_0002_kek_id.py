"""exchange: the id of the key-encryption key that wrapped each payload's data key (KEK rotation)

Revision ID: exchange_0002
Revises: exchange_0001
Create Date: 2026-12-04

Every payload stored before this revision was wrapped by the single `kek` setting, whose id in the
keyring is `legacy`. The server default stays: an instance of the previous release that inserts
during a rolling upgrade only knows that key, so `legacy` is right for its rows too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "exchange_0002"
down_revision: str | Sequence[str] | None = "exchange_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "exchange_payload",
        sa.Column("kek_id", sa.String(length=64), nullable=False, server_default="legacy"),
    )
    op.create_index("ix_exchange_payload_kek_id", "exchange_payload", ["kek_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_payload_kek_id", table_name="exchange_payload")
    with op.batch_alter_table("exchange_payload") as batch:
        batch.drop_column("kek_id")
