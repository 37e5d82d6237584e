"""Use cases of the coordination register: designate, hand over, end, view (Spoorboekje §10.2-10.3).

Each change of coordinator writes, in the request's one transaction, the household row, an event
row and one art. 8 register entry per child (`coordination_*`), so officers see every change in
`GET /v1/register`. Notices and family-plan versions live in `coordination.messages`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from audit.service import EntryDraft, EntryKind, record
from consent.bsn import is_valid_bsn
from consent.service import decide_for_subject
from coordination import repository, rules
from coordination.models import CoordinationEvent, EventKind, Household, HouseholdChild, Participant
from coordination.schemas import (
    Checklist,
    ChecklistStep,
    CoordinatorIn,
    CoordinatorOut,
    EndIn,
    EventOut,
    HandoverIn,
    HouseholdIn,
    HouseholdList,
    HouseholdOut,
)
from exchange.schemas import Professional
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, Forbidden, RuleBroken, RuleViolation
from gateway.runtime import Runtime

_ENTRY_KIND = {
    EventKind.DESIGNATED: EntryKind.COORDINATION_DESIGNATED,
    EventKind.HANDED_OVER: EntryKind.COORDINATION_HANDED_OVER,
    EventKind.ENDED: EntryKind.COORDINATION_ENDED,
}


def _choice(body: CoordinatorIn) -> rules.CoordinatorChoice:
    return rules.CoordinatorChoice(body.form, body.partner, body.until)


def designate(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, body: HouseholdIn
) -> HouseholdOut:
    """Vaststellen coördinator van hulp (§10.2): a new household with its coordinator and partners."""
    now = runtime.clock()
    known = runtime.partners.partners
    bsns = [child.bsn for child in body.children]
    choice = _choice(body.coordinator)
    involved = list(
        dict.fromkeys([caller.oin, *body.involved, *([choice.partner] if choice.partner else [])])
    )
    violations = [
        RuleViolation("invalid_bsn", "5.3", f"children[{i}].bsn is not a valid BSN (9 digits, 11-check).")
        for i, bsn in enumerate(bsns)
        if not is_valid_bsn(bsn)
    ]
    violations += rules.check_household(len(bsns), len(set(bsns)), involved, known)
    violations += rules.check_coordinator(choice, known, at=now)
    if violations:
        raise RuleBroken("The coordination cannot be registered; nothing was stored.", violations=violations)
    household = Household(
        id=str(uuid.uuid4()),
        created_at=now,
        created_by=caller.oin,
        form=choice.form,
        coordinator=choice.partner,
        coordinator_since=now,
        coordinator_until=rules.coordination_until(choice, now),
    )
    session.add(household)
    hashes = [runtime.bsn_hash(bsn) for bsn in bsns]
    for position, subject_hash in enumerate(hashes, start=1):
        session.add(HouseholdChild(household_id=household.id, position=position, subject_hash=subject_hash))
    for partner in involved:
        session.add(Participant(household_id=household.id, partner=partner, added_at=now))
    session.flush()
    _change_event(
        session, caller, household, hashes, EventKind.DESIGNATED, body.reason, body.professional, now, None
    )
    return view(session, runtime, caller, household.id)


def hand_over(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str, body: HandoverIn
) -> HouseholdOut:
    """Overdragen van de coördinatie (§10.3: e.g. procescoördinatie terug naar gezin of professional)."""
    now = runtime.clock()
    household = repository.household_for(session, household_id, caller.oin)
    involved = repository.participants(session, household_id)
    _may_change(caller, household, involved, now)
    choice = _choice(body.coordinator)
    violations = rules.check_coordinator(choice, runtime.partners.partners, at=now)
    if violations:
        raise RuleBroken("The hand-over breaks a rule; nothing changed.", violations=violations)
    previous = household.coordinator
    values = {
        "form": choice.form,
        "coordinator": choice.partner,
        "coordinator_since": now,
        "coordinator_until": rules.coordination_until(choice, now),
    }
    _apply(session, household, values)
    if choice.partner is not None and choice.partner not in involved:
        session.add(Participant(household_id=household_id, partner=choice.partner, added_at=now))
        session.flush()
    hashes = [child.subject_hash for child in repository.children(session, household_id)]
    _change_event(
        session,
        caller,
        household,
        hashes,
        EventKind.HANDED_OVER,
        body.reason,
        body.professional,
        now,
        previous,
    )
    return view(session, runtime, caller, household_id)


def end(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str, body: EndIn
) -> HouseholdOut:
    """Beëindigen van de coördinatie: afterwards notices to the coordinator are refused (§10.2)."""
    now = runtime.clock()
    household = repository.household_for(session, household_id, caller.oin)
    _may_change(caller, household, repository.participants(session, household_id), now)
    if household.form is None:
        raise Conflict("Coordination of this household has already ended.", slug="coordination-ended")
    previous = household.coordinator
    _apply(
        session,
        household,
        {"form": None, "coordinator": None, "coordinator_since": now, "coordinator_until": None},
    )
    hashes = [child.subject_hash for child in repository.children(session, household_id)]
    _change_event(
        session, caller, household, hashes, EventKind.ENDED, body.reason, body.professional, now, previous
    )
    return view(session, runtime, caller, household_id)


def _may_change(
    caller: PartnerPrincipal, household: Household, involved: Sequence[str], now: dt.datetime
) -> None:
    active = rules.current_coordinator(
        household.form, household.coordinator, household.coordinator_until, now
    )
    if not rules.may_change_coordinator(caller.oin, active, involved):
        raise Forbidden(
            "Only the coordinating partner hands over or ends coordination (Spoorboekje 10.2).",
            slug="not-the-coordinator",
            violations=[
                RuleViolation(
                    "not_the_coordinator", rules.ARTICLE_DESIGNATE, "You do not coordinate this household."
                )
            ],
        )


def _apply(session: Session, household: Household, values: dict[str, Any]) -> None:
    if not repository.bump(session, household.id, household.revision, values):
        raise Conflict(
            "The coordination changed meanwhile; read it again and retry.", slug="coordination-changed"
        )
    session.refresh(household)


def _change_event(
    session: Session,
    caller: PartnerPrincipal,
    household: Household,
    hashes: Sequence[str],
    kind: str,
    reason: str,
    professional: Professional,
    at: dt.datetime,
    previous: str | None,
) -> None:
    """The event row and, per child, its art. 8 entry (who coordinates a child's help is personal data)."""
    details = {
        "household_id": household.id,
        "form": household.form,
        "coordinator": household.coordinator,
        "until": household.coordinator_until.isoformat() if household.coordinator_until else None,
        "previous_coordinator": previous,
    }
    entry_ids = []
    for position, subject_hash in enumerate(hashes, start=1):
        entry = record(
            session,
            EntryDraft(
                kind=_ENTRY_KIND[kind],
                occurred_at=at,
                actor=caller.oin,
                actor_role="partner",
                actor_org=caller.oin,
                sender=caller.oin,
                # The new coordinator (or, at the end, the former one) sees the entry too.
                recipient=household.coordinator or previous,
                subject_hash=subject_hash,
                reason=reason or f"coördinatie van hulp: {kind} (Spoorboekje 10.2-10.3)",
                description="Coördinator van hulp (1Huishouden-1Plan-1Regisseur)",
                professional=professional.model_dump(),
                details={**details, "child": position},
            ),
        )
        entry_ids.append(entry.id)
    session.add(
        CoordinationEvent(
            id=str(uuid.uuid4()),
            household_id=household.id,
            kind=kind,
            occurred_at=at,
            actor=caller.oin,
            form=household.form,
            coordinator=household.coordinator,
            recipient=previous,
            register_entry_id=entry_ids[0] if entry_ids else None,
            details={"register_entries": entry_ids, "reason": reason},
        )
    )
    session.flush()


def view(session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str) -> HouseholdOut:
    """The household as an involved partner's system sees it, with the history the consent allows.

    Changes of coordinator and plan versions are visible to every involved partner. A notice is
    shown to its sender and its recipient; to the *current* coordinator that did not receive it
    (after a hand-over) only when the family's consent lets the notice's sender disclose those
    categories to that coordinator now (art. 6.1); otherwise it is listed as withheld.
    """
    now = runtime.clock()
    household = repository.household_for(session, household_id, caller.oin)
    children = repository.children(session, household_id)
    hash_of = {child.position: child.subject_hash for child in children}
    active = rules.current_coordinator(
        household.form, household.coordinator, household.coordinator_until, now
    )
    shown: list[EventOut] = []
    for event in repository.events(session, household_id):
        out = _event_out(event)
        if event.kind == EventKind.NOTICE and caller.oin not in (event.actor, event.recipient):
            if caller.oin != active:
                continue  # another partner's notice to the coordinator: not this partner's business
            decision = decide_for_subject(
                session,
                subject_hash=hash_of.get(event.child_position or 0, ""),
                recipient=caller.oin,
                categories=list(rules.NOTICE_CATEGORIES.get(event.notice_type or "", ("care_progress",))),
                at=now,
                special_categories=runtime.categories.special_codes,
                sender=event.actor,
            )
            if not decision.permitted:
                out = EventOut(
                    id=event.id,
                    kind=event.kind,
                    occurred_at=event.occurred_at,
                    actor=event.actor,
                    child=event.child_position,
                    withheld=True,
                    withheld_reason="no consent covers disclosure of this notice to you (art. 6.1)",
                )
        shown.append(out)
    return HouseholdOut(
        id=household.id,
        created_at=household.created_at,
        created_by=household.created_by,
        children=[child.position for child in children],
        involved=repository.participants(session, household_id),
        coordinator=CoordinatorOut(
            form=household.form,
            partner=household.coordinator,
            since=household.coordinator_since,
            until=household.coordinator_until,
            active_partner=active,
        ),
        plan_version=household.plan_version,
        events=shown,
    )


def _event_out(event: CoordinationEvent) -> EventOut:
    return EventOut(
        id=event.id,
        kind=event.kind,
        occurred_at=event.occurred_at,
        actor=event.actor,
        form=event.form,
        coordinator=event.coordinator,
        recipient=event.recipient,
        child=event.child_position,
        notice_type=event.notice_type,
        plan_version=event.plan_version,
        message_id=event.message_id,
        register_entry=event.register_entry_id,
    )


def list_households(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, subject_bsn: str | None
) -> HouseholdList:
    if subject_bsn is not None and not is_valid_bsn(subject_bsn):
        raise RuleBroken(
            "The filter is not valid.",
            violations=[RuleViolation("invalid_bsn", "5.3", "subject_bsn is not a valid BSN")],
        )
    subject_hash = runtime.bsn_hash(subject_bsn) if subject_bsn is not None else None
    ids = repository.households_of(session, caller.oin, subject_hash)
    return HouseholdList(items=[view(session, runtime, caller, household_id) for household_id in ids])


def checklist(session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str) -> Checklist:
    """Bijlage VI as read-only data derived from the household's events."""
    household = repository.household_for(session, household_id, caller.oin)
    events = repository.events(session, household_id)
    notices = [(e.actor, e.notice_type or "") for e in events if e.kind == EventKind.NOTICE]
    reports = rules.outstanding_reports(
        repository.participants(session, household_id), household.coordinator, notices
    )
    facts = rules.ChecklistFacts(
        coordinator_designated=any(e.kind == EventKind.DESIGNATED for e in events),
        involved_partners=len(repository.participants(session, household_id)),
        plan_versions=household.plan_version,
        started=sum(1 for r in reports if r.started),
        effects_reported=sum(1 for _, t in notices if t == "help_ended"),
        ended_or_broken_off=sum(1 for r in reports if r.ended),
        help_active=sum(1 for r in reports if r.started and not r.ended),
        coordination_ended=household.form is None,
    )
    return Checklist(
        household=household_id,
        items=[ChecklistStep(step=s, text=t, done=d, evidence=e) for s, t, d, e in rules.checklist(facts)],
    )
