"""Use cases of the right of access (art. 10, 16): lodge, confirm, verify; status and worklist.

A citizen asks with a DigiD token, for themself or as representative of a child; a partner desk
lodges a written request after a professional verified the requester's identity (art. 10.2). The
central privacy officer, or the officer of the partner it was lodged with, releases or refuses it
within one calendar month (art. 10.3, 10.6-10.7): see `audit.access.decision`.

Every step is registered in the request's transaction: received, confirmed, verified, decided, and
every read of the report (`register_accessed`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.letters import STATUS_EXPLANATIONS_NL
from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.rules import REPORT_KINDS, Relationship
from audit.access.schemas import (
    AccessRequestIn,
    DecisionIn,
    ProfessionalIn,
    VerificationIn,
)
from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.bsn import is_valid_bsn
from consent.models import Consent, ConsentWithdrawal
from consent.service import LOCAL_TZ
from gateway.db import is_sqlite
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import Conflict, Forbidden, NotFound, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = [
    "REPORT_KINDS",
    "AccessRequestIn",
    "DecisionIn",
    "ProfessionalIn",
    "VerificationIn",
    "confirm",
    "list_for_officer",
    "lodge",
    "status_view",
    "verify",
]

#: How many people may wait as unverified representative of one request (art. 16.2); more is an
#: attempt to crowd the request, and a professional must sort it out in person.
MAX_CANDIDATES = 3


def mask_bsn(bsn: str) -> str:
    return "*****" + bsn[-4:]


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date in the Netherlands: deadlines and ages are Dutch dates (art. 10.3, 16)."""
    return moment.astimezone(LOCAL_TZ).date()


def _bsn_violation(value: str, field: str) -> RuleViolation | None:
    if is_valid_bsn(value):
        return None
    return RuleViolation("invalid_bsn", "10.2", f"{field} fails the 11-check")


def _require_bsns(**values: str | None) -> None:
    violations = [
        v for field, value in values.items() if value is not None and (v := _bsn_violation(value, field))
    ]
    if violations:
        raise RuleBroken("A BSN in the request is not valid.", violations=violations)


# --- What the consent registry says about the subject ---------------------------------------------


def _consent_facts(session: Session, subject_hash: str) -> tuple[set[dt.date], list[rules.SignedConsent]]:
    """Birth dates on record and who signed which consent (for art. 16 and evidence of gezag)."""
    consents = session.exec(select(Consent).where(Consent.subject_hash == subject_hash)).all()
    withdrawn: dict[str, dt.datetime] = {}
    for withdrawal in session.exec(
        select(ConsentWithdrawal).where(ConsentWithdrawal.subject_hash == subject_hash)
    ).all():
        if withdrawal.grant_ids is None:  # the whole statement
            current = withdrawn.get(withdrawal.consent_id)
            withdrawn[withdrawal.consent_id] = min(withdrawal.received_at, current or withdrawal.received_at)
    signed = [
        rules.SignedConsent(
            signatories=tuple(
                (str(s["bsn_hash"]), str(s.get("role", ""))) for s in consent.signatories if s.get("bsn_hash")
            ),
            given_at=consent.given_at,
            valid_until=consent.valid_until,
            withdrawn_at=withdrawn.get(consent.id),
        )
        for consent in consents
    ]
    return {consent.subject_birth_date for consent in consents}, signed


def _facts(request: SubjectAccessRequest, today: dt.date) -> rules.RequestFacts:
    return rules.RequestFacts(
        relationship=Relationship(request.relationship),
        age=rules.age_at(request.subject_birth_date, today),
        requester_evidenced=request.representation_evidence is not None,
        co_requester_joined=request.co_requester_hash is not None,
        candidate_waiting=bool(request.co_requester_candidates),
    )


def _apply(request: SubjectAccessRequest, transition: rules.Transition, now: dt.datetime) -> None:
    request.status, request.needs = transition.status, transition.needs
    if transition.violation is not None:
        v = transition.violation
        request.rejection = {"code": v.code, "article": v.article, "message": v.message}
        request.decided_at = now


def _not_entitled(violation: RuleViolation) -> Forbidden:
    return Forbidden(violation.message, slug="not-entitled", violations=[violation])


