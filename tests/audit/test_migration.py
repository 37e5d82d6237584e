"""The audit branch of the migrations creates exactly the tables the models describe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.merkle import TILE_HEIGHT, CompactRange, perfect_nodes_above
from audit.models import AUDIT_TABLES, RegisterEntry, TreeState, TreeTile
from audit.overview import LAST_VERIFICATION
from audit.sequencer import checkpoint_now
from audit.service import entry_columns
from audit.verify import verify_register
from gateway.db import create_db_engine
from gateway.migrate import alembic_config, upgrade
from gateway.models import metadata
from gateway.runtime import build_runtime
from gateway.settings import load_settings
from tests.audit.builders import make_draft
from tests.support import DevEnv


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


def test_entries_are_written_once(engine: Engine) -> None:
    """Tree positions live in their own table (audit_0003): nothing ever updates an entry row."""
    assert "leaf_index" not in {column["name"] for column in sa.inspect(engine).get_columns("register_entry")}
    assert {"register_position", "register_pending"} <= set(sa.inspect(engine).get_table_names())


def test_the_last_verification_is_found_through_its_partial_index(engine: Engine) -> None:
    """The console's lookup uses the predicate of `ix_register_entry_verifications` word for word,
    so PostgreSQL can answer it from the index (seq scans off: else a tiny table is scanned). SQLite,
    the development database, has the index too but its planner prefers the `kind` index."""
    if engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's plan: SQLite picks its own index for a development-sized register")
    sql = str(LAST_VERIFICATION.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_register_entry_verifications" in plan, plan


def test_a_register_written_by_the_old_schema_keeps_its_tree(
    dev_env: DevEnv, database_factory: Callable[[], str]
) -> None:
    """audit_0003 on a register the old sequencer wrote: 290 entries placed (with their tile and tree
    state) and 10 still waiting. Positions move over unchanged, the waiting ones join the queue, and
    the new sequencer continues the same tree: the whole register verifies."""
    settings = load_settings(dev_env.directory / "gateway.toml", database_url=database_factory())
    engine = create_db_engine(settings.database_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "audit_0002")
    rows = [entry_columns(make_draft()) for _ in range(300)]
    with engine.begin() as connection:
        old = sa.Table("register_entry", sa.MetaData(), autoload_with=connection)
        assert "leaf_index" in old.c
        connection.execute(sa.insert(old), rows)
        stored = connection.execute(sa.select(old.c.seq, old.c.leaf_hash).order_by(old.c.seq)).all()
        placed = stored[:290]
        for index, (seq, _leaf) in enumerate(placed):  # the old sequencer's UPDATE, one per entry
            connection.execute(sa.update(old).where(old.c.seq == seq).values(leaf_index=index))
        hashes = [bytes(leaf) for _seq, leaf in placed]
        tiles = perfect_nodes_above(hashes, TILE_HEIGHT)
        connection.execute(
            sa.insert(TreeTile.__table__),  # type: ignore[arg-type]
            [{"tile_index": i, "hash": h} for i, h in enumerate(tiles)],
        )
        frontier = CompactRange.from_leaf_hashes(hashes)
        connection.execute(
            sa.insert(TreeState.__table__),  # type: ignore[arg-type]
            {"id": 1, "size": 290, "frontier": frontier.to_bytes(), "updated_at": dt.datetime.now(dt.UTC)},
        )

    upgrade(engine)
    runtime = build_runtime(settings, engine)
    try:
        assert _audit_diffs(engine) == []
        with engine.connect() as connection:
            positions = (
                connection.exec_driver_sql("SELECT entry_seq FROM register_position ORDER BY leaf_index")
                .scalars()
                .all()
            )
            queued = (
                connection.exec_driver_sql("SELECT seq FROM register_pending ORDER BY seq").scalars().all()
            )
        assert list(positions) == [seq for seq, _leaf in placed]
        assert list(queued) == [seq for seq, _leaf in stored[290:]]

        checkpoint_now(runtime)
        report = verify_register(runtime)
        assert report.ok, report.message
        assert (report.entries, report.pending) == (300, 0)
        with Session(engine) as session:
            last = session.exec(select(RegisterEntry).where(RegisterEntry.seq == stored[-1][0])).one()
            first = session.exec(select(RegisterEntry).where(RegisterEntry.seq == stored[0][0])).one()
            assert (first.leaf_index, last.leaf_index) == (0, 299)
    finally:
        runtime.dispose()


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
