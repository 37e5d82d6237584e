"""Beperking van de verwerking (art. 14): while a subject is restricted, consent permits nothing.

`consent.service.decide_for_subject` reads these rows with the consents, so a restriction takes
effect on the next decision. Setting and lifting are registered (art. 8 register) in the caller's
transaction: callers must not record them again. `runtime` is part of the signature like every
use case's, although these do not need it yet.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Session

from audit.service import EntryDraft, EntryKind, record
from consent import repository
from consent.models import SubjectRestriction
from consent.rules import may_lift_restriction, restriction_active
from gateway.problems import Conflict, Forbidden, NotFound, RuleViolation
from gateway.runtime import Runtime


def is_restricted(session: Session, subject_hash: str, at: dt.datetime) -> bool:
    """Whether processing of the subject is restricted at `at` (art. 14)."""
    return any(_active(r, at) for r in repository.restrictions_of(session, subject_hash))


def set_restriction(
    session: Session,
    runtime: Runtime,
    subject_hash: str,
    ground: str,
    actor: str,
    at: dt.datetime,
    *,
    actor_role: str = "privacy_officer",
    actor_org: str | None = None,
    note: str | None = None,
) -> SubjectRestriction:
    """Beperking van de verwerking (art. 14) from `at`; registers a `restriction_set` entry.

    While it lasts every consent-based decision about the subject is a deny (`restricted`).
    Raises Conflict when the subject is already restricted at `at`.
    """
    repository.lock_restrictions(session, subject_hash)
    if is_restricted(session, subject_hash, at):
        raise Conflict("Processing of this subject is already restricted.", slug="already-restricted")
    restriction = SubjectRestriction(
        id=str(uuid.uuid4()),
        subject_hash=subject_hash,
        starts_at=at,
        ground=ground,
        set_by=actor,
        set_by_org=actor_org,
    )
    repository.add_restriction(session, restriction)
    _record_restriction(
        session, EntryKind.RESTRICTION_SET, restriction, actor, actor_role, actor_org, at, note
    )
    return restriction


def lift_restriction(
    session: Session,
    runtime: Runtime,
    subject_hash: str,
    actor: str,
    at: dt.datetime,
    *,
    actor_role: str = "privacy_officer",
    actor_org: str | None = None,
    note: str | None = None,
) -> SubjectRestriction:
    """End the restriction active at `at` (art. 14); registers a `restriction_lifted` entry.

    Raises NotFound when the subject is not restricted at `at`.
    """
    repository.lock_restrictions(session, subject_hash)
    active = [r for r in repository.restrictions_of(session, subject_hash) if _active(r, at)]
    if not active:
        raise NotFound("Processing of this subject is not restricted.", slug="not-restricted")
    if not all(may_lift_restriction(r.set_by_org, actor_org) for r in active):
        raise Forbidden(
            "Only an officer of the organisation that set the restriction, or the central privacy "
            "officer, may lift it (art. 14).",
            slug="restriction-not-yours",
            violations=[RuleViolation("restriction_set_by_other", "14", "lift by the setting organisation")],
        )
    for restriction in active:
        restriction.ends_at = at
        restriction.lifted_by = actor
        session.add(restriction)
    session.flush()
    _record_restriction(
        session, EntryKind.RESTRICTION_LIFTED, active[0], actor, actor_role, actor_org, at, note
    )
    return active[0]


def _active(restriction: SubjectRestriction, at: dt.datetime) -> bool:
    return restriction_active(restriction.starts_at, restriction.ends_at, at)


def _record_restriction(
    session: Session,
    kind: str,
    restriction: SubjectRestriction,
    actor: str,
    actor_role: str,
    actor_org: str | None,
    at: dt.datetime,
    note: str | None = None,
) -> None:
    record(
        session,
        EntryDraft(
            kind=kind,
            occurred_at=at,
            actor=actor,
            actor_role=actor_role,
            actor_org=actor_org,
            subject_hash=restriction.subject_hash,
            reason=restriction.ground,
            description=note,
            details={"restriction_id": restriction.id},
        ),
    )
