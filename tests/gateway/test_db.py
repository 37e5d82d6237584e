"""Readiness must not queue behind writers (SQLite takes its write lock at BEGIN in this gateway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

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


def test_an_idle_connection_cut_by_the_server_is_replaced_before_use(database_factory: Any) -> None:
    """A database restart or a firewall cuts pooled connections; the next request must not fail."""
    url = database_factory()
    if not url.startswith("postgresql"):
        pytest.skip("needs a server that can cut a connection")
    engine = create_db_engine(url, pool_size=1, idle_ping_seconds=0)
    try:
        with engine.connect() as connection:
            victim = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False)) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (victim,))
        with engine.connect() as connection:  # the cut connection is pinged, discarded, replaced
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim
    finally:
        engine.dispose()
