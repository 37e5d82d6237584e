"""The rows a disclosure reads and writes, with as little per-statement overhead as possible.

A consented send runs three statements of its own: the idempotency lookup, the consent decision
query and (PostgreSQL) the one statement that writes message, sealed payload, outbox row and
register entry. On PostgreSQL they run straight on the session's psycopg connection
(`gateway.driver_sql`), in the session's transaction: five round trips with BEGIN and COMMIT.
SQLite (the development database) runs them through SQLAlchemy Core, the inserts one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from audit.models import RegisterEntry
from audit.service import ENTRY_COLUMNS, PreparedEntry
from consent.repository import SubjectFacts, decision_facts, decision_facts_statement, facts_from_rows
from exchange.envelope import PAYLOAD_COLUMNS
from exchange.models import Message, OutboxItem, StoredPayload
from exchange.outgoing import OutgoingMessage
from gateway.driver_sql import compiled, driver_cursor

_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]
_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]
_ENTRIES: sa.Table = RegisterEntry.__table__  # type: ignore[attr-defined]
MESSAGE_COLUMNS = tuple(column.name for column in _MESSAGES.columns if column.name != "seq")
OUTBOX_COLUMNS = ("message_id", "recipient", "state", "attempts", "next_attempt_at")


class Previous(NamedTuple):
    """What an earlier send with the same Idempotency-Key answered, and the body it was for."""

    id: str
    status: str
    register_entry_id: str | None
    receipt: str | None
    trace_id: str
    request_hash: str | None


class Lookup(NamedTuple):
    """The reads before anything is written: an earlier send with this key, the consent facts."""

    previous: Previous | None
    facts: SubjectFacts | None


_IDEMPOTENCY_LOOKUP = sa.select(*(_MESSAGES.c[name] for name in Previous._fields)).where(
    _MESSAGES.c.sender == sa.bindparam("sender"), _MESSAGES.c.idempotency_key == sa.bindparam("key")
)


def look_up(session: Session, *, sender: str, key: str, subject_hash: str | None) -> Lookup:
    """The send with this sender's Idempotency-Key, if any, and (given `subject_hash`) the
    subject's consent facts: reads only, so the facts are read even when the key was used.

    Two statements one after the other. Measured on PostgreSQL, neither pipelining them (psycopg
    pipeline mode costs more Python CPU than the round trip it saves on a local socket) nor
    joining them into one statement (more backend CPU) made a send cheaper.
    """
    connection = session.connection()
    cursor = driver_cursor(connection)
    if cursor is None:
        row = connection.execute(_IDEMPOTENCY_LOOKUP, {"sender": sender, "key": key}).first()
        facts = decision_facts(session, subject_hash) if subject_hash is not None else None
        return Lookup(Previous(*row) if row is not None else None, facts)
    lookup = compiled(_IDEMPOTENCY_LOOKUP, connection.dialect)
    row = cursor.execute(lookup.sql, lookup.params({"sender": sender, "key": key})).fetchone()
    if subject_hash is None:
        return Lookup(Previous(*row) if row is not None else None, None)
    decision = compiled(decision_facts_statement(), connection.dialect)
    rows = cursor.execute(decision.sql, decision.params({"subject_hash": subject_hash})).fetchall()
    return Lookup(Previous(*row) if row is not None else None, facts_from_rows(rows))


def previous_send(session: Session, *, sender: str, key: str) -> Previous | None:
    """The send with this sender's Idempotency-Key (after losing a race for it)."""
    return look_up(session, sender=sender, key=key, subject_hash=None).previous


def _accept_statement(*, complete: bool) -> sa.Select[Any]:
    """PostgreSQL: message, sealed payload and (`complete`) outbox row and sender-side register
    entry in one statement: one round trip for everything an accepted disclosure writes.

    The other inserts select from the message insert's RETURNING, so when the Idempotency-Key was
    already used none of the rows is written. A held override (not `complete`) is registered and
    enqueued separately (exchange/override_hold.py).
    """
    message = (
        postgresql.insert(_MESSAGES)
        .values({name: sa.bindparam(f"m_{name}", type_=_MESSAGES.c[name].type) for name in MESSAGE_COLUMNS})
        .on_conflict_do_nothing(index_elements=["sender", "idempotency_key"])
        .returning(_MESSAGES.c.id)
        .cte("message")
    )
    statement = sa.select(message.c.id)
    parts: list[tuple[str, sa.Table, tuple[str, ...]]] = [("p_", _PAYLOADS, PAYLOAD_COLUMNS)]
    if complete:
        parts += [("o_", _OUTBOX, OUTBOX_COLUMNS), ("r_", _ENTRIES, ENTRY_COLUMNS)]
    for prefix, table, columns in parts:
        row = sa.select(*(sa.bindparam(prefix + name, type_=table.c[name].type) for name in columns))
        insert = table.insert().from_select(columns, row.select_from(message))
        statement = statement.add_cte(insert.cte(f"{table.name}_row"))
    return statement


_ACCEPT = {True: _accept_statement(complete=True), False: _accept_statement(complete=False)}
# One Idempotency-Key per sender: a concurrent duplicate inserts nothing (it waits for the first
# transaction and then sees its row) instead of failing, so no savepoint is needed. SQLite needs
# 3.35+ for RETURNING.
_INSERT_MESSAGE_ONCE = (
    sqlite.insert(_MESSAGES)
    .on_conflict_do_nothing(index_elements=["sender", "idempotency_key"])
    .returning(_MESSAGES.c.seq)
)
_INSERT_ENTRY = _ENTRIES.insert()


def accept(
    session: Session,
    message: OutgoingMessage,
    payload: Mapping[str, Any],
    outbox: Mapping[str, Any] | None,
    entry: PreparedEntry | None,
) -> bool:
    """Insert the message, its sealed payload and (both or neither) its outbox row and sender-side
    register entry, in the request's transaction; or nothing, and False, when this sender already
    used the Idempotency-Key.

    The message goes in first, so a duplicate is found before anything else is written.
    """
    assert (outbox is None) == (entry is None)
    values = message.columns()
    entry_values = entry.columns if entry is not None else {}
    connection = session.connection()
    cursor = driver_cursor(connection)
    if cursor is not None:
        params = {f"m_{name}": value for name, value in values.items()}
        params.update({f"p_{name}": value for name, value in payload.items()})
        params.update({f"o_{name}": value for name, value in (outbox or {}).items()})
        params.update({f"r_{name}": value for name, value in entry_values.items()})
        statement = compiled(_ACCEPT[entry is not None], connection.dialect)
        return cursor.execute(statement.sql, statement.params(params)).fetchone() is not None
    if connection.execute(_INSERT_MESSAGE_ONCE, values).first() is None:
        return False
    connection.execute(_PAYLOADS.insert(), payload)
    if outbox is not None:
        connection.execute(_OUTBOX.insert(), outbox)
        connection.execute(_INSERT_ENTRY, entry_values)
    return True
