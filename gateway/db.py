"""Database engine and the unit of work.

SQLite is the embedded default (zero set-up); PostgreSQL is the production database. One place owns
the transaction: `unit_of_work` commits on success and rolls back on any error, so an accepted
disclosure, its register entry and its outbox row are committed together or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def create_db_engine(url: str, *, pool_size: int = 20, idle_ping_seconds: float | None = None) -> Engine:
    # hide_parameters: a database error's text must not quote the statement's values (a
    # description, a justification) into the logs; the statement itself is fine to log.
    if is_sqlite(url):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # `BEGIN IMMEDIATE` can be used where a writer must not be overtaken.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # While PostgreSQL is unreachable (a restart, a failover) a request must fail fast with
        # 503, not hang past its client's timeout: a bounded connect, and a bounded wait for a
        # pooled connection.
        pool_timeout=10,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    _ping_when_idle(engine, IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds)
    return engine


#: How long opening a PostgreSQL connection may take before the request gets a 503.
CONNECT_TIMEOUT_SECONDS = 5

#: A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip on every request, about a
    sixth of a disclosure's. A connection in steady use has just proved itself; one that sat in the
    pool (where a database restart or a firewall may have cut it) is pinged, and replaced when the
    ping fails, so no request ever gets a dead connection after a quiet night.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return  # new, or in steady use
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError("idle connection failed its ping") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers take the lock at BEGIN, so two writers never deadlock upgrading a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits when the block succeeds and rolls back otherwise."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_reachable(engine: Engine) -> bool:
    """A round trip on a pooled DBAPI connection, outside any transaction: through `engine.connect()`
    SQLite would emit `BEGIN IMMEDIATE` (see `_sqlite_begin`) and wait behind every writer."""
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()  # back to the pool (which rolls back whatever the driver began)
        return True
    except Exception:  # readiness reports any failure as "not ready"
        return False
