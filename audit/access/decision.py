"""The officer's decision on an access request (art. 10.3, 10.6-10.7) and what may be withheld."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from audit.access import rules
from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.repository import load, subject_entries
from audit.access.schemas import DecisionIn
from audit.access.views import reader_kind, status_view
from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record, record_read
from gateway.principals import OfficerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken
from gateway.runtime import Runtime

__all__ = ["decide", "officer_view"]


def _link(entry: RegisterEntry) -> rules.EntryLink:
    content: dict[str, Any] = entry.content
    basis = content.get("legal_basis") or {}
    corrects = basis.get("corrects") or content.get("details", {}).get("in_reply_to")
    return rules.EntryLink(
        entry_id=entry.id,
        kind=entry.kind,
        disclosure_id=entry.disclosure_id,
        corrects=str(corrects) if corrects and entry.kind == EntryKind.CORRECTION_SENT else None,
    )


def _may_decide(officer: OfficerPrincipal, request: SubjectAccessRequest) -> bool:
    return rules.may_decide(reader_kind(officer), officer.org, request.lodged_with)


def decide(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, request_id: str, body: DecisionIn
) -> dict[str, Any]:
    """Release (possibly withholding entries) or refuse, on an art. 10.6 ground with a motivation."""
    request = load(session, request_id, for_update=True)
    if not _may_decide(officer, request):
        raise NotFound("No such access request for your organisation.")
    if request.status != AccessRequestStatus.PENDING_DECISION:
        raise Conflict(f"The request cannot be decided now (status {request.status}).", slug="not-decidable")
    entries = subject_entries(session, request.subject_hash)
    violations = rules.decision_violations(
        body.decision,
        body.ground,
        body.motivation,
        body.withheld_entries,
        known_entries={e.id for e in entries},
        reportable_entries={e.id for e in entries if e.kind in rules.REPORT_KINDS},
    )
    if violations:
        raise RuleBroken("The decision breaks the rules of art. 10.", violations=violations)
    withheld = rules.withheld_closure(body.withheld_entries, (_link(e) for e in entries))
    rows_withheld = sum(1 for e in entries if e.id in withheld and e.kind in rules.REPORT_KINDS)
    now = runtime.clock()
    request.decision = body.decision
    request.status = (
        AccessRequestStatus.RELEASED if body.decision == "release" else AccessRequestStatus.REFUSED
    )
    request.ground = body.ground
    request.motivation = body.motivation
    request.withheld_entries = sorted(withheld)
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
                "withheld": rows_withheld,
                "withheld_selected": sorted(body.withheld_entries),
                "lodged_with": request.lodged_with,
            },
        ),
    )
    return status_view(request, runtime, officer)


def officer_view(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, request: SubjectAccessRequest
) -> dict[str, Any]:
    """The status for the deciding officer, with the entries to consider withholding (art. 10.6)."""
    view = status_view(request, runtime, officer)
    if request.status == AccessRequestStatus.PENDING_DECISION:
        entries = subject_entries(session, request.subject_hash)
        candidates = rules.withholding_candidates(e.content for e in entries)
        view["withholding_candidates"] = candidates
        # The candidates come from the register (overrides and their waivers): a logged read.
        record_read(
            session,
            officer,
            at=runtime.clock(),
            action="withholding_candidates",
            subject_hash=request.subject_hash,
            returned=len(candidates),
            details={"request_id": request.id},
        )
    return view
