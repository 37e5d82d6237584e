"""The database refuses to rewrite the register (audit_0002, audit_0003), on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.models import RegisterEntry
from audit.sequencer import sequence_pending
from audit.service import entry_columns
from audit.verify import verify_register
from gateway.db import is_sqlite
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.audit.tamper import GUARDED_TABLES, sql

migration = importlib.import_module("gateway.migrations.versions.audit_0002_append_only")

REFUSED = (sa.exc.IntegrityError, sa.exc.InternalError)


def refused(engine: Engine, statement: str, *params: object) -> None:
    with pytest.raises(REFUSED, match=r"register_append_only|ck_register_entry_leaf_hash_length"):
        sql(engine, statement, *params)


@pytest.fixture
def stored(isolated_runtime: Runtime) -> tuple[Runtime, list[RegisterEntry]]:
    """300 sequenced entries (one complete tile) under a signed head, and one awaiting the sequencer."""
    entries = record_all(isolated_runtime.engine, (make_draft() for _ in range(300)))
    sequence_pending(isolated_runtime, sign=True)
    return isolated_runtime, entries + record_all(isolated_runtime.engine, [make_draft()])


def test_the_guard_covers_every_column() -> None:
    columns = set(RegisterEntry.__table__.columns.keys())  # type: ignore[attr-defined]
    assert set(migration.FROZEN_COLUMNS) == columns  # since audit_0003 no column may change at all


def test_no_column_of_an_entry_can_be_changed(stored: tuple[Runtime, list[RegisterEntry]]) -> None:
    runtime, entries = stored
    special: dict[str, object] = {
        "seq": 10_000,
        "occurred_at": "2020-01-01 00:00:00+00:00",
        "leaf_hash": b"\x01" * 32,
    }
    for victim in (entries[7], entries[-1]):  # sequenced, and awaiting the sequencer
        for column in migration.FROZEN_COLUMNS:
            value = special.get(column, "x")
            refused(
                runtime.engine, f"UPDATE register_entry SET {column} = %s WHERE id = %s", value, victim.id
            )
    assert verify_register(runtime).ok


def test_a_tree_position_is_written_once(stored: tuple[Runtime, list[RegisterEntry]]) -> None:
    runtime, entries = stored
    engine = runtime.engine
    placed = "(SELECT seq FROM register_entry WHERE id = %s)"
    refused(
        engine, f"UPDATE register_position SET leaf_index = 5000 WHERE entry_seq = {placed}", entries[3].id
    )
    refused(
        engine,
        f"UPDATE register_position SET entry_seq = entry_seq WHERE entry_seq = {placed}",
        entries[3].id,
    )
    refused(engine, f"DELETE FROM register_position WHERE entry_seq = {placed}", entries[3].id)
    # The queue row of an entry awaiting the sequencer cannot be taken away (it would never be placed).
    refused(engine, f"DELETE FROM register_pending WHERE seq = {placed}", entries[-1].id)
    refused(engine, f"UPDATE register_pending SET leaf_hash = leaf_hash WHERE seq = {placed}", entries[-1].id)
    assert sequence_pending(runtime, sign=True) == 1
    assert verify_register(runtime).ok


def test_every_inserted_entry_is_queued_for_the_tree(isolated_runtime: Runtime) -> None:
    """The queue row comes from a trigger, so even a bare INSERT (no application code) is placed."""
    columns = entry_columns(make_draft())
    with isolated_runtime.engine.begin() as connection:
        connection.execute(sa.insert(RegisterEntry.__table__), columns)  # type: ignore[arg-type]
        queued = connection.exec_driver_sql("SELECT count(*) FROM register_pending").scalar_one()
    assert queued == 1
    assert sequence_pending(isolated_runtime, sign=True) == 1
    with isolated_runtime.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM register_pending").scalar_one() == 0
    assert verify_register(isolated_runtime).ok


REWRITES = (
    "DELETE FROM register_entry WHERE seq = (SELECT entry_seq FROM register_position WHERE leaf_index = 5)",
    "DELETE FROM register_entry WHERE seq IN (SELECT seq FROM register_pending)",
    "DELETE FROM register_position",
    "UPDATE register_entry SET leaf_hash = leaf_hash",
    "DELETE FROM register_tree_head",
    "DELETE FROM register_tree_tile",
    "DELETE FROM register_tree_state",
    "UPDATE register_tree_head SET size = size - 1",
    "UPDATE register_tree_head SET jws = jws",
    "UPDATE register_tree_tile SET hash = hash",
    "UPDATE register_tree_state SET size = size - 1",
)


def test_deletes_and_rewrites_are_refused(stored: tuple[Runtime, list[RegisterEntry]]) -> None:
    runtime, _ = stored
    for statement in REWRITES:
        refused(runtime.engine, statement)
    if not is_sqlite(runtime.engine):  # SQLite has no TRUNCATE; its DELETE is refused above
        for table in GUARDED_TABLES:
            refused(runtime.engine, f"TRUNCATE {table} CASCADE")
    assert verify_register(runtime).ok


def test_a_malformed_leaf_hash_cannot_be_inserted(isolated_runtime: Runtime) -> None:
    columns = {**entry_columns(make_draft()), "leaf_hash": b"\x01" * 31}
    with (
        pytest.raises(REFUSED, match=r"register_append_only|ck_register_entry_leaf_hash_length"),
        isolated_runtime.engine.begin() as connection,
    ):
        connection.execute(sa.insert(RegisterEntry.__table__), columns)  # type: ignore[arg-type]
