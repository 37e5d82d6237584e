"""Service-level behaviour of the registry: the decision query, moments in time, restrictions."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from audit.service import EntryKind
from consent import service
from consent.schemas import ConsentIn, WithdrawalIn
from gateway.db import is_sqlite, unit_of_work
from gateway.problems import Conflict, NotFound
from gateway.runtime import Runtime
from tests.support import JGZ, MUNICIPALITY, SCHOOL, new_bsn

SPECIAL = frozenset({"health", "mental_health", "justice"})
SECOND = dt.timedelta(seconds=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def make_consent(
    session: Session, runtime: Runtime, bsn: str, *, grants: list[dict[str, Any]] | None = None, **extra: Any
) -> str:
    body = ConsentIn.model_validate(
        {
            "subject": {"bsn": bsn, "birth_date": "2018-06-01"},
            "form": "written",
            "evidence_sha256": "ab" * 32,
            "given_at": (now() - dt.timedelta(days=30)).isoformat(),
            "signatories": [
                {"role": "parent_with_authority", "name": "Anna"},
                {"role": "parent_with_authority", "name": "Bram"},
            ],
            "grants": grants
            or [{"recipient": JGZ, "categories": ["contact", "health"], "purpose": "hulp", "granted": True}],
            **extra,
        }
    )
    created = service.register_consent(session, runtime, MUNICIPALITY, body)
    session.commit()
    return created.id


def decide(
    session: Session, runtime: Runtime, bsn: str, categories: list[str], at: dt.datetime
) -> dict[str, str]:
    decision = service.decide_for_subject(
        session,
        subject_hash=runtime.bsn_hash(bsn),
        recipient=JGZ,
        categories=categories,
        at=at,
        special_categories=SPECIAL,
        sender=MUNICIPALITY,
    )
    return {c.category: c.reason for c in decision.per_category}


def test_decision_is_one_query(session: Session, runtime: Runtime) -> None:
    bsn = new_bsn()
    consent_id = make_consent(session, runtime, bsn, given_at=(now() - dt.timedelta(days=60)).isoformat())
    make_consent(session, runtime, bsn)
    service.withdraw(
        session,
        runtime,
        MUNICIPALITY,
        consent_id,
        WithdrawalIn(received_at=now(), evidence_sha256="cd" * 32),
    )
    session.commit()
    statements: list[str] = []
    connection = session.connection()

    def count(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn is connection:  # the server's background workers share the engine
            statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", count)
    try:
        assert decide(session, runtime, bsn, ["contact"], now()) == {"contact": "consent"}
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", count)
    assert len(statements) == 1


def test_withdrawal_applies_from_received_at_only(session: Session, runtime: Runtime) -> None:
    bsn = new_bsn()
    consent_id = make_consent(session, runtime, bsn)
    received_at = now() - dt.timedelta(days=2)
    service.withdraw(
        session,
        runtime,
        MUNICIPALITY,
        consent_id,
        WithdrawalIn(received_at=received_at, evidence_sha256="cd" * 32),
    )
    session.commit()

    # Processing before the withdrawal was received stays lawful (Bijlage VIII).
    assert decide(session, runtime, bsn, ["contact"], received_at - SECOND) == {"contact": "consent"}
    assert decide(session, runtime, bsn, ["contact"], received_at) == {"contact": "withdrawn"}


def test_expiry_and_not_yet_valid_are_read_in_utc(session: Session, runtime: Runtime) -> None:
    bsn = new_bsn()
    given_at = (now() - dt.timedelta(days=30)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    make_consent(
        session, runtime, bsn, given_at=given_at.isoformat(), valid_until=(given_at + 10 * SECOND).isoformat()
    )

    assert decide(session, runtime, bsn, ["contact"], given_at - SECOND) == {"contact": "not_yet_valid"}
    assert decide(session, runtime, bsn, ["contact"], given_at) == {"contact": "consent"}
    assert decide(session, runtime, bsn, ["contact"], given_at + 10 * SECOND) == {"contact": "expired"}


def test_later_refusal_overrides_earlier_grant(session: Session, runtime: Runtime) -> None:
    bsn = new_bsn()
    make_consent(session, runtime, bsn, given_at=(now() - dt.timedelta(days=60)).isoformat())
    make_consent(
        session,
        runtime,
        bsn,
        grants=[{"recipient": JGZ, "categories": ["contact"], "purpose": "hulp", "granted": False}],
    )

    assert decide(session, runtime, bsn, ["contact", "health"], now()) == {
        "contact": "refused",
        "health": "consent",
    }


def test_restriction_set_and_lifted(session: Session, runtime: Runtime) -> None:
    bsn = new_bsn()
    subject = runtime.bsn_hash(bsn)
    make_consent(session, runtime, bsn)
    start = now() - dt.timedelta(hours=1)

    service.set_restriction(
        session, runtime, subject, "bezwaar (art. 13)", "officer-1", start, actor_org=MUNICIPALITY
    )
    session.commit()
    assert service.is_restricted(session, subject, start)
    assert not service.is_restricted(session, subject, start - SECOND)
    assert decide(session, runtime, bsn, ["contact"], now()) == {"contact": "restricted"}
    with pytest.raises(Conflict):
        service.set_restriction(session, runtime, subject, "again", "officer-1", now())

    end = now()
    lifted = service.lift_restriction(session, runtime, subject, "officer-2", end)
    session.commit()
    assert lifted.ends_at == end
    assert lifted.lifted_by == "officer-2"
    assert not service.is_restricted(session, subject, end)
    assert decide(session, runtime, bsn, ["contact"], end) == {"contact": "consent"}
    # Decisions about the restricted period stay as they were.
    assert decide(session, runtime, bsn, ["contact"], end - SECOND) == {"contact": "restricted"}
    with pytest.raises(NotFound):
        service.lift_restriction(session, runtime, subject, "officer-2", end)

    kinds = session.exec(
        select(RegisterEntry.kind).where(RegisterEntry.subject_hash == subject).order_by(RegisterEntry.seq)
    ).all()
    assert kinds == [EntryKind.CONSENT_REGISTERED, EntryKind.RESTRICTION_SET, EntryKind.RESTRICTION_LIFTED]


def test_recipient_only_partner_cannot_withdraw_grants_it_cannot_see(
    session: Session, runtime: Runtime
) -> None:
    bsn = new_bsn()
    consent_id = make_consent(
        session,
        runtime,
        bsn,
        grants=[
            {"recipient": JGZ, "categories": ["contact"], "purpose": "hulp", "granted": True},
            {"recipient": SCHOOL, "categories": ["education"], "purpose": "hulp", "granted": True},
        ],
    )
    [listed] = service.list_for_subject(session, runtime, MUNICIPALITY, bsn).items
    school_grant = next(g.id for g in listed.grants if g.recipient == SCHOOL)

    with pytest.raises(service.InvalidConsent) as refused:
        service.withdraw(
            session,
            runtime,
            JGZ,
            consent_id,
            WithdrawalIn(received_at=now(), grants=[school_grant], evidence_sha256="cd" * 32),
        )
    assert [v.code for v in refused.value.violations] == ["unknown_grant"]


def test_two_officers_restricting_at_once_restrict_once(runtime: Runtime, engine: Engine) -> None:
    """Art. 14 on PostgreSQL: the second waits for the first and then finds the subject restricted
    (one restriction, one register entry). SQLite serialises writers at BEGIN IMMEDIATE."""
    if is_sqlite(engine):
        pytest.skip("SQLite has a single writer by design")
    subject = runtime.bsn_hash(new_bsn())
    outcome: list[BaseException | None] = []

    def second_officer() -> None:
        try:
            with unit_of_work(engine) as other:
                service.set_restriction(other, runtime, subject, "bezwaar", "officer-2", now())
            outcome.append(None)
        except Conflict as conflict:
            outcome.append(conflict)

    with unit_of_work(engine) as first:
        service.set_restriction(first, runtime, subject, "bezwaar", "officer-1", now())
        thread = threading.Thread(target=second_officer)
        thread.start()
        # Commit only once the second officer's transaction waits for this one, or has finished
        # without waiting (the race this test is about).
        while thread.is_alive() and not _waits_for_a_lock(engine):
            thread.join(0.01)
    thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with Session(engine) as session:
        kinds = session.exec(select(RegisterEntry.kind).where(RegisterEntry.subject_hash == subject)).all()
    assert kinds == [EntryKind.RESTRICTION_SET]


def _waits_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        waiting = sa.text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return bool(connection.execute(waiting).scalar_one())