# --- Lodging -------------------------------------------------------------------------------------


def lodge(session: Session, runtime: Runtime, principal: Principal, body: AccessRequestIn) -> dict[str, Any]:
    """Kennisnemingsverzoek (art. 10.1): by a citizen (DigiD) or at a partner's desk (on paper)."""
    _require_bsns(
        subject_bsn=body.subject_bsn, requester_bsn=body.requester_bsn, co_requester_bsn=body.co_requester_bsn
    )
    now = runtime.clock()
    today = local_date(now)
    subject_hash = runtime.bsn_hash(body.subject_bsn)
    recorded, signed = _consent_facts(session, subject_hash)
    request = SubjectAccessRequest(
        id=str(uuid.uuid4()),
        subject_hash=subject_hash,
        subject_label=mask_bsn(body.subject_bsn),
        relationship=body.relationship.value,
        channel="citizen",
        contact=body.contact,
        status="",
        received_at=now,
        due_date=rules.due_date(today),
        withheld_entries=[],
    )
    if isinstance(principal, CitizenPrincipal):
        basis = rules.birth_date_basis(recorded, body.subject_birth_date)
        _lodge_as_citizen(principal, body, request, signed, runtime, now)
    elif isinstance(principal, PartnerPrincipal):
        # The desk's professional read the birth date on an identity document (art. 10.2).
        basis = rules.birth_date_basis(recorded, None, verified=body.subject_birth_date)
        _lodge_at_desk(principal, body, request, runtime, now)
    else:
        raise Forbidden(
            "Requests are lodged by the citizen (DigiD) or by a partner desk.", slug="citizen-required"
        )
    request.subject_birth_date = basis.birth_date
    request.birth_date_source = basis.reason if basis.birth_date is not None else None
    transition = rules.next_status(_facts(request, today))
    if transition.violation is not None:
        raise _not_entitled(transition.violation)
    _apply(request, transition, now)
    session.add(request)
    session.flush()
    citizen = isinstance(principal, CitizenPrincipal)
    record(
        session,
        EntryDraft(
            kind=EntryKind.ACCESS_REQUEST_RECEIVED,
            occurred_at=now,
            actor=principal.subject if isinstance(principal, CitizenPrincipal) else principal.oin,
            actor_role="citizen" if citizen else "partner",
            actor_org=request.lodged_with,
            subject_hash=subject_hash,
            professional=request.verified_by,
            details={
                "request_id": request.id,
                "relationship": request.relationship,
                "channel": request.channel,
                "due_date": request.due_date.isoformat(),
                "status": request.status,
                "requester": _requester_record(request),
                "co_requester": _co_requester_record(request),
                "representation_evidence": request.representation_evidence,
                "birth_date": {"basis": basis.reason, "recorded": len(recorded)},
            },
        ),
    )
    return status_view(request, runtime, principal)


def _requester_record(request: SubjectAccessRequest) -> dict[str, Any]:
    return {
        "name": request.requester_name,
        "bsn_hash": request.requester_hash,
        "relationship": request.relationship,
    }


def _co_requester_record(request: SubjectAccessRequest) -> dict[str, Any] | None:
    if request.co_requester_hash is None and request.co_requester_name is None:
        return None
    return {
        "name": request.co_requester_name,
        "bsn_hash": request.co_requester_hash,
        "relationship": request.co_requester_relationship,
        "evidence": request.co_requester_evidence,
    }


def _lodge_as_citizen(
    citizen: CitizenPrincipal,
    body: AccessRequestIn,
    request: SubjectAccessRequest,
    signed: list[rules.SignedConsent],
    runtime: Runtime,
    now: dt.datetime,
) -> None:
    is_self = citizen.bsn == body.subject_bsn
    if body.relationship is Relationship.SELF and not is_self:
        raise Forbidden("With relationship 'self' you can only ask about yourself.", slug="not-your-data")
    if body.relationship is not Relationship.SELF and is_self:
        raise RuleBroken(
            "A representative asks about someone else.",
            violations=[RuleViolation("relationship_invalid", "16", "relationship must be 'self'")],
        )
    request.requester_hash = runtime.bsn_hash(citizen.bsn)
    request.requester_subject = citizen.subject
    if is_self:
        request.representation_evidence = "self"
    elif rules.evidenced_role(signed, request.requester_hash, {body.relationship.value}, now):
        request.representation_evidence = "consent_signatory"


