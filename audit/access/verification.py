"""The second party of a 12-16 request joins it (art. 16.2), and professionals verify identity,
age and gezag (art. 10.2). Both are registered; neither hands the request to a partner."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from audit.access import rules
from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.repository import consent_facts, load
from audit.access.rules import Relationship
from audit.access.schemas import VerificationIn
from audit.access.service import apply_transition, request_facts, require_valid_bsns
from audit.access.views import status_view
from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.rules import local_date
from gateway.principals import CitizenPrincipal, PartnerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = ["MAX_CANDIDATES", "confirm", "verify"]

#: How many people may wait as unverified representative of one request (art. 16.2); more is an
#: attempt to crowd the request, and a professional must sort it out in person.
MAX_CANDIDATES = 3


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
        _, signed = consent_facts(session, request.subject_hash)
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
    apply_transition(request, rules.next_status(request_facts(request, today)), now)
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
    require_valid_bsns(representative_bsn=body.representative_bsn)
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
    apply_transition(request, rules.next_status(request_facts(request, today)), now)
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
