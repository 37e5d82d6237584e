"""Use cases of the right of access (art. 10, 16): lodge, confirm, verify, decide, read.

A citizen asks with a DigiD token, for themself or as representative of a child; a partner desk
lodges a written request after a professional verified the requester's identity (art. 10.2). The
central privacy officer, or the officer of the partner it was lodged with, releases or refuses it
within one calendar month (art. 10.3, 10.6-10.7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from prometheus_client import Gauge
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.rules import Relationship
from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.bsn import is_valid_bsn
from consent.models import Consent
from consent.rules import age_on
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import Conflict, Forbidden, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

OVERDUE_REQUESTS = Gauge("meerpunt_access_requests_overdue", "Subject-access requests past their due date")
REPORT_KINDS = ("disclosure_sent", "correction_sent")


class ProfessionalIn(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class AccessRequestIn(BaseModel):
    """SPEC §6; `subject_birth_date`, `requester_name` and `verified_by` are additive (partner desk)."""

    subject_bsn: str = Field(max_length=20)
    relationship: Relationship
    contact: str | None = Field(default=None, max_length=500)
    subject_birth_date: dt.date | None = None
    requester_bsn: str | None = Field(default=None, max_length=20)
    verified_by: ProfessionalIn | None = None


class VerificationIn(BaseModel):
    professional: ProfessionalIn
    note: str = Field(default="", max_length=2000)
    subject_birth_date: dt.date | None = None


class DecisionIn(BaseModel):
    decision: Literal["release", "refuse"]
    ground: str | None = None
    motivation: str | None = Field(default=None, max_length=10000)
    withheld_entries: list[str] = Field(default_factory=list, max_length=10000)


def mask_bsn(bsn: str) -> str:
    return "*****" + bsn[-4:]


def _subject_birth_date(session: Session, subject_hash: str) -> dt.date | None:
    """The birth date as recorded with the most recent consent, when the request does not give it."""
    consent = session.exec(
        select(Consent).where(Consent.subject_hash == subject_hash).order_by(col(Consent.given_at).desc())
    ).first()
    return consent.subject_birth_date if consent else None


def _is_registered_representative(session: Session, subject_hash: str, person_hash: str, role: str) -> bool:
    """Evidence of gezag: a consent on record signed by this person in this role (art. 6.5, 16)."""
    consents = session.exec(select(Consent).where(Consent.subject_hash == subject_hash)).all()
    return any(
        signatory.get("bsn_hash") == person_hash and signatory.get("role") == role
        for consent in consents
        for signatory in consent.signatories
    )


def _initial_status(eligibility: rules.Eligibility, evidenced: bool) -> tuple[str, str | None]:
    if eligibility.outcome == "age_unknown" or not evidenced:
        return AccessRequestStatus.PENDING_VERIFICATION, "verification"
    if eligibility.outcome == "needs_youth":
        return AccessRequestStatus.PENDING_CO_REQUESTER, "youth"
    if eligibility.outcome == "needs_representative":
        return AccessRequestStatus.PENDING_CO_REQUESTER, "representative"
    return AccessRequestStatus.PENDING_DECISION, None


def lodge(session: Session, runtime: Runtime, principal: Principal, body: AccessRequestIn) -> dict[str, Any]:
    if not is_valid_bsn(body.subject_bsn):
        raise RuleBroken(
            "subject_bsn is not a valid BSN.",
            violations=[RuleViolation("invalid_bsn", "10.2", "subject_bsn fails the 11-check")],
        )
    now = runtime.clock()
    subject_hash = runtime.bsn_hash(body.subject_bsn)
    birth_date = body.subject_birth_date or _subject_birth_date(session, subject_hash)
    age = age_on(birth_date, now.date()) if birth_date and birth_date <= now.date() else None
    eligibility = rules.eligibility(body.relationship, age)
    request = SubjectAccessRequest(
        id=str(uuid.uuid4()),
        subject_hash=subject_hash,
        subject_label=mask_bsn(body.subject_bsn),
        subject_birth_date=birth_date,
        relationship=body.relationship.value,
        channel="citizen",
        contact=body.contact,
        status="",
        received_at=now,
        due_date=rules.due_date(now.date()),
    )
    if isinstance(principal, CitizenPrincipal):
        _lodge_as_citizen(session, principal, body, request, eligibility, runtime)
    elif isinstance(principal, PartnerPrincipal):
        _lodge_at_desk(principal, body, request, eligibility)
    else:
        raise Forbidden(
            "Requests are lodged by the citizen (DigiD) or by a partner desk.", slug="citizen-required"
        )
    session.add(request)
    session.flush()
    record(
        session,
        EntryDraft(
            kind=EntryKind.ACCESS_REQUEST_RECEIVED,
            occurred_at=now,
            actor=principal.subject if isinstance(principal, CitizenPrincipal) else principal.oin,
            actor_role="citizen" if isinstance(principal, CitizenPrincipal) else "partner",
            actor_org=request.lodged_with,
            subject_hash=subject_hash,
            professional=request.verified_by,
            details={
                "request_id": request.id,
                "relationship": request.relationship,
                "channel": request.channel,
                "due_date": request.due_date.isoformat(),
                "status": request.status,
            },
        ),
    )
    return status_view(request, runtime)


def _lodge_as_citizen(
    session: Session,
    citizen: CitizenPrincipal,
    body: AccessRequestIn,
    request: SubjectAccessRequest,
    eligibility: rules.Eligibility,
    runtime: Runtime,
) -> None:
    is_self = citizen.bsn == body.subject_bsn
    if body.relationship is Relationship.SELF and not is_self:
        raise Forbidden("With relationship 'self' you can only ask about yourself.", slug="not-your-data")
    if body.relationship is not Relationship.SELF and is_self:
        raise RuleBroken(
            "A representative asks about someone else.",
            violations=[RuleViolation("relationship_invalid", "16", "relationship must be 'self'")],
        )
    if eligibility.outcome == "forbidden":
        raise Forbidden(
            eligibility.message,
            slug="not-entitled",
            violations=[RuleViolation("not_entitled", eligibility.article, eligibility.message)],
        )
    request.requester_hash = runtime.bsn_hash(citizen.bsn)
    request.requester_subject = citizen.subject
    evidenced = is_self or _is_registered_representative(
        session, request.subject_hash, request.requester_hash, body.relationship.value
    )
    request.representation_evidence = "self" if is_self else ("consent_signatory" if evidenced else None)
    request.status, request.needs = _initial_status(eligibility, evidenced)


def _lodge_at_desk(
    partner: PartnerPrincipal,
    body: AccessRequestIn,
    request: SubjectAccessRequest,
    eligibility: rules.Eligibility,
) -> None:
    """A written request received on paper; the professional verified identity and gezag (art. 10.2)."""
    if body.verified_by is None:
        raise RuleBroken(
            "Name the professional who verified the requester's identity.",
            violations=[RuleViolation("verified_by_missing", "10.2", "verified_by is required")],
        )
    if eligibility.outcome == "forbidden":
        raise Forbidden(
            eligibility.message,
            slug="not-entitled",
            violations=[RuleViolation("not_entitled", eligibility.article, eligibility.message)],
        )
    request.channel = "partner_desk"
    request.lodged_with = partner.oin
    request.verified_by = body.verified_by.model_dump()
    request.representation_evidence = "verified_by_professional"
    # The desk saw both people when the youth is 12-16 (art. 16.2), so the request is complete.
    request.status = (
        AccessRequestStatus.PENDING_VERIFICATION
        if eligibility.outcome == "age_unknown"
        else AccessRequestStatus.PENDING_DECISION
    )
    request.needs = "verification" if eligibility.outcome == "age_unknown" else None


def _load(session: Session, request_id: str) -> SubjectAccessRequest:
    request = session.get(SubjectAccessRequest, request_id)
    if request is None:
        raise NotFound("No such access request.")
    return request


def confirm(session: Session, runtime: Runtime, citizen: CitizenPrincipal, request_id: str) -> dict[str, Any]:
    """The second party of a 12-16 request joins it (art. 16.2): the youth, or the representative."""
    request = _load(session, request_id)
    person = runtime.bsn_hash(citizen.bsn)
    if request.status != AccessRequestStatus.PENDING_CO_REQUESTER:
        raise NotFound("No access request awaiting your confirmation.")
    if request.needs == "youth" and person != request.subject_hash:
        raise NotFound("No access request awaiting your confirmation.")
    if request.needs == "representative":
        if person == request.subject_hash:
            raise NotFound("No access request awaiting your confirmation.")
        evidenced = _is_registered_representative(
            session, request.subject_hash, person, "parent_with_authority"
        ) or _is_registered_representative(session, request.subject_hash, person, "guardian")
        request.status = (
            AccessRequestStatus.PENDING_DECISION if evidenced else AccessRequestStatus.PENDING_VERIFICATION
        )
        request.needs = None if evidenced else "verification"
    else:
        request.status, request.needs = AccessRequestStatus.PENDING_DECISION, None
    request.co_requester_hash = person
    session.add(request)
    return status_view(request, runtime)


def verify(
    session: Session, runtime: Runtime, partner: PartnerPrincipal, request_id: str, body: VerificationIn
) -> dict[str, Any]:
    """A professional of a partner verified identity, age and gezag in person (art. 10.2)."""
    request = _load(session, request_id)
    if request.status != AccessRequestStatus.PENDING_VERIFICATION:
        raise Conflict(
            f"The request is not waiting for verification (status {request.status}).",
            slug="not-awaiting-verification",
        )
    request.verified_by = {**body.professional.model_dump(), "partner": partner.oin, "note": body.note}
    if body.subject_birth_date is not None:
        request.subject_birth_date = body.subject_birth_date
    request.lodged_with = request.lodged_with or partner.oin
    request.representation_evidence = "verified_by_professional"
    today = runtime.clock().date()
    birth = request.subject_birth_date
    age = age_on(birth, today) if birth and birth <= today else None
    outcome = rules.eligibility(Relationship(request.relationship), age).outcome
    if outcome in ("needs_youth", "needs_representative") and request.co_requester_hash is None:
        # Verified, but from 12 to 16 the second party must still join (art. 16.2).
        request.status = AccessRequestStatus.PENDING_CO_REQUESTER
        request.needs = "youth" if outcome == "needs_youth" else "representative"
    else:
        request.status, request.needs = AccessRequestStatus.PENDING_DECISION, None
    session.add(request)
    return status_view(request, runtime)


def _may_decide(officer: OfficerPrincipal, request: SubjectAccessRequest) -> bool:
    return officer.is_central or (request.lodged_with is not None and officer.org == request.lodged_with)


def decide(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, request_id: str, body: DecisionIn
) -> dict[str, Any]:
    request = _load(session, request_id)
    if not _may_decide(officer, request):
        raise NotFound("No such access request for your organisation.")
    if request.status != AccessRequestStatus.PENDING_DECISION:
        raise Conflict(f"The request cannot be decided now (status {request.status}).", slug="not-decidable")
    known = set(
        session.exec(select(RegisterEntry.id).where(RegisterEntry.subject_hash == request.subject_hash)).all()
    )
    violations = rules.decision_violations(
        body.decision, body.ground, body.motivation, body.withheld_entries, known
    )
    if violations:
        raise RuleBroken("The decision breaks the rules of art. 10.", violations=violations)
    now = runtime.clock()
    request.decision = body.decision
    request.status = (
        AccessRequestStatus.RELEASED if body.decision == "release" else AccessRequestStatus.REFUSED
    )
    request.ground = body.ground
    request.motivation = body.motivation
    request.withheld_entries = list(body.withheld_entries)
    request.decided_by = officer.subject
    request.decided_at = now
    session.add(request)
    record(
        session,
        EntryDraft(
            kind=EntryKind.ACCESS_REQUEST_DECIDED,
            occurred_at=now,
            actor=officer.subject,
            actor_role="privacy_officer",
            actor_org=None if officer.is_central else officer.org,
            subject_hash=request.subject_hash,
            details={
                "request_id": request.id,
                "decision": body.decision,
                "ground": body.ground,
                "withheld": len(body.withheld_entries),
            },
        ),
    )
    return status_view(request, runtime)


def may_read(principal: Principal, request: SubjectAccessRequest, runtime: Runtime) -> bool:
    if isinstance(principal, OfficerPrincipal):
        return _may_decide(principal, request)
    if isinstance(principal, CitizenPrincipal):
        person = runtime.bsn_hash(principal.bsn)
        return person in (request.requester_hash, request.co_requester_hash) or (
            request.needs == "youth" and person == request.subject_hash
        )
    return request.lodged_with == principal.oin


def read(session: Session, runtime: Runtime, principal: Principal, request_id: str) -> SubjectAccessRequest:
    request = _load(session, request_id)
    if not may_read(principal, request, runtime):
        raise NotFound("No such access request.")
    return request


def status_view(request: SubjectAccessRequest, runtime: Runtime) -> dict[str, Any]:
    today = runtime.clock().date()
    messages = {
        "pending_verification": "A professional of a Meerpunt partner must verify identity, age or parental "
        "authority (art. 10.2) before the request can be decided.",
        "pending_co_requester": "From 12 to 16 the youth and the representative ask together (art. 16.2): "
        f"waiting for the {request.needs} to confirm.",
        "pending_decision": "Waiting for the privacy officer's decision.",
        "released": "The report is available.",
        "refused": "The request was refused; see the motivation.",
    }
    return {
        "id": request.id,
        "status": request.status,
        "status_message": messages.get(request.status, ""),
        "due_date": request.due_date.isoformat(),
        "overdue": rules.is_overdue(request.due_date, today, request.decided_at is not None),
        "subject": request.subject_label,
        "relationship": request.relationship,
        "channel": request.channel,
        "received_at": rfc3339(request.received_at),
        "decision": request.decision,
        "ground": request.ground,
        "motivation": request.motivation,
        "decided_at": rfc3339(request.decided_at) if request.decided_at else None,
    }


def list_for_officer(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, status: str | None
) -> dict[str, Any]:
    query = select(SubjectAccessRequest).order_by(col(SubjectAccessRequest.received_at))
    if not officer.is_central:
        query = query.where(SubjectAccessRequest.lodged_with == officer.org)
    today = runtime.clock().date()
    if status == "overdue":
        query = query.where(
            col(SubjectAccessRequest.decided_at).is_(None), col(SubjectAccessRequest.due_date) < today
        )
    elif status:
        query = query.where(SubjectAccessRequest.status == status)
    items = [status_view(r, runtime) for r in session.exec(query.limit(1000)).all()]
    if officer.is_central:
        OVERDUE_REQUESTS.set(sum(1 for item in items if item["overdue"]))
    return {"items": items, "next_cursor": None}
