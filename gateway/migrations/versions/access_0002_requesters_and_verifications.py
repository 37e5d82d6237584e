"""access: who asked, who joined, who verified, and why a request was rejected (art. 10.2, 16)

Revision ID: access_0002
Revises: access_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "access_0002"
down_revision: str | Sequence[str] | None = "access_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "subject_access_request"
COLUMNS = (
    ("birth_date_source", sa.String(length=20)),
    ("requester_name", sa.String(length=200)),
    ("co_requester_name", sa.String(length=200)),
    ("co_requester_relationship", sa.String(length=30)),
    ("co_requester_evidence", sa.String(length=40)),
    ("co_requester_candidates", JSON),
    ("verifications", JSON),
    ("rejection", JSON),
)


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
