"""Readiness must not queue behind writers (SQLite takes its write lock at BEGIN in this gateway)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gateway.db import create_db_engine, database_reachable


def test_readiness_probe_does_not_wait_for_a_writer_on_sqlite(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ready.db'}")
    try:
        with engine.connect() as writer:
            writer.execute(text("CREATE TABLE t (x INTEGER)"))
            writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock, uncommitted
            assert database_reachable(engine)
    finally:
        engine.dispose()


def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert not database_reachable(engine)
