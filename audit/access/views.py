"""Reading access requests: who sees one (art. 10, 18.3), its status view, and the officers'
worklist (art. 10.3), paginated with an opaque cursor."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.letters import STATUS_EXPLANATIONS_NL
from audit.access.models import SubjectAccessRequest
from audit.access.repository import load
from audit.service import rfc3339
from consent.rules import local_date
from gateway.cursors import after_keyset, encode_keyset
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = [
    "co_requester_record",
    "is_requester",
    "list_for_officer",
    "may_see",
    "read",
    "reader_kind",
    "reader_org",
    "requester_record",
    "status_view",
]


def requester_record(request: SubjectAccessRequest) -> dict[str, Any]:
    return {
        "name": request.requester_name,
        "bsn_hash": request.requester_hash,
        "relationship": request.relationship,
    }


def co_requester_record(request: SubjectAccessRequest) -> dict[str, Any] | None:
    if request.co_requester_hash is None and request.co_requester_name is None:
        return None
    return {
        "name": request.co_requester_name,
        "bsn_hash": request.co_requester_hash,
        "relationship": request.co_requester_relationship,
        "evidence": request.co_requester_evidence,
    }


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
            "requester": requester_record(request),
            "co_requester": co_requester_record(request),
            "representation_evidence": request.representation_evidence,
            "verifications": request.verifications or [],
        }
    return view


# --- The officers' worklist (art. 10.3) -----------------------------------------------------------


def list_for_officer(
    session: Session,
    runtime: Runtime,
    officer: OfficerPrincipal,
    status: str | None,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Requests the officer may decide, oldest first; `status=open`: not decided yet;
    `status=overdue`: undecided past the due date."""
    filters = (*rules.STATUSES, "open", "overdue")
    if status is not None and status not in filters:
        raise RuleBroken(
            "Unknown status filter.",
            violations=[
                RuleViolation(
                    "unknown_status",
                    "10.3",
                    "status is one of " + ", ".join((*rules.STATUSES, "open", "overdue")),
                )
            ],
        )
    query = select(SubjectAccessRequest).order_by(
        col(SubjectAccessRequest.received_at), col(SubjectAccessRequest.id)
    )
    if not officer.is_central:
        query = query.where(SubjectAccessRequest.lodged_with == officer.org)
    if status == "open":
        query = query.where(col(SubjectAccessRequest.status).in_(rules.OPEN_STATUSES))
    elif status == "overdue":
        query = query.where(
            col(SubjectAccessRequest.status).in_(rules.OPEN_STATUSES),
            col(SubjectAccessRequest.due_date) < local_date(runtime.clock()),
        )
    elif status:
        query = query.where(SubjectAccessRequest.status == status)
    if cursor:
        query = query.where(
            after_keyset(col(SubjectAccessRequest.received_at), col(SubjectAccessRequest.id), cursor)
        )
    rows = session.exec(query.limit(limit + 1)).all()
    page = rows[:limit]
    return {
        "items": [status_view(r, runtime, officer) for r in page],
        "next_cursor": encode_keyset(page[-1].received_at, page[-1].id) if len(rows) > limit else None,
    }
