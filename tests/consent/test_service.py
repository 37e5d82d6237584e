"""Service-level behaviour of the registry: the decision query, moments in time, restrictions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from audit.service import EntryKind
from consent import service
from consent.schemas import ConsentIn, WithdrawalIn
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