def _lodge_at_desk(
    partner: PartnerPrincipal,
    body: AccessRequestIn,
    request: SubjectAccessRequest,
    runtime: Runtime,
    now: dt.datetime,
) -> None:
    """A written request received on paper; the professional verified identity and gezag (art. 10.2)."""
    violations = []
    if body.verified_by is None:
        violations.append(RuleViolation("verified_by_missing", "10.2", "verified_by is required"))
    if body.requester_name is None:
        violations.append(
            RuleViolation("requester_missing", "10.2", "requester_name is required: who made the request")
        )
    representative = body.relationship is not Relationship.SELF
    if representative and body.requester_bsn is None:
        violations.append(
            RuleViolation(
                "requester_bsn_missing", "16", "A representative's request names the representative's BSN."
            )
        )
    if body.requester_bsn is not None and (body.requester_bsn == body.subject_bsn) == representative:
        violations.append(
            RuleViolation(
                "requester_bsn_mismatch",
                "16",
                "requester_bsn is the subject's own for 'self', and someone else's for a representative.",
            )
        )
    co_bsn = body.co_requester_bsn
    # For a parent's request the second person is the youth (the subject); for a youth's own
    # request, the representative, who is someone else.
    if co_bsn is not None and (co_bsn == body.subject_bsn) != representative:
        violations.append(
            RuleViolation(
                "co_requester_bsn_mismatch", "16.2", "co_requester_bsn names the second person who asked."
            )
        )
    if violations:
        raise RuleBroken("Name who asked and who verified their identity (art. 10.2).", violations=violations)
    assert body.verified_by is not None
    request.channel = "partner_desk"
    request.lodged_with = partner.oin
    request.requester_name = body.requester_name
    request.requester_hash = runtime.bsn_hash(body.requester_bsn or body.subject_bsn)
    request.verified_by = {**body.verified_by.model_dump(), "partner": partner.oin, "at": rfc3339(now)}
    request.verifications = [{**request.verified_by, "what": "identity_and_gezag", "person": "requester"}]
    request.representation_evidence = "verified_by_professional"
    if body.co_requester_name is not None:
        # From 12 to 16 both ask (art. 16.2): the desk saw the second person too. For a parent's
        # request that is the youth (the subject); for a youth's request, the representative.
        request.co_requester_name = body.co_requester_name
        if representative:
            request.co_requester_hash = request.subject_hash
            request.co_requester_relationship = "self"
        elif body.co_requester_bsn is not None:
            request.co_requester_hash = runtime.bsn_hash(body.co_requester_bsn)
            request.co_requester_relationship = body.co_requester_relationship or "parent_with_authority"
        request.co_requester_evidence = (
            "verified_by_professional" if request.co_requester_hash is not None else None
        )


# --- Loading -------------------------------------------------------------------------------------


def load(session: Session, request_id: str, *, for_update: bool = False) -> SubjectAccessRequest:
    """The request; with `for_update` its row is locked (PostgreSQL), so two concurrent confirmations
    or decisions cannot both pass the status check (SQLite serialises writers at BEGIN IMMEDIATE)."""
    query = select(SubjectAccessRequest).where(SubjectAccessRequest.id == request_id)
    if for_update and not is_sqlite(session.get_bind().engine):
        query = query.with_for_update()
    request = session.exec(query).first()
    if request is None:
        raise NotFound("No such access request.")
    return request


# --- The second party of a 12-16 request (art. 16.2) ---------------------------------------------


