"""Statements compiled once by SQLAlchemy and run straight on the psycopg connection underneath it.

For the few statements every disclosure runs: per call, SQLAlchemy's execution machinery (cache
lookup, execution context, parameter processing, result metadata built from the cursor
description) costs more CPU than PostgreSQL spends on the statement. The SQL text and the bind
processing still come from SQLAlchemy and the models (JSON encoding, UTC timestamps, bind
casts), so the rows written are exactly those a Core `execute` writes; only the per-call
machinery is skipped. The statements run in the session's own transaction and connection.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class DriverStatement:
    """SQL for psycopg (named `%(name)s` parameters) and the bind processors of its parameters."""

    sql: bytes
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    #: Parameters whose value is part of the statement (a `literal()`, a bindparam with a value).
    fixed: Mapping[str, Any]

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values as SQLAlchemy would bind them (e.g. JSON wrapped, datetimes checked UTC)."""
        params = {**self.fixed, **values}
        for name, process in self.processors:
            params[name] = process(params[name])
        return params


# Per dialect (one per engine), forgotten with it; keyed by the module-level statement objects.
_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[sa.ClauseElement, DriverStatement]] = (
    weakref.WeakKeyDictionary()
)


def compiled(statement: sa.ClauseElement, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for `dialect`, once per (statement, dialect) pair."""
    cache = _COMPILED.setdefault(dialect, {})
    hit = cache.get(statement)
    if hit is not None:
        return hit
    compiled_statement = statement.compile(dialect=dialect)
    assert isinstance(compiled_statement, SQLCompiler)
    # Private in name only: the mapping SQLAlchemy's own execution uses for these parameters.
    processors = tuple(
        (name, process) for name, process in compiled_statement._bind_processors.items() if callable(process)
    )
    names = compiled_statement.bind_names
    fixed = {name: bind.effective_value for bind, name in names.items() if not bind.required}
    driver = DriverStatement(compiled_statement.string.encode(), processors, fixed)
    cache[statement] = driver
    return driver


_CURSOR = "meerpunt.driver_cursor"


def driver_cursor(connection: sa.Connection) -> psycopg.Cursor[Any] | None:
    """A psycopg cursor on the connection under `connection`, or None on another driver (SQLite).

    One cursor per pooled connection, kept in the connection's `info` (which SQLAlchemy clears
    when it closes or invalidates that connection): a new cursor starts with an empty cache of
    parameter dumpers, and looking them up again for every statement cost measurable CPU.
    """
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        return None
    info = connection.connection.info
    cursor: psycopg.Cursor[Any] | None = info.get(_CURSOR)
    if cursor is None or cursor.closed or cursor.connection is not driver:
        cursor = info[_CURSOR] = driver.cursor()
    return cursor
