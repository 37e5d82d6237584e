"""Information requests (opvragen, art. 6 lid 3): ask a holder, who answers or declines."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from audit.service import EntryDraft, EntryKind, new_trace_id, record, rfc3339
from consent import repository as consent_repository
from consent.models import Consent
from consent.rules import DecisionRequest, decide
from exchange import rules
from exchange.crypto import PayloadVault
from exchange.envelope import open_payload, schedule_payload_deletion, store_payload
from exchange.models import Message, MessageKind, MessageStatus
from exchange.schemas import DeclineIn, InformationRequestIn
from exchange.sent_records import enqueue
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
#: A request can be declined until it is answered by a decline; acknowledging it first is fine.
_DECLINABLE = (MessageStatus.ACCEPTED, MessageStatus.DELIVERED, MessageStatus.ACKNOWLEDGED)
_DECLINE = (
    sa.update(_MESSAGES)
    .where(_MESSAGES.c.id == sa.bindparam("request_id"), _MESSAGES.c.status.in_(_DECLINABLE))
    .values(status=MessageStatus.DECLINED)
    .returning(_MESSAGES.c.id)
)


def create_request(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, body: InformationRequestIn
) -> dict[str, Any]:
    violations = rules.check_parties(caller.oin, body.holder, runtime.partners.partners, role="holder")
    violations += rules.check_subject(body.subject.bsn)
    violations += rules.check_categories(body.categories, runtime.categories.categories)
    if not body.purpose.strip():
        violations.append(RuleViolation("purpose_missing", "6.2", "State the purpose of the request."))
    subject_hash = runtime.bsn_hash(body.subject.bsn) if not rules.check_subject(body.subject.bsn) else ""
    now = runtime.clock()
    if body.consent_id and subject_hash:
        # What the consent covers is asked only of a consent the requester may attach at all.
        violations += _check_consent_on_behalf(
            session, body.consent_id, caller.oin, body.holder, subject_hash
        ) or _check_consent_covers(session, runtime, body, caller.oin, subject_hash, now)
    if violations:
        raise RuleBroken(
            "The information request breaks one or more rules; nothing was sent.", violations=violations
        )

    message = Message(
        id=str(uuid.uuid4()),
        kind=MessageKind.INFORMATION_REQUEST,
        sender=caller.oin,
        recipient=body.holder,
        subject_hash=subject_hash,
        categories=list(body.categories),
        reason=body.purpose,
        professional=body.professional.model_dump(),
        legal_basis={"type": "request"},
        consent_ids=[body.consent_id] if body.consent_id else [],
        status=MessageStatus.ACCEPTED,
        created_at=now,
        trace_id=new_trace_id(),
    )
    session.add(message)
    session.flush()
    store_payload(session, PayloadVault(runtime.kek), message, bsn=body.subject.bsn, payload_jwe=None)
    entry = record(
        session,
        EntryDraft(
            kind=EntryKind.INFORMATION_REQUEST_SENT,
            occurred_at=now,
            actor=caller.oin,
            actor_role="partner",
            actor_org=caller.oin,
            sender=caller.oin,
            recipient=body.holder,
            subject_hash=subject_hash,
            categories=list(body.categories),
            reason=body.purpose,
            professional=body.professional.model_dump(),
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"consent_id": body.consent_id},
        ),
    )
    message.register_entry_id = entry.id
    enqueue(session, runtime, message, at=now)
    return {
        "id": message.id,
        "status": message.status,
        "register_entry": entry.id,
        "created_at": rfc3339(now),
        "trace_id": message.trace_id,
    }


def _check_consent_on_behalf(
    session: Session, consent_id: str, requester: str, holder: str, subject_hash: str
) -> list[RuleViolation]:
    """Art. 6.3: the consent was obtained by the requester on the holder's behalf, about this subject."""
    consent = session.exec(select(Consent).where(Consent.id == consent_id)).first()
    if consent is None or consent.subject_hash != subject_hash or consent.obtained_by != requester:
        return [
            RuleViolation(
                "consent_unknown",
                "6.3",
                "consent_id does not name a consent you registered for this subject.",
            )
        ]
    if consent.obtained_on_behalf_of != holder:
        return [
            RuleViolation(
                "consent_not_on_behalf", "6.3", "The consent was not obtained on behalf of this holder."
            )
        ]
    return []