def confirm(
    session: Session, runtime: Runtime, citizen: CitizenPrincipal, request_id: str
) -> tuple[int, dict[str, Any]]:
    """The second party of a 12-16 request joins it (art. 16.2): the youth, or the representative.

    The youth is recognised by their own BSN (the subject's). A representative joins only if a
    consent in force names them as parent with gezag or guardian; anyone else is held as a
    candidate (202) until a professional's verification names them (art. 10.2). Nobody replaces a
    co-requester who already joined (409). Returns the status code and the status view.
    """
    request = load(session, request_id, for_update=True)
    person = runtime.bsn_hash(citizen.bsn)
    now = runtime.clock()
    today = local_date(now)
    outcome = rules.eligibility(
        Relationship(request.relationship), rules.age_at(request.subject_birth_date, today)
    )
    awaiting = request.status in (
        AccessRequestStatus.PENDING_CO_REQUESTER,
        AccessRequestStatus.PENDING_VERIFICATION,
    )
    needed = {"needs_youth": "youth", "needs_representative": "representative"}.get(outcome.outcome)
    nothing = NotFound("No access request awaiting your confirmation.")
    if not awaiting or needed is None:
        raise nothing
    if request.co_requester_hash == person:
        return 200, status_view(request, runtime, citizen)  # confirmed before: nothing changes
    joined = "joined"
    if needed == "youth":
        if person != request.subject_hash:
            raise nothing
        request.co_requester_hash, request.co_requester_relationship = person, "self"
        request.co_requester_evidence = "self"
    else:
        if person in (request.subject_hash, request.requester_hash):
            raise nothing
        if request.co_requester_hash is not None:
            raise Conflict("Another representative already joined this request.", slug="co-requester-present")
        _, signed = _consent_facts(session, request.subject_hash)
        role = rules.evidenced_role(signed, person, rules.REPRESENTATIVE_ROLES, now)
        if role is not None:
            request.co_requester_hash, request.co_requester_relationship = person, role
            request.co_requester_evidence = "consent_signatory"
        else:
            candidates = list(request.co_requester_candidates or [])
            if person not in candidates:
                if len(candidates) >= MAX_CANDIDATES:
                    raise Conflict(
                        "Too many people confirmed this request without evidence of gezag; a "
                        "professional of a Meerpunt partner must verify in person (art. 10.2).",
                        slug="too-many-candidates",
                    )
                request.co_requester_candidates = [*candidates, person]
            joined = "candidate"
    _apply(request, rules.next_status(_facts(request, today)), now)
    session.add(request)
    record(
        session,
        EntryDraft(
            kind=EntryKind.ACCESS_REQUEST_CONFIRMED,
            occurred_at=now,
            actor=citizen.subject,
            actor_role="citizen",
            subject_hash=request.subject_hash,
            details={
                "request_id": request.id,
                "as": needed,
                "outcome": joined,
                "person_hash": person,
                "evidence": request.co_requester_evidence if joined == "joined" else None,
                "status": request.status,
            },
        ),
    )
    return (202 if joined == "candidate" else 200), status_view(request, runtime, citizen)


# --- Verification by a professional (art. 10.2) ---------------------------------------------------


