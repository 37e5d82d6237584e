"""Use cases of the follow-up rights (art. 11-14) a citizen asks for from their released report.

Lodging registers a `rights_request_received` entry in the same transaction (no entry, no
request); the officers' worklist (`GET /v1/rights-requests`) is a registered read; the outcome is
a conditional UPDATE (two officers cannot both close it) with a `rights_request_handled` entry.
Officers act with the existing endpoints: the sender's `POST /v1/disclosures/{id}/corrections`
(art. 11.4), `POST /v1/subjects/{bsn}/restriction` (art. 14), `POST /v1/subjects/{bsn}/erasure`
(art. 12); for those the worklist gives them the subject's BSN, sealed at rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from typing import Any, Literal

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.followup_rules import KINDS, follow_up_violations, may_handle
from audit.access.models import AccessRequestStatus, RightsRequest
from audit.access.report import build_access_report
from audit.access.views import is_requester, read, reader_kind, reader_org
from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record, record_read, rfc3339
from consent.rules import local_date
from gateway.cursors import after_keyset, encode_keyset
from gateway.principals import CitizenPrincipal, OfficerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = ["FollowUpIn", "OutcomeIn", "decide", "list_for_officer", "lodge", "mine", "recent_count"]


class FollowUpIn(BaseModel):
    kind: Literal["correction", "objection", "restriction", "erasure"]
    explanation: str = Field(max_length=5000)
    entry_id: str | None = Field(default=None, max_length=64)


class OutcomeIn(BaseModel):
    status: Literal["handled", "declined"]
    note: str = Field(min_length=1, max_length=10000)


class _Seal:
    """AES-GCM under a key derived from the BSN hash key, bound to the request's id."""

    def __init__(self, runtime: Runtime) -> None:
        self._aead = AESGCM(runtime.bsn_hash.derive_key("rights-request-bsn"))

    def seal(self, bsn: str, row_id: str) -> str:
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(
            nonce + self._aead.encrypt(nonce, bsn.encode(), row_id.encode())
        ).decode()

    def open(self, sealed: str, row_id: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return self._aead.decrypt(raw[:12], raw[12:], row_id.encode()).decode()


def lodge(
    session: Session,
    runtime: Runtime,
    citizen: CitizenPrincipal,
    access_request_id: str,
    subject_bsn: str,
    body: FollowUpIn,
) -> RightsRequest:
    """Verzoek om correctie, verwijdering, beperking of bezwaar (art. 11-14), from the report.

    `subject_bsn` is the BSN the access request was lodged for; it must hash to its subject.
    """
    request = read(session, runtime, citizen, access_request_id)
    readable = rules.may_read_report(
        reader_kind(citizen),
        org=reader_org(citizen),
        lodged_with=request.lodged_with,
        channel=request.channel,
        is_requester=is_requester(citizen, request, runtime),
        status=request.status,
    )
    if not readable or request.status != AccessRequestStatus.RELEASED:
        raise NotFound("No such released report.")
    if runtime.bsn_hash(subject_bsn) != request.subject_hash:
        raise NotFound("No such released report.")
    report = build_access_report(session, runtime, request)
    violations = follow_up_violations(
        body.kind, body.explanation, body.entry_id, {d.entry_id for d in report.disclosures}
    )
    if violations:
        raise RuleBroken("The follow-up request is not complete.", violations=violations)
    entry = None
    if body.kind == "correction":
        entry = session.exec(select(RegisterEntry).where(RegisterEntry.id == body.entry_id)).one()
    now = runtime.clock()
    row_id = str(uuid.uuid4())
    row = RightsRequest(
        id=row_id,
        kind=body.kind,
        access_request_id=request.id,
        subject_hash=request.subject_hash,
        subject_label=request.subject_label,
        subject_bsn_sealed=_Seal(runtime).seal(subject_bsn, row_id),
        requester_hash=runtime.bsn_hash(citizen.bsn),
        entry_id=entry.id if entry else None,
        disclosure_id=entry.disclosure_id if entry else None,
        sender=entry.sender if entry else None,
        explanation=body.explanation.strip(),
        status="received",
        received_at=now,
        due_date=rules.due_date(local_date(now)),  # one month (art. 11.3, 13.2)
    )
    session.add(row)
    session.flush()
    record(
        session,
        EntryDraft(
            kind=EntryKind.RIGHTS_REQUEST_RECEIVED,
            occurred_at=now,
            actor=citizen.subject,
            actor_role="citizen",
            subject_hash=request.subject_hash,
            recipient=row.sender,
            disclosure_id=row.disclosure_id,
            details={
                "rights_request_id": row.id,
                "kind": row.kind,
                "article": KINDS[row.kind].article,
                "access_request_id": request.id,
                "entry_id": row.entry_id,
                "due_date": row.due_date.isoformat(),
            },
        ),
    )
    return row


def recent_count(session: Session, requester_hash: str, since: dt.datetime) -> int:
    query = select(sa.func.count()).where(
        col(RightsRequest.requester_hash) == requester_hash, col(RightsRequest.received_at) >= since
    )
    return int(session.exec(query).one())


def mine(session: Session, runtime: Runtime, citizen: CitizenPrincipal) -> list[RightsRequest]:
    """The follow-ups this person asked for, newest first (only ever their own)."""
    query = (
        select(RightsRequest)
        .where(RightsRequest.requester_hash == runtime.bsn_hash(citizen.bsn))
        .order_by(col(RightsRequest.received_at).desc(), col(RightsRequest.id))
        .limit(200)
    )
    return list(session.exec(query).all())


def _officer_view(row: RightsRequest, runtime: Runtime) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "article": KINDS[row.kind].article,
        "status": row.status,
        "access_request_id": row.access_request_id,
        "subject": row.subject_label,
        "subject_bsn": _Seal(runtime).open(row.subject_bsn_sealed, row.id),
        "entry_id": row.entry_id,
        "disclosure_id": row.disclosure_id,
        "sender": row.sender,
        "explanation": row.explanation,
        "received_at": rfc3339(row.received_at),
        "due_date": row.due_date.isoformat(),
        "handled_at": rfc3339(row.handled_at) if row.handled_at else None,
        "handled_by": row.handled_by,
        "outcome_note": row.outcome_note,
    }


