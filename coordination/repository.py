"""Queries of the coordination register; every household read goes through `household_for`."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.models import CoordinationEvent, Household, HouseholdChild, Participant
from gateway.problems import NotFound


def household_for(session: Session, household_id: str, partner: str) -> Household:
    """The household, if `partner` is involved in it; otherwise "not found" (ids must not leak)."""
    household = session.get(Household, household_id)
    if household is None or partner not in participants(session, household_id):
        raise NotFound("No such household in which you are involved.")
    return household


def participants(session: Session, household_id: str) -> list[str]:
    rows = session.exec(
        select(Participant.partner)
        .where(Participant.household_id == household_id)
        .order_by(col(Participant.added_at))
    )
    return list(rows.all())


def children(session: Session, household_id: str) -> list[HouseholdChild]:
    return list(
        session.exec(
            select(HouseholdChild)
            .where(HouseholdChild.household_id == household_id)
            .order_by(col(HouseholdChild.position))
        ).all()
    )


def events(session: Session, household_id: str, kind: str | None = None) -> Sequence[CoordinationEvent]:
    query = select(CoordinationEvent).where(CoordinationEvent.household_id == household_id)
    if kind is not None:
        query = query.where(CoordinationEvent.kind == kind)
    return session.exec(query.order_by(col(CoordinationEvent.seq))).all()


def households_of(session: Session, partner: str, subject_hash: str | None) -> list[str]:
    query = select(Participant.household_id).where(Participant.partner == partner)
    if subject_hash is not None:
        query = query.where(
            col(Participant.household_id).in_(
                select(HouseholdChild.household_id).where(HouseholdChild.subject_hash == subject_hash)
            )
        )
    return list(session.exec(query.order_by(col(Participant.household_id)).limit(100)).all())


def event_by_key(
    session: Session, household_id: str, actor: str, key: str, kind: str
) -> CoordinationEvent | None:
    return session.exec(
        select(CoordinationEvent).where(
            CoordinationEvent.household_id == household_id,
            CoordinationEvent.actor == actor,
            CoordinationEvent.idempotency_key == key,
            CoordinationEvent.kind == kind,
        )
    ).first()


_HOUSEHOLD: sa.Table = Household.__table__  # type: ignore[attr-defined]


def bump(session: Session, household_id: str, revision: int, values: dict[str, object]) -> bool:
    """Change the household only if nobody changed it since `revision` was read (two hand-overs race)."""
    statement = (
        sa.update(_HOUSEHOLD)
        .where(_HOUSEHOLD.c.id == household_id, _HOUSEHOLD.c.revision == revision)
        .values(revision=revision + 1, **values)
    )
    return session.connection().execute(statement).rowcount == 1


def next_plan_version(session: Session, household_id: str, current: int) -> bool:
    statement = (
        sa.update(_HOUSEHOLD)
        .where(_HOUSEHOLD.c.id == household_id, _HOUSEHOLD.c.plan_version == current)
        .values(plan_version=current + 1)
    )
    return session.connection().execute(statement).rowcount == 1
