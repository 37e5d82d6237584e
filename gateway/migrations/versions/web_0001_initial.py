"""web: sign-ins under way and server-side sessions of the people's pages

Revision ID: web_0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "web_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("web",)
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "web_sign_in",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("user_group", sa.String(13), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("return_to", sa.String(500), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_index("ix_web_sign_in_created_at", "web_sign_in", ["created_at"])
    op.create_table(
        "web_search",
        sa.Column("id", sa.String(43), primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_index("ix_web_search_session_hash", "web_search", ["session_hash"])
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("org", sa.String(40), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("bsn_sealed", sa.String(200), nullable=True),
        sa.Column("bsn_hash", sa.String(64), nullable=True),
        sa.Column("acr", sa.String(200), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("last_seen_at", MOMENT, nullable=False),
        sa.Column("expires_at", MOMENT, nullable=False),
        sa.Column("ended_at", MOMENT, nullable=True),
    )
    op.create_index("ix_web_session_bsn_hash", "web_session", ["bsn_hash"])
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"])


def downgrade() -> None:
    op.drop_table("web_session")
    op.drop_table("web_search")
    op.drop_table("web_sign_in")
