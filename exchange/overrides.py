"""Follow-up of overrides (art. 7): vier-ogen approval, informing the subject, officer review.

An override skips the consent decision and nothing else; this module keeps the obligations it
opens visible until they are met: a held override waits for a second professional (art. 7.6), a
planned notice to the subject waits to be done (art. 7.4), every override waits for review by a
privacy officer (art. 7.7).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record, rfc3339
from exchange.inbox import decode_cursor, encode_cursor
from exchange.models import Message, MessageStatus, Override
from exchange.override_rules import approval_violations, is_hold_expired, is_obligation_overdue
from exchange.schemas import Professional
from exchange.sending import register_and_enqueue
from gateway.principals import OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import Conflict, Forbidden, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

OVERRIDE_REVIEWS = Counter("meerpunt_override_reviews_total", "Override reviews by verdict", ["verdict"])
OVERRIDES_OVERDUE = Gauge(
    "meerpunt_overrides_inform_overdue", "Overrides whose subject was not informed in time"
)

StatusFilter = Literal["awaiting_approval", "pending_review", "reviewed", "overdue", "expired", "all"]


class ApprovalIn(BaseModel):
    professional: Professional


class SubjectInformedIn(BaseModel):
    informed_at: dt.datetime
    how: str = Field(min_length=1, max_length=2000)
    by: str = Field(min_length=1, max_length=200)


class ReviewIn(BaseModel):
    verdict: Literal["justified", "not_justified"]
    note: str = Field(default="", max_length=10000)


def scoped_overrides(viewer: Principal) -> ColumnElement[bool]:
    """The one scoping rule for overrides, like the register's: own organisation, central sees all."""
    if isinstance(viewer, OfficerPrincipal):
        if viewer.is_central:
            return true()
        return or_(col(Override.partner) == viewer.org, col(Override.recipient) == viewer.org)
    if isinstance(viewer, PartnerPrincipal):
        return col(Override.partner) == viewer.oin
    return false()


def _status_clause(status: StatusFilter, runtime: Runtime, now: dt.datetime) -> ColumnElement[bool]:
    overdue_before = now - dt.timedelta(days=runtime.settings.override_inform_overdue_days)
    clauses: dict[str, ColumnElement[bool]] = {
        "awaiting_approval": col(Override.approval_status) == "awaiting",
        "pending_review": and_(
            col(Override.review_status) == "pending_review", col(Override.approval_status) != "expired"
        ),
        "reviewed": col(Override.review_status) == "reviewed",
        "overdue": and_(
            col(Override.inform_status) == "planned",
            col(Override.created_at) < overdue_before,
            col(Override.approval_status) != "expired",
        ),
        "expired": col(Override.approval_status) == "expired",
        "all": true(),
    }
    return clauses[status]


def override_view(
    override: Override, message: Message | None, runtime: Runtime, now: dt.datetime
) -> dict[str, Any]:
    overdue = override.inform_status == "planned" and is_obligation_overdue(
        override.created_at, override.informed_at, now, runtime.settings.override_inform_overdue_days
    )
    return {
        "id": override.message_id,
        "disclosure_id": override.message_id,
        "partner": override.partner,
        "recipient": override.recipient,
        "legal_basis": message.legal_basis
        if message
        else {"type": override.basis_type, "ground": override.ground},
        "ground": override.ground,
        "status": message.status if message else None,
        "created_at": rfc3339(override.created_at),
        "professional": override.professional,
        "approval": {
            "status": override.approval_status,
            "deadline": rfc3339(override.approval_deadline) if override.approval_deadline else None,
            "approved_by": override.approved_by,
            "approved_at": rfc3339(override.approved_at) if override.approved_at else None,
        },
        "inform_subject": {
            "status": override.inform_status,
            "overdue": overdue,
            "informed_at": rfc3339(override.informed_at) if override.informed_at else None,
            "how": override.informed_how,
            "by": override.informed_by,
        },
        "review": {
            "status": override.review_status,
            "verdict": override.verdict,
            "note": override.review_note,
            "reviewed_by": override.reviewed_by,
            "reviewed_at": rfc3339(override.reviewed_at) if override.reviewed_at else None,
        },
        "categories": list(message.categories) if message else [],
        "reason": message.reason if message else None,
    }


def list_overrides(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    status: StatusFilter,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    if not isinstance(viewer, OfficerPrincipal | PartnerPrincipal):
        raise Forbidden(
            "The override queue is for privacy officers and partner systems.", slug="officer-required"
        )
    now = runtime.clock()
    expire_held(session, runtime, now)
    after = decode_cursor(cursor)
    rows = session.exec(
        select(Override, Message)
        .join(Message, col(Message.id) == col(Override.message_id))
        .where(scoped_overrides(viewer), _status_clause(status, runtime, now), col(Message.seq) > after)
        .order_by(col(Message.seq))
        .limit(limit + 1)
    ).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": [override_view(o, m, runtime, now) for o, m in page],
        "next_cursor": encode_cursor(page[-1][1].seq or 0) if more and page else None,
    }


def _load(session: Session, override_id: str) -> tuple[Override, Message]:
    override = session.get(Override, override_id)
    message = session.exec(select(Message).where(Message.id == override_id)).first()
    if override is None or message is None:
        raise NotFound("No such override.")
    return override, message


