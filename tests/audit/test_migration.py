"""The audit branch of the migrations creates exactly the tables the models describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from audit.models import AUDIT_TABLES
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


def _audit_diffs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if _table_of(d) in AUDIT_TABLES]


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _audit_diffs(engine) == []


def test_the_unsequenced_index_is_partial(engine: Engine) -> None:
    indexes = {ix["name"]: ix for ix in sa.inspect(engine).get_indexes("register_entry")}
    unsequenced = indexes["ix_register_entry_unsequenced"]
    assert unsequenced["column_names"] == ["seq"]
    where = unsequenced["dialect_options"][f"{engine.dialect.name}_where"]
    assert "leaf_index IS NULL" in str(where)  # the sequencer's scan stays as small as its backlog


def test_downgrade_removes_exactly_the_audit_tables(database_factory: Callable[[], str]) -> None:
    engine = create_db_engine(database_factory())
    try:
        upgrade(engine)
        before = set(sa.inspect(engine).get_table_names())
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "audit@base")
        remaining = set(sa.inspect(engine).get_table_names())
        assert before - remaining == AUDIT_TABLES
        upgrade(engine)
        assert set(sa.inspect(engine).get_table_names()) == before
        assert _audit_diffs(engine) == []
    finally:
        engine.dispose()