def verify(
    session: Session, runtime: Runtime, partner: PartnerPrincipal, request_id: str, body: VerificationIn
) -> dict[str, Any]:
    """A professional of a partner verified identity, age or gezag in person (art. 10.2).

    Any partner may verify (a citizen can turn to any partner that helps them, art. 9.3), but
    verifying gives that partner no say in the request: it is not "lodged with" it, so neither its
    officer nor its system decides or reads it. The verification names whom it verified and is
    registered. A request art. 16 forbids once the age is known is rejected.
    """
    _require_bsns(representative_bsn=body.representative_bsn)
    request = load(session, request_id, for_update=True)
    if request.status != AccessRequestStatus.PENDING_VERIFICATION:
        raise Conflict(
            f"The request is not waiting for verification (status {request.status}).",
            slug="not-awaiting-verification",
        )
    now = runtime.clock()
    today = local_date(now)
    person, relationship = _verified_person(request, runtime, body)
    if body.subject_birth_date is None and request.subject_birth_date is None:
        raise RuleBroken(
            "The subject's birth date is not on record: state the birth date the professional read on "
            "an identity document.",
            violations=[RuleViolation("birth_date_missing", "16", "subject_birth_date is required")],
        )
    if person is None and body.subject_birth_date is None:
        raise RuleBroken(
            "Nothing to verify: name the representative whose gezag was verified, or the birth date.",
            violations=[
                RuleViolation("nothing_verified", "10.2", "representative_bsn or subject_birth_date")
            ],
        )
    if body.subject_birth_date is not None:
        request.subject_birth_date, request.birth_date_source = body.subject_birth_date, "verified"
    if person == "requester":
        request.representation_evidence = "verified_by_professional"
        request.relationship = relationship or request.relationship
    elif person == "co_requester":
        assert body.representative_bsn is not None
        request.co_requester_hash = runtime.bsn_hash(body.representative_bsn)
        request.co_requester_relationship = relationship or Relationship.PARENT_WITH_AUTHORITY.value
        request.co_requester_evidence = "verified_by_professional"
        request.co_requester_candidates = []
    verification = {
        **body.professional.model_dump(),
        "partner": partner.oin,
        "note": body.note,
        "at": rfc3339(now),
        "person": person,
        "relationship": relationship,
        "bsn_checked": body.representative_bsn is not None,
        "birth_date_verified": body.subject_birth_date is not None,
    }
    request.verifications = [*(request.verifications or []), verification]
    request.verified_by = request.verified_by or verification
    _apply(request, rules.next_status(_facts(request, today)), now)
    session.add(request)
    record(
        session,
        EntryDraft(
            kind=EntryKind.ACCESS_REQUEST_VERIFIED,
            occurred_at=now,
            actor=partner.oin,
            actor_role="partner",
            actor_org=partner.oin,
            subject_hash=request.subject_hash,
            professional=body.professional.model_dump(),
            description=body.note or None,
            details={
                "request_id": request.id,
                "person": person,
                "person_hash": runtime.bsn_hash(body.representative_bsn) if body.representative_bsn else None,
                "relationship": relationship,
                "birth_date_verified": body.subject_birth_date is not None,
                "status": request.status,
                "rejection": request.rejection,
            },
        ),
    )
    return status_view(request, runtime, partner)


def _verified_person(
    request: SubjectAccessRequest, runtime: Runtime, body: VerificationIn
) -> tuple[str | None, str | None]:
    """Whom the professional verified: ("requester" | "co_requester" | None, relationship)."""
    relationship = body.representative_relationship
    if body.representative_bsn is None:
        if request.representation_evidence is None:
            return "requester", relationship or request.relationship
        return None, None
    person = runtime.bsn_hash(body.representative_bsn)
    if person == request.subject_hash:
        raise RuleBroken(
            "The subject is not their own representative.",
            violations=[
                RuleViolation("representative_is_subject", "16", "representative_bsn is the subject's")
            ],
        )
    if person == request.requester_hash and request.relationship != Relationship.SELF:
        return "requester", relationship or request.relationship
    if request.co_requester_hash is None and person in (request.co_requester_candidates or []):
        return "co_requester", relationship
    raise RuleBroken(
        "representative_bsn is neither the requester nor someone who confirmed this request.",
        violations=[
            RuleViolation(
                "representative_unknown",
                "16.2",
                "Verify the requester, or a person who confirmed the request as representative.",
            )
        ],
    )


# --- Reading the status --------------------------------------------------------------------------


def reader_kind(principal: Principal) -> rules.Reader:
    if isinstance(principal, OfficerPrincipal):
        return "central_officer" if principal.is_central else "partner_officer"
    if isinstance(principal, PartnerPrincipal):
        return "partner_system"
    return "citizen"


def reader_org(principal: Principal) -> str | None:
    if isinstance(principal, OfficerPrincipal):
        return principal.org
    if isinstance(principal, PartnerPrincipal):
        return principal.oin
    return None


def is_requester(principal: Principal, request: SubjectAccessRequest, runtime: Runtime) -> bool:
    if not isinstance(principal, CitizenPrincipal):
        return False
    person = runtime.bsn_hash(principal.bsn)
    return person is not None and person in (request.requester_hash, request.co_requester_hash)


def may_see(principal: Principal, request: SubjectAccessRequest, runtime: Runtime) -> bool:
    """Who sees that the request exists and where it stands (its status, not the report)."""
    kind = reader_kind(principal)
    org = reader_org(principal)
    if kind in ("central_officer", "partner_officer"):
        return rules.may_decide(kind, org, request.lodged_with)
    if kind == "partner_system":
        return request.channel == "partner_desk" and request.lodged_with == org
    assert isinstance(principal, CitizenPrincipal)
    person = runtime.bsn_hash(principal.bsn)
    # The youth sees a parent's request that waits for them, so they can join it (art. 16.2).
    return is_requester(principal, request, runtime) or (
        request.needs == "youth" and person == request.subject_hash
    )


