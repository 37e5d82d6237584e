"""Queries of the consent registry. Everything about a subject is found through its keyed BSN hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, or_, select

from consent.models import Consent, ConsentGrant, ConsentWithdrawal, SubjectRestriction
from consent.rules import ConsentFacts, ConsentForm, GrantFacts, RestrictionFacts, WithdrawalFacts
from gateway.db import is_sqlite


@dataclass(frozen=True)
class SubjectFacts:
    """Everything `rules.decide` needs about one subject."""

    consents: tuple[ConsentFacts, ...]
    withdrawals: tuple[WithdrawalFacts, ...]
    restrictions: tuple[RestrictionFacts, ...]


def _decision_facts_query() -> sa.CompoundSelect[Any]:
    """One round trip for a decision: grants (with their statement), withdrawals, restrictions.

    Three indexed lookups on `subject_hash` glued by UNION ALL into rows of one shape
    (kind, consent_id, grant_id, recipient, ids, granted, form, explicit, t1, t2); the result
    types of the first branch apply to all rows, so timestamps and JSON are decoded alike.
    """
    tables = SQLModel.metadata.tables
    consent, grant = tables[Consent.__tablename__], tables[ConsentGrant.__tablename__]
    withdrawal = tables[ConsentWithdrawal.__tablename__]
    restriction = tables[SubjectRestriction.__tablename__]
    subject = sa.bindparam("subject_hash", type_=sa.String())
    null = sa.null()
    grants = (
        sa.select(
            sa.literal_column("'g'").label("kind"),
            consent.c.id.label("consent_id"),
            grant.c.id.label("grant_id"),
            grant.c.recipient,
            grant.c.categories.label("ids"),
            grant.c.granted,
            consent.c.form,
            consent.c.explicit,
            consent.c.given_at.label("t1"),
            consent.c.valid_until.label("t2"),
            consent.c.obtained_by.label("o1"),
            consent.c.obtained_on_behalf_of.label("o2"),
        )
        .select_from(consent.join(grant, grant.c.consent_id == consent.c.id))
        .where(consent.c.subject_hash == subject)
    )
    withdrawals = sa.select(
        sa.literal_column("'w'"),
        withdrawal.c.consent_id,
        null,
        null,
        withdrawal.c.grant_ids,
        null,
        null,
        null,
        withdrawal.c.received_at,
        null,
        null,
        null,
    ).where(withdrawal.c.subject_hash == subject)
    restrictions = sa.select(
        sa.literal_column("'r'"),
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        restriction.c.starts_at,
        restriction.c.ends_at,
        null,
        null,
    ).where(restriction.c.subject_hash == subject)
    return sa.union_all(grants, withdrawals, restrictions)


_DECISION_FACTS = _decision_facts_query()


def decision_facts_statement() -> sa.CompoundSelect[Any]:
    """The decision query, for EXPLAIN in the benchmark (bind parameter `subject_hash`)."""
    return _DECISION_FACTS


def decision_facts(session: Session, subject_hash: str) -> SubjectFacts:
    """Consents, grants, withdrawals and restrictions of one subject, in one indexed query.

    Every statement about the subject comes back with who obtained it and for whom: which of them
    a sender may rely on is a rule of art. 6 lid 1 and 3 (`rules.may_rely_on`), applied by
    `rules.decide`, not here.

    Core rows, not ORM objects: the decision sits on the path of every disclosure, and
    hydrating and tracking entities would cost more than the query itself.
    """
    return facts_from_rows(session.connection().execute(_DECISION_FACTS, {"subject_hash": subject_hash}))


def facts_from_rows(rows: Iterable[Sequence[Any]]) -> SubjectFacts:
    """`SubjectFacts` from the rows of the decision query, however they were fetched.

    Apart from `decision_facts`, the send path runs the query itself, straight on the driver
    (exchange/send_store.py).
    """
    headers: dict[str, tuple[ConsentForm, bool, dt.datetime, dt.datetime, str, str | None]] = {}
    grants: dict[str, list[GrantFacts]] = {}
    withdrawals: list[WithdrawalFacts] = []
    restrictions: list[RestrictionFacts] = []
    for kind, consent_id, grant_id, recipient, ids, granted, form, explicit, t1, t2, o1, o2 in rows:
        if kind == "g":
            if consent_id not in headers:
                headers[consent_id] = (ConsentForm(form), bool(explicit), t1, t2, o1, o2)
                grants[consent_id] = []
            grants[consent_id].append(GrantFacts(grant_id, recipient, frozenset(ids), bool(granted)))
        elif kind == "w":
            withdrawals.append(WithdrawalFacts(consent_id, t1, frozenset(ids) if ids is not None else None))
        else:
            restrictions.append(RestrictionFacts(t1, t2))
    consents = tuple(
        ConsentFacts(
            consent_id,
            form,
            explicit,
            given_at,
            valid_until,
            tuple(grants[consent_id]),
            obtained_by,
            on_behalf,
        )
        for consent_id, (form, explicit, given_at, valid_until, obtained_by, on_behalf) in headers.items()
    )
    return SubjectFacts(consents, tuple(withdrawals), tuple(restrictions))


# ------------------------------------------------------------------ statements


def add_consent(session: Session, consent: Consent, grants: Sequence[ConsentGrant]) -> None:
    session.add(consent)
    # The statement row must exist before its grants reference it (foreign key).
    session.flush()
    session.add_all(grants)
    session.flush()


def get_consent(session: Session, consent_id: str) -> Consent | None:
    return session.get(Consent, consent_id)


def grants_of(session: Session, consent_ids: Collection[str]) -> list[ConsentGrant]:
    if not consent_ids:
        return []
    statement = (
        select(ConsentGrant)
        .where(col(ConsentGrant.consent_id).in_(consent_ids))
        .order_by(col(ConsentGrant.consent_id), col(ConsentGrant.position))
    )
    return list(session.exec(statement))


def withdrawals_of(session: Session, consent_ids: Collection[str]) -> list[ConsentWithdrawal]:
    if not consent_ids:
        return []
    statement = (
        select(ConsentWithdrawal)
        .where(col(ConsentWithdrawal.consent_id).in_(consent_ids))
        .order_by(col(ConsentWithdrawal.received_at), col(ConsentWithdrawal.id))
    )
    return list(session.exec(statement))


def consents_involving(
    session: Session,
    *,
    subject_hash: str,
    partner: str,
    limit: int,
    before: tuple[dt.datetime, str] | None = None,
) -> list[Consent]:
    """Consents about a subject in which `partner` takes part, newest first (keyset pagination).

    Taking part: obtained the consent, had it obtained on its behalf (art. 6.3), or is a recipient.
    """
    as_recipient = (
        select(ConsentGrant.id)
        .where(ConsentGrant.consent_id == Consent.id, ConsentGrant.recipient == partner)
        .exists()
    )
    statement = select(Consent).where(
        Consent.subject_hash == subject_hash,
        or_(Consent.obtained_by == partner, Consent.obtained_on_behalf_of == partner, as_recipient),
    )
    if before is not None:
        created_at, consent_id = before
        statement = statement.where(
            or_(
                col(Consent.created_at) < created_at,
                sa.and_(col(Consent.created_at) == created_at, col(Consent.id) < consent_id),
            )
        )
    statement = statement.order_by(col(Consent.created_at).desc(), col(Consent.id).desc()).limit(limit)
    return list(session.exec(statement))


def add_withdrawal(session: Session, withdrawal: ConsentWithdrawal) -> None:
    session.add(withdrawal)
    session.flush()


# ---------------------------------------------------------------- restrictions


#: First key of the PostgreSQL advisory locks on a subject's restrictions; the second is the subject.
#: Two-key advisory locks live apart from the one-key locks of the register's sequencer.
_RESTRICTION_LOCK = 14


def lock_restrictions(session: Session, subject_hash: str) -> None:
    """Hold the subject's restrictions for this transaction, so that two officers setting (or
    lifting) a restriction at once cannot both pass the "is it restricted?" check: the second
    waits and then sees the first's outcome. There may be no row to lock yet, hence an advisory
    lock on PostgreSQL; SQLite serialises writers at BEGIN IMMEDIATE."""
    if is_sqlite(session.get_bind().engine):
        return
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(:kind, hashtext(:subject))"),
        {"kind": _RESTRICTION_LOCK, "subject": subject_hash},
    )


def restrictions_of(session: Session, subject_hash: str) -> list[SubjectRestriction]:
    statement = (
        select(SubjectRestriction)
        .where(SubjectRestriction.subject_hash == subject_hash)
        .order_by(col(SubjectRestriction.starts_at), col(SubjectRestriction.id))
    )
    return list(session.exec(statement))


def add_restriction(session: Session, restriction: SubjectRestriction) -> None:
    session.add(restriction)
    session.flush()
