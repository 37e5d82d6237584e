"""Statements compiled once by SQLAlchemy and run straight on the psycopg connection underneath it.

For the few statements every disclosure runs: per call, SQLAlchemy's execution machinery (cache
lookup, execution context, parameter processing, result metadata built from the cursor
description) costs more CPU than PostgreSQL spends on the statement. The SQL text and the bind
processing still come from SQLAlchemy and the models (JSON encoding, UTC timestamps, bind
casts), so the rows written are exactly those a Core `execute` writes; only the per-call
machinery is skipped. The statements run in the session's own transaction and connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session


@dataclass(frozen=True)
class DriverStatement:
    """SQL for psycopg (named `%(name)s` parameters) and the bind processors of its parameters."""

    sql: bytes
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values as SQLAlchemy would bind them (e.g. JSON wrapped, datetimes checked UTC)."""
        params = dict(values)
        for name, process in self.processors:
            params[name] = process(params[name])
        return params


_COMPILED: dict[tuple[int, int], tuple[sa.ClauseElement, DriverStatement]] = {}


def compiled(statement: sa.ClauseElement, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for `dialect`, once per (statement, dialect) pair."""
    key = (id(statement), id(dialect))
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is statement:
        return hit[1]
    compiled_statement = statement.compile(dialect=dialect)
    assert isinstance(compiled_statement, SQLCompiler)
    # Private in name only: the mapping SQLAlchemy's own execution uses for these parameters.
    processors = tuple(
        (name, process) for name, process in compiled_statement._bind_processors.items() if callable(process)
    )
    driver = DriverStatement(compiled_statement.string.encode(), processors)
    _COMPILED[key] = (statement, driver)  # the statement is kept, so its id is not reused
    return driver


def psycopg_connection(session: Session) -> psycopg.Connection[Any] | None:
    """The psycopg connection under the session's transaction, or None on another driver (SQLite)."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None
