"""Database engine and the unit of work.

SQLite is the embedded default (zero set-up); PostgreSQL is the production database. One place owns
the transaction: `unit_of_work` commits on success and rolls back on any error, so an accepted
disclosure, its register entry and its outbox row are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def create_db_engine(url: str, *, pool_size: int = 20) -> Engine:
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
    return create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


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