def _check_consent_covers(
    session: Session,
    runtime: Runtime,
    body: InformationRequestIn,
    requester: str,
    subject_hash: str,
    at: dt.datetime,
) -> list[RuleViolation]:
    """Art. 6.3: the attached consent must let the holder disclose what is asked, to the requester.

    The consent decision itself (`consent.rules.decide`, art. 6.1-6.2, Bijlage VIII, art. 2) over
    this one statement: in force at `at`, not withdrawn, granting the requester (as recipient)
    every requested category. A restriction (art. 14) is not checked here: it is temporary and
    blocks the disclosure itself when the holder answers.
    """
    facts = consent_repository.decision_facts(session, subject_hash)
    decision = decide(
        [c for c in facts.consents if c.consent_id == body.consent_id],
        [w for w in facts.withdrawals if w.consent_id == body.consent_id],
        (),
        # The holder discloses to the requester, relying on the line the requester obtained for it.
        DecisionRequest(requester, tuple(body.categories), sender=body.holder),
        at,
        runtime.categories.special_codes,
    )
    return [
        RuleViolation(
            "consent_does_not_cover",
            "6.3",
            f"The attached consent does not let the holder disclose {c.category} to you: {c.reason}.",
        )
        for c in decision.per_category
        if c.decision == "deny"
    ]


def decline_request(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, request_id: str, body: DeclineIn
) -> dict[str, Any]:
    request = session.exec(select(Message).where(Message.id == request_id)).first()
    if request is None or request.kind != MessageKind.INFORMATION_REQUEST or request.recipient != caller.oin:
        raise NotFound("No such information request addressed to you.")
    if not body.reason.strip():
        raise RuleBroken(
            "Say why the request is declined.",
            violations=[RuleViolation("reason_missing", "7.1", "reason is empty")],
        )
    now = runtime.clock()
    # One conditional UPDATE: of two simultaneous declines exactly one matches and goes on to write
    # the notice and the entry; a declined request stays declined (an ack cannot reopen it).
    won = session.connection().execute(_DECLINE, {"request_id": request.id}).first()
    if won is None:
        session.refresh(request)
        if request.status == MessageStatus.DECLINED:
            raise Conflict("This request was already declined.", slug="already-declined")
        raise Conflict(
            f"This request can no longer be declined (status {request.status}).", slug="request-closed"
        )
    set_committed_value(request, "status", MessageStatus.DECLINED)
    # The request's sealed BSN is no longer needed once it is answered (SPEC §8).
    schedule_payload_deletion(
        session, request.id, now + dt.timedelta(days=runtime.settings.payload_grace_days)
    )
    vault = PayloadVault(runtime.kek)
    content = open_payload(session, vault, request.id)
    notice = Message(
        id=str(uuid.uuid4()),
        kind=MessageKind.NOTICE,
        sender=caller.oin,
        recipient=request.sender,
        subject_hash=request.subject_hash,
        categories=list(request.categories),
        reason=body.reason,
        description="information request declined",
        professional=body.professional.model_dump() if body.professional else {},
        legal_basis={"type": "notice"},
        in_reply_to=request.id,
        status=MessageStatus.ACCEPTED,
        created_at=now,
        trace_id=request.trace_id,
    )
    session.add(notice)
    session.flush()
    store_payload(session, vault, notice, bsn=content["bsn"] if content else "", payload_jwe=None)
    entry = record(
        session,
        EntryDraft(
            kind=EntryKind.INFORMATION_REQUEST_DECLINED,
            occurred_at=now,
            actor=caller.oin,
            actor_role="partner",
            actor_org=caller.oin,
            sender=caller.oin,
            recipient=request.sender,
            subject_hash=request.subject_hash,
            categories=list(request.categories),
            reason=body.reason,
            professional=body.professional.model_dump() if body.professional else None,
            trace_id=request.trace_id,
            disclosure_id=request.id,
        ),
    )
    enqueue(session, runtime, notice, at=now)
    return {"id": request.id, "status": request.status, "notice_id": notice.id, "register_entry": entry.id}