def approve(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, override_id: str, body: ApprovalIn
) -> dict[str, Any]:
    """Vier-ogen (art. 7.6): a second professional of the same partner releases a held override."""
    override, message = _load(session, override_id)
    if override.partner != caller.oin:
        raise NotFound("No such override of your organisation.")
    now = runtime.clock()
    if override.approval_status == "awaiting" and is_hold_expired(
        override.created_at, now, runtime.settings.override_hold_seconds
    ):
        _expire(session, override, message, now)
        raise Conflict(
            "The hold expired before approval; nothing was sent. Send again if still needed.",
            slug="override-hold-expired",
            commit=True,  # the expiry and its register entry stand
        )
    if override.approval_status != "awaiting":
        raise Conflict(
            f"This override is not awaiting approval (status {override.approval_status}).",
            slug="override-not-awaiting-approval",
        )
    violations = approval_violations(
        str(override.professional.get("id", "")), body.professional.id, override.partner, caller.oin
    )
    if violations:
        raise RuleBroken(
            "The approval breaks the vier-ogen rule.",
            violations=[RuleViolation(v.code, v.article, v.message) for v in violations],
        )
    override.approval_status = "approved"
    override.approved_by = body.professional.model_dump()
    override.approved_at = now
    message.status = MessageStatus.ACCEPTED
    record(
        session,
        EntryDraft(
            kind=EntryKind.DISCLOSURE_APPROVED,
            occurred_at=now,
            actor=caller.oin,
            actor_role="partner",
            actor_org=caller.oin,
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            legal_basis=message.legal_basis,
            professional=body.professional.model_dump(),
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"requested_by": override.professional},
        ),
    )
    message.register_entry_id = register_and_enqueue(session, runtime, message, at=now)
    session.add(override)
    session.add(message)
    return {"id": message.id, "status": message.status, "register_entry": message.register_entry_id}


def _expire(session: Session, override: Override, message: Message, now: dt.datetime) -> None:
    override.approval_status = "expired"
    message.status = MessageStatus.EXPIRED
    session.add(override)
    session.add(message)
    record(
        session,
        EntryDraft(
            kind=EntryKind.DISCLOSURE_EXPIRED,
            occurred_at=now,
            actor="gateway",
            actor_role="system",
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            legal_basis=message.legal_basis,
            professional=message.professional,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"reason": "vier-ogen approval not given in time; not sent"},
        ),
    )


def expire_held(session: Session, runtime: Runtime, now: dt.datetime) -> int:
    held = session.exec(
        select(Override).where(
            col(Override.approval_status) == "awaiting", col(Override.approval_deadline) <= now
        )
    ).all()
    for override in held:
        _, message = _load(session, override.message_id)
        _expire(session, override, message, now)
    return len(held)


def subject_informed(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, override_id: str, body: SubjectInformedIn
) -> dict[str, Any]:
    """Art. 7.4: the sender records that (and how, and by whom) the subject was informed."""
    override, message = _load(session, override_id)
    if override.partner != caller.oin:
        raise NotFound("No such override of your organisation.")
    if override.inform_status == "informed":
        raise Conflict("The subject was already recorded as informed.", slug="already-informed")
    if override.basis_type != "override":
        raise Conflict("Only overrides carry an obligation to inform (art. 7.4).", slug="not-an-override")
    now = runtime.clock()
    if body.informed_at.utcoffset() is None or body.informed_at > now + dt.timedelta(minutes=5):
        raise RuleBroken(
            "informed_at must be an RFC 3339 time, not in the future.",
            violations=[RuleViolation("informed_at_invalid", "7.4", "informed_at is in the future")],
        )
    override.inform_status = "informed"
    override.informed_at = body.informed_at
    override.informed_how = body.how
    override.informed_by = body.by
    session.add(override)
    entry = record(
        session,
        EntryDraft(
            kind=EntryKind.SUBJECT_INFORMED,
            occurred_at=now,
            actor=caller.oin,
            actor_role="partner",
            actor_org=caller.oin,
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"informed_at": rfc3339(body.informed_at), "how": body.how, "by": body.by},
        ),
    )
    return {"id": override.message_id, "inform_subject": "informed", "register_entry": entry.id}


def review(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, override_id: str, body: ReviewIn
) -> dict[str, Any]:
    """Art. 7.7: a privacy officer judges the recorded decision: justified or not justified."""
    override, message = _load(session, override_id)
    if not (officer.is_central or officer.org in (override.partner, override.recipient)):
        raise NotFound("No such override in your organisation.")
    if officer.org == override.recipient and not officer.is_central and officer.org != override.partner:
        raise Forbidden(
            "Only the sending partner's officer or the central officer reviews an override.",
            slug="review-not-allowed",
        )
    if not body.note.strip():
        raise RuleBroken(
            "A review needs a note explaining the verdict.",
            violations=[RuleViolation("note_missing", "7.7", "note is empty")],
        )
    now = runtime.clock()
    override.review_status = "reviewed"
    override.verdict = body.verdict
    override.review_note = body.note
    override.reviewed_by = officer.subject
    override.reviewed_at = now
    session.add(override)
    entry = record(
        session,
        EntryDraft(
            kind=EntryKind.OVERRIDE_REVIEWED,
            occurred_at=now,
            actor=officer.subject,
            actor_role="privacy_officer",
            actor_org=None if officer.is_central else officer.org,
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            legal_basis=message.legal_basis,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"verdict": body.verdict, "note": body.note},
        ),
    )
    OVERRIDE_REVIEWS.labels(body.verdict).inc()
    return {
        "id": override.message_id,
        "review": "reviewed",
        "verdict": body.verdict,
        "register_entry": entry.id,
    }


def refresh_overdue_gauge(session: Session, runtime: Runtime) -> None:
    now = runtime.clock()
    overdue = session.exec(select(Override.message_id).where(_status_clause("overdue", runtime, now))).all()
    OVERRIDES_OVERDUE.set(len(overdue))
