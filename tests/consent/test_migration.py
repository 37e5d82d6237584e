"""The consent branch of the migrations creates exactly the tables the models describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from consent.models import CONSENT_TABLES
from gateway.db import create_db_engine
from gateway.migrate import alembic_config, upgrade
from gateway.models import metadata


def _table_of(diff: Any) -> str | None:
    """The table a compare_metadata diff is about (diffs are tuples, or lists of tuples for modify_*)."""
    if isinstance(diff, list):
        return _table_of(diff[0])
    for part in diff[1:]:
        if isinstance(part, sa.Table):
            return str(part.name)
        if isinstance(part, sa.Index | sa.UniqueConstraint | sa.ForeignKeyConstraint):
            return str(part.table.name)
    if diff[0].startswith(("add_column", "remove_column", "modify_")):
        return str(diff[2])
    return None


def _consent_diffs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if _table_of(d) in CONSENT_TABLES]


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _consent_diffs(engine) == []


def test_downgrade_removes_exactly_the_consent_tables(database_factory: Callable[[], str]) -> None:
    engine = create_db_engine(database_factory())
    try:
        upgrade(engine)
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "consent@base")
        remaining = set(sa.inspect(engine).get_table_names())
        assert not remaining & CONSENT_TABLES
        upgrade(engine)
        assert set(sa.inspect(engine).get_table_names()) >= CONSENT_TABLES
        assert _consent_diffs(engine) == []
    finally:
        engine.dispose()