def read(session: Session, runtime: Runtime, principal: Principal, request_id: str) -> SubjectAccessRequest:
    request = load(session, request_id)
    if not may_see(principal, request, runtime):
        raise NotFound("No such access request.")
    return request


def status_view(
    request: SubjectAccessRequest, runtime: Runtime, viewer: Principal | None = None
) -> dict[str, Any]:
    today = local_date(runtime.clock())
    messages = {
        "pending_verification": "A professional of a Meerpunt partner must verify identity, age or parental "
        "authority (art. 10.2) before the request can be decided.",
        "pending_co_requester": "From 12 to 16 the youth and the representative ask together (art. 16.2): "
        f"waiting for the {request.needs} to confirm.",
        "pending_decision": "Waiting for the privacy officer's decision.",
        "released": "The report is available.",
        "refused": "The request was refused; see the motivation.",
        "rejected": "The request cannot be handled: art. 16 does not allow it; see the rejection.",
    }
    view: dict[str, Any] = {
        "id": request.id,
        "status": request.status,
        "status_message": messages.get(request.status, ""),
        "status_message_nl": STATUS_EXPLANATIONS_NL.get(request.status, ""),
        "due_date": request.due_date.isoformat(),
        "overdue": rules.is_overdue(request.due_date, today, request.status not in rules.OPEN_STATUSES),
        "subject": request.subject_label,
        "relationship": request.relationship,
        "channel": request.channel,
        "received_at": rfc3339(request.received_at),
        "decision": request.decision,
        "ground": request.ground,
        "motivation": request.motivation,
        "decided_at": rfc3339(request.decided_at) if request.decided_at else None,
        "rejection": request.rejection,
    }
    if isinstance(viewer, OfficerPrincipal):
        view |= {
            "lodged_with": request.lodged_with,
            "requester": _requester_record(request),
            "co_requester": _co_requester_record(request),
            "representation_evidence": request.representation_evidence,
            "verifications": request.verifications or [],
        }
    return view


# --- The officers' worklist (art. 10.3) -----------------------------------------------------------


def _encode_cursor(request: SubjectAccessRequest) -> str:
    text = f"{rfc3339(request.received_at)}|{request.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, request_id = text.split("|", 1)
        return dt.datetime.fromisoformat(moment.replace("Z", "+00:00")), request_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem("The cursor is not one this API returned.", slug="invalid-cursor") from None


def list_for_officer(
    session: Session,
    runtime: Runtime,
    officer: OfficerPrincipal,
    status: str | None,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Requests the officer may decide, oldest first; `status=overdue`: undecided past the due date."""
    if status is not None and status not in (*rules.STATUSES, "overdue"):
        raise RuleBroken(
            "Unknown status filter.",
            violations=[
                RuleViolation(
                    "unknown_status", "10.3", "status is one of " + ", ".join((*rules.STATUSES, "overdue"))
                )
            ],
        )
    query = select(SubjectAccessRequest).order_by(
        col(SubjectAccessRequest.received_at), col(SubjectAccessRequest.id)
    )
    if not officer.is_central:
        query = query.where(SubjectAccessRequest.lodged_with == officer.org)
    if status == "overdue":
        query = query.where(
            col(SubjectAccessRequest.status).in_(rules.OPEN_STATUSES),
            col(SubjectAccessRequest.due_date) < local_date(runtime.clock()),
        )
    elif status:
        query = query.where(SubjectAccessRequest.status == status)
    if cursor:
        moment, after_id = _decode_cursor(cursor)
        query = query.where(
            sa.or_(
                col(SubjectAccessRequest.received_at) > moment,
                sa.and_(
                    col(SubjectAccessRequest.received_at) == moment, col(SubjectAccessRequest.id) > after_id
                ),
            )
        )
    rows = session.exec(query.limit(limit + 1)).all()
    page = rows[:limit]
    return {
        "items": [status_view(r, runtime, officer) for r in page],
        "next_cursor": _encode_cursor(page[-1]) if len(rows) > limit and page else None,
    }
