"""The send path's own statements (exchange/send_store.py): the same rows and facts as SQLAlchemy's."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from consent.repository import decision_facts
from exchange.outgoing import OutgoingMessage
from exchange.send_store import MESSAGE_COLUMNS, look_up
from gateway.driver_sql import compiled, driver_cursor
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import Client, consent_body, disclosure_body, register_consent, send
from tests.support import JGZ, SCHOOL, idempotency_key, new_bsn


def test_an_outgoing_message_has_exactly_the_message_columns() -> None:
    """A column added to `exchange_message` must be added to `OutgoingMessage` too (or the
    one-statement insert would leave it to its default without anyone deciding so)."""
    assert tuple(field.name for field in dataclasses.fields(OutgoingMessage)) == MESSAGE_COLUMNS


def test_the_lookup_finds_the_previous_send_and_the_same_facts_as_the_repository(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    client = client_for(JGZ)
    register_consent(client, consent_body(bsn, SCHOOL, ["contact"]))
    register_consent(client, consent_body(bsn, SCHOOL, ["help_request"], granted=False))
    key = idempotency_key()
    accepted = send(client, disclosure_body(bsn, SCHOOL, ["contact"]), key).json()
    subject_hash = runtime.bsn_hash(bsn)
    with Session(engine) as session:
        found = look_up(session, sender=JGZ, key=key, subject_hash=subject_hash)
        expected = decision_facts(session, subject_hash)
        unused = look_up(session, sender=JGZ, key=idempotency_key(), subject_hash=None)
    assert found.previous is not None
    assert (found.previous.id, found.previous.receipt) == (accepted["id"], accepted["receipt"])
    assert found.facts == expected
    assert len(expected.consents) == 2
    assert unused == (None, None)


def test_a_driver_statement_binds_like_sqlalchemy(engine: Engine) -> None:
    """Fixed values (a `literal`) are bound, and typed values are processed as SQLAlchemy would."""
    statement = sa.select(sa.literal(41) + sa.bindparam("n", type_=sa.Integer()))
    driver = compiled(statement, engine.dialect)
    assert compiled(statement, engine.dialect) is driver
    assert driver.params({"n": 1}) == {**driver.fixed, "n": 1}
    assert list(driver.fixed.values()) == [41]


def test_one_driver_cursor_per_pooled_connection(engine: Engine) -> None:
    with engine.connect() as connection:
        cursor = driver_cursor(connection)
        assert driver_cursor(connection) is cursor
        if engine.dialect.name == "sqlite":
            assert cursor is None
        else:
            assert cursor is not None
            assert cursor.execute(b"SELECT 1").fetchone() == (1,)
            connection.invalidate()  # a cut connection: the next checkout gets a cursor of its own
    if cursor is not None:
        with engine.connect() as connection:
            fresh = driver_cursor(connection)
            assert fresh is not None and fresh is not cursor