def _scope(officer: OfficerPrincipal) -> Any:
    if officer.is_central:
        return sa.true()
    return sa.and_(col(RightsRequest.kind) == "correction", col(RightsRequest.sender) == officer.org)


def list_for_officer(
    session: Session,
    runtime: Runtime,
    officer: OfficerPrincipal,
    status: str | None,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """The officers' worklist of follow-ups, oldest first; a registered read (art. 8, 18.3)."""
    if status is not None and status not in ("received", "handled", "declined"):
        raise RuleBroken(
            "Unknown status filter.",
            violations=[RuleViolation("unknown_status", "11", "status is received, handled or declined")],
        )
    query = (
        select(RightsRequest)
        .where(_scope(officer))
        .order_by(col(RightsRequest.received_at), col(RightsRequest.id))
    )
    if status:
        query = query.where(RightsRequest.status == status)
    if cursor:
        query = query.where(after_keyset(col(RightsRequest.received_at), col(RightsRequest.id), cursor))
    rows = session.exec(query.limit(limit + 1)).all()
    page = rows[:limit]
    record_read(
        session,
        officer,
        at=runtime.clock(),
        action="rights_requests",
        returned=len(page),
        query={"status": status},
        details={"ids": [r.id for r in page]},
    )
    return {
        "items": [_officer_view(r, runtime) for r in page],
        "next_cursor": encode_keyset(page[-1].received_at, page[-1].id) if len(rows) > limit else None,
    }


def decide(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, request_id: str, body: OutcomeIn
) -> dict[str, Any]:
    """Record that the follow-up was handled (after acting with the existing endpoints) or declined."""
    row = session.get(RightsRequest, request_id)
    if row is None or not may_handle(officer.is_central, officer.org, row.kind, row.sender):
        raise NotFound("No such rights request.")
    now = runtime.clock()
    # Conditional UPDATE: of two officers closing it at once, one wins and the other gets 409.
    closed = session.execute(
        sa.update(RightsRequest)
        .where(col(RightsRequest.id) == request_id, col(RightsRequest.status) == "received")
        .values(status=body.status, handled_at=now, handled_by=officer.subject, outcome_note=body.note)
        .returning(col(RightsRequest.id))
    ).first()
    if closed is None:
        raise Conflict("This rights request was already closed.", slug="rights-request-closed")
    session.refresh(row)
    record(
        session,
        EntryDraft(
            kind=EntryKind.RIGHTS_REQUEST_HANDLED,
            occurred_at=now,
            actor=officer.subject,
            actor_role="privacy_officer",
            actor_org=officer.org,
            subject_hash=row.subject_hash,
            disclosure_id=row.disclosure_id,
            details={"rights_request_id": row.id, "kind": row.kind, "status": body.status},
        ),
    )
    return _officer_view(row, runtime)
