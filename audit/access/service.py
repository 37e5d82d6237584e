"""Use cases of the right of access (art. 10, 16): lodging a request.

A citizen asks with a DigiD token, for themself or as representative of a child; a partner desk
lodges a written request after a professional verified the requester's identity (art. 10.2). The
second party of a 12-16 request and professionals' verifications: `audit.access.verification`.
The central privacy officer, or the officer of the partner it was lodged with, releases or
refuses it within one calendar month (art. 10.3, 10.6-10.7): `audit.access.decision`. Reading:
`audit.access.views` and `audit.access.report`.

Every step is registered in the request's transaction: received, confirmed, verified, decided, and
every read of the report (`register_accessed`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlmodel import Session

from audit.access import rules
from audit.access.models import SubjectAccessRequest
from audit.access.repository import consent_facts
from audit.access.rules import Relationship
from audit.access.schemas import AccessRequestIn
from audit.access.views import co_requester_record, requester_record, status_view
from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.bsn import is_valid_bsn
from consent.rules import local_date
from gateway.principals import CitizenPrincipal, PartnerPrincipal, Principal
from gateway.problems import Forbidden, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = ["apply_transition", "lodge", "mask_bsn", "not_entitled", "request_facts", "require_valid_bsns"]


def mask_bsn(bsn: str) -> str:
    return "*****" + bsn[-4:]


def _bsn_violation(value: str, field: str) -> RuleViolation | None:
    if is_valid_bsn(value):
        return None
    return RuleViolation("invalid_bsn", "10.2", f"{field} fails the 11-check")


def require_valid_bsns(**values: str | None) -> None:
    violations = [
        v for field, value in values.items() if value is not None and (v := _bsn_violation(value, field))
    ]
    if violations:
        raise RuleBroken("A BSN in the request is not valid.", violations=violations)


def request_facts(request: SubjectAccessRequest, today: dt.date) -> rules.RequestFacts:
    return rules.RequestFacts(
        relationship=Relationship(request.relationship),
        age=rules.age_at(request.subject_birth_date, today),
        requester_evidenced=request.representation_evidence is not None,
        co_requester_joined=request.co_requester_hash is not None,
        candidate_waiting=bool(request.co_requester_candidates),
    )


def apply_transition(request: SubjectAccessRequest, transition: rules.Transition, now: dt.datetime) -> None:
    request.status, request.needs = transition.status, transition.needs
    if transition.violation is not None:
        v = transition.violation
        request.rejection = {"code": v.code, "article": v.article, "message": v.message}
        request.decided_at = now


def not_entitled(violation: RuleViolation) -> Forbidden:
    return Forbidden(violation.message, slug="not-entitled", violations=[violation])


# --- Lodging -------------------------------------------------------------------------------------


def lodge(session: Session, runtime: Runtime, principal: Principal, body: AccessRequestIn) -> dict[str, Any]:
    """Kennisnemingsverzoek (art. 10.1): by a citizen (DigiD) or at a partner's desk (on paper)."""
    require_valid_bsns(
        subject_bsn=body.subject_bsn, requester_bsn=body.requester_bsn, co_requester_bsn=body.co_requester_bsn
    )
    now = runtime.clock()
    today = local_date(now)
    subject_hash = runtime.bsn_hash(body.subject_bsn)
    recorded, signed = consent_facts(session, subject_hash)
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
    transition = rules.next_status(request_facts(request, today))
    if transition.violation is not None:
        raise not_entitled(transition.violation)
    apply_transition(request, transition, now)
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
                "requester": requester_record(request),
                "co_requester": co_requester_record(request),
                "representation_evidence": request.representation_evidence,
                "birth_date": {"basis": basis.reason, "recorded": len(recorded)},
            },
        ),
    )
    return status_view(request, runtime, principal)


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
