"""Notices to the coordinator and family-plan versions (Spoorboekje §10.2; art. 6.1, 8).

Both are disclosures of case data, so both go through the exchange's own sending path
(`exchange.sending.send_disclosure`): the consent check (for a notice: the consent's grant to the
coordinator, art. 6.1), JWE encryption to the recipient, the art. 8.1 register entry, the outbox
row and the signed receipt, all in the request's transaction. This module only adds the
coordination rules before it and the event row after it, in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from consent.service import decide_for_subject
from coordination import repository, rules
from coordination.models import CoordinationEvent, EventKind
from coordination.schemas import (
    NoticeAccepted,
    NoticeIn,
    NoticeOverview,
    PlanDelivery,
    PlanVersionIn,
    PlanVersionList,
    PlanVersionOut,
    ReceivedNotice,
    ReportStatusOut,
)
from exchange import sending
from exchange.models import Message, MessageKind
from exchange.schemas import DisclosureIn, SubjectRef
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

NOTICE_REASON = "Melding aan de coördinator van hulp: {type} (Spoorboekje 10.2, 1H-1P-1R)"
PLAN_REASON = "Gezinsplan versie {version} (1Huishouden-1Plan-1Regisseur, Spoorboekje 10.2)"


def _key(idempotency_key: str | None, limit: int = 120) -> str:
    if not idempotency_key or len(idempotency_key) > limit:
        raise Problem(
            f"Sends need an Idempotency-Key header (1-{limit} characters): a retry is never sent twice.",
            slug="idempotency-key-required",
            title="Idempotency-Key required",
        )
    return idempotency_key


def _child_position(session: Session, runtime: Runtime, household_id: str, bsn: str) -> int:
    subject_hash = runtime.bsn_hash(bsn) if rules_bsn_ok(bsn) else ""
    for child in repository.children(session, household_id):
        if child.subject_hash == subject_hash:
            return child.position
    raise RuleBroken(
        "The subject is not a child of this household.",
        violations=[
            RuleViolation(
                "not_in_household", rules.ARTICLE_NOTICE, "subject.bsn is not a child of this household."
            )
        ],
    )


def rules_bsn_ok(bsn: str) -> bool:
    from consent.bsn import is_valid_bsn

    return is_valid_bsn(bsn)


def send_notice(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    household_id: str,
    body: NoticeIn,
    idempotency_key: str | None,
) -> tuple[NoticeAccepted | None, Problem | None]:
    """Elkaar informeren (§10.2): one notice to the household's coordinator.

    Refused with 422 `no_coordinator` when no partner coordinates; with 403 `consent_denied` (its
    refusal registered, as for any disclosure) when the family's consent has no grant to the
    coordinator for the notice's categories (art. 6.1).
    """
    key = _key(idempotency_key)
    now = runtime.clock()
    household = repository.household_for(session, household_id, caller.oin)
    fields = {
        "effects": body.effects,
        "cause": body.cause,
        "likely_causes": body.likely_causes,
        "referred_to": body.referred_to,
    }
    active = rules.current_coordinator(
        household.form, household.coordinator, household.coordinator_until, now
    )
    violations = rules.check_notice(body.type, fields) + rules.notice_recipient(active, caller.oin)
    if violations:
        raise RuleBroken(
            "The notice to the coordinator cannot be sent; nothing was sent.", violations=violations
        )
    assert active is not None
    position = _child_position(session, runtime, household_id, body.subject.bsn)
    payload: dict[str, Any] = {
        "notice_type": body.type,
        "household_id": household_id,
        "child": position,
        **{name: value for name, value in {**fields, "note": body.note}.items() if value is not None},
    }
    disclosure = DisclosureIn(
        recipient=active,
        subject=body.subject,
        categories=list(rules.NOTICE_CATEGORIES[body.type]),
        reason=NOTICE_REASON.format(type=body.type),
        description=f"Melding {body.type} over huishouden {household_id}, kind {position}",
        professional=body.professional,
        payload=payload,
    )
    result = sending.send_disclosure(
        session, runtime, caller, disclosure, f"coordination-notice:{key}", kind=MessageKind.NOTICE
    )
    if result.problem is not None:
        return None, result.problem
    message_id = str(result.body["id"])
    if repository.event_by_key(session, household_id, caller.oin, key, EventKind.NOTICE) is None:
        session.add(
            CoordinationEvent(
                id=str(uuid.uuid4()),
                household_id=household_id,
                kind=EventKind.NOTICE,
                occurred_at=now,
                actor=caller.oin,
                recipient=active,
                child_position=position,
                notice_type=body.type,
                message_id=message_id,
                register_entry_id=result.body.get("register_entry"),
                idempotency_key=key,
            )
        )
        session.flush()
    return (
        NoticeAccepted(
            id=message_id,
            status=str(result.body["status"]),
            register_entry=result.body.get("register_entry"),
            receipt=result.body.get("receipt"),
            trace_id=result.body.get("trace_id"),
            notice_type=body.type,
            coordinator=active,
        ),
        None,
    )


def notice_overview(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str
) -> NoticeOverview:
    """For the coordinator: notices received, and which involved partners still owe a start or end
    notice (the follow-up of §10.2). Only the notices addressed to the caller are listed."""
    household = repository.household_for(session, household_id, caller.oin)
    received = [
        e for e in repository.events(session, household_id, EventKind.NOTICE) if e.recipient == caller.oin
    ]
    statuses = _statuses(session, [e.message_id for e in received if e.message_id])
    reports = rules.outstanding_reports(
        repository.participants(session, household_id),
        household.coordinator,
        [(e.actor, e.notice_type or "") for e in received],
    )
    return NoticeOverview(
        items=[
            ReceivedNotice(
                id=e.message_id or e.id,
                sender=e.actor,
                notice_type=e.notice_type or "",
                child=e.child_position,
                occurred_at=e.occurred_at,
                status=statuses.get(e.message_id or ""),
            )
            for e in received
        ],
        reports=[ReportStatusOut(partner=r.partner, started=r.started, ended=r.ended) for r in reports],
        not_reported_start=[r.partner for r in reports if not r.started],
        not_reported_end=[r.partner for r in reports if not r.ended],
    )


def _statuses(session: Session, message_ids: list[str]) -> dict[str, str]:
    if not message_ids:
        return {}
    rows = session.exec(select(Message.id, Message.status).where(col(Message.id).in_(message_ids))).all()
    return {message_id: status for message_id, status in rows}


def send_plan_version(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    household_id: str,
    body: PlanVersionIn,
    idempotency_key: str | None,
) -> PlanVersionOut:
    """Een nieuwe versie van het gezinsplan (§10.2: 1 plan), to every involved partner per child.

    Sent by the coordinating partner (or, under eigen regie, any involved partner for the family).
    Each copy is a `family_plan` disclosure through the exchange; a partner the family's consent does
    not cover for a child is skipped and listed with the reason (art. 6.1) instead of failing all.
    """
    key = _key(idempotency_key, limit=80)
    now = runtime.clock()
    household = repository.household_for(session, household_id, caller.oin)
    existing = repository.event_by_key(session, household_id, caller.oin, key, EventKind.PLAN_VERSION)
    if existing is not None and existing.plan_version is not None:
        return _plan_out(session, household_id, existing.plan_version)
    involved = repository.participants(session, household_id)
    active = rules.current_coordinator(
        household.form, household.coordinator, household.coordinator_until, now
    )
    if not rules.may_change_coordinator(caller.oin, active, involved):
        raise RuleBroken(
            "Only the coordinator sends the family plan.",
            violations=[
                RuleViolation(
                    "not_the_coordinator",
                    rules.ARTICLE_DESIGNATE,
                    "The coordinator keeps the family plan (Spoorboekje 10.2).",
                )
            ],
        )
    if rules_empty(body.payload):
        raise RuleBroken(
            "The plan is empty.",
            violations=[RuleViolation("payload_empty", "5.2", "Send the plan as `payload`.")],
        )
    if not repository.next_plan_version(session, household_id, household.plan_version):
        raise Conflict("Another plan version was sent meanwhile; retry.", slug="plan-version-changed")
    version = household.plan_version + 1
    # The coordination tables keep no BSN: the sender names the children (it knows them).
    bsns = {_child_position(session, runtime, household_id, s.bsn): s.bsn for s in body.children}
    for position, bsn in sorted(bsns.items()):
        subject_hash = runtime.bsn_hash(bsn)
        for recipient in involved:
            if recipient == caller.oin:
                continue
            decision = decide_for_subject(
                session,
                subject_hash=subject_hash,
                recipient=recipient,
                categories=["family_plan"],
                at=now,
                special_categories=runtime.categories.special_codes,
                sender=caller.oin,
            )
            event = CoordinationEvent(
                id=str(uuid.uuid4()),
                household_id=household_id,
                kind=EventKind.PLAN_VERSION,
                occurred_at=now,
                actor=caller.oin,
                recipient=recipient,
                child_position=position,
                plan_version=version,
                idempotency_key=key,
            )
            if not decision.permitted:
                event.details = {
                    "status": "not_sent",
                    "reason": "no consent covers family_plan for this recipient (art. 6.1)",
                }
            else:
                result = sending.send_disclosure(
                    session,
                    runtime,
                    caller,
                    DisclosureIn(
                        recipient=recipient,
                        subject=SubjectRef(bsn=bsn),
                        categories=["family_plan"],
                        reason=PLAN_REASON.format(version=version),
                        description=f"{body.description} (versie {version}, huishouden {household_id})",
                        professional=body.professional,
                        payload={
                            "household_id": household_id,
                            "version": version,
                            "child": position,
                            "plan": body.payload,
                        },
                    ),
                    f"coordination-plan:{household_id}:{key}:{recipient}:{position}",
                )
                if result.problem is not None:  # the decision changed between the two reads
                    raise result.problem
                event.message_id = str(result.body["id"])
                event.register_entry_id = result.body.get("register_entry")
                event.details = {"status": "sent"}
            session.add(event)
    session.flush()
    return _plan_out(session, household_id, version)


def rules_empty(payload: object) -> bool:
    from exchange.rules import is_empty_payload

    return payload is None or is_empty_payload(payload)


def _plan_out(session: Session, household_id: str, version: int) -> PlanVersionOut:
    rows = [
        e
        for e in repository.events(session, household_id, EventKind.PLAN_VERSION)
        if e.plan_version == version
    ]
    statuses = _statuses(session, [e.message_id for e in rows if e.message_id])
    return PlanVersionOut(
        version=version,
        sender=rows[0].actor if rows else "",
        created_at=rows[0].occurred_at,
        deliveries=[
            PlanDelivery(
                recipient=e.recipient or "",
                child=e.child_position or 0,
                disclosure_id=e.message_id,
                register_entry=e.register_entry_id,
                status=statuses.get(e.message_id or "", str(e.details.get("status", "not_sent"))),
                reason=e.details.get("reason"),
            )
            for e in rows
        ],
    )


def list_plan_versions(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, household_id: str
) -> PlanVersionList:
    """Who received which version (the register holds the art. 8 entries of each copy)."""
    household = repository.household_for(session, household_id, caller.oin)
    return PlanVersionList(
        items=[_plan_out(session, household_id, v) for v in range(1, household.plan_version + 1)]
    )
