"""Follow-up of overrides (art. 7): the review queue, informing the subject, officer review.

An override skips the consent decision and nothing else; this module keeps the obligations it
opens visible until they are met: a planned notice to the subject waits to be done (art. 7.4),
every disclosed override waits for one, final review by a privacy officer (art. 7.7). Holding an
override for a second professional (art. 7.6) lives in `exchange.override_hold`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record, record_read, rfc3339
from exchange import inbox
from exchange.inbox import decode_cursor, encode_cursor
from exchange.models import Message, MessageStatus, Override
from exchange.override_hold import load, problem, transition
from exchange.override_rules import (
    SENT,
    ConflictSlug,
    approval_status_at,
    inform_conflict,
    is_obligation_overdue,
    parse_moment,
    review_conflict,
    review_violations,
    subject_informed_violations,
)
from exchange.schemas import MomentText, Professional
from gateway.principals import OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import Forbidden, NotFound, RuleBroken
from gateway.runtime import Runtime

StatusFilter = Literal["awaiting_approval", "pending_review", "reviewed", "overdue", "expired", "all"]


class SubjectInformedIn(BaseModel):
    """Art. 7.4: when (RFC 3339 with offset), how and by whom the subject was informed."""

    informed_at: MomentText = None
    how: str | None = Field(default=None, max_length=2000)
    by: str | None = Field(default=None, max_length=200)
    #: The acting professional who records it (SPEC §5), stored with the register entry.
    professional: Professional | None = None


class ReviewIn(BaseModel):
    verdict: Literal["justified", "not_justified"]
    note: str = Field(default="", max_length=10000)


def scoped_overrides(viewer: Principal) -> ColumnElement[bool]:
    """The one scoping rule for the override queue: the overrides the viewer's organisation sent.

    A partner's officer reviews their own organisation's decisions; the central officer sees all.
    The recipient's officer finds a received override in the register, but does not review it.
    """
    if isinstance(viewer, OfficerPrincipal):
        if viewer.is_central:
            return true()
        return col(Override.partner) == viewer.org
    if isinstance(viewer, PartnerPrincipal):
        return col(Override.partner) == viewer.oin
    return false()


def hold_expired_clause(now: dt.datetime) -> ColumnElement[bool]:
    """`approval_status_at` in SQL: a hold past its deadline is expired, whether or not the sweep
    recorded it yet (art. 7.6)."""
    return and_(col(Override.approval_status) == "awaiting", col(Override.approval_deadline) <= now)


def inform_overdue_clause(now: dt.datetime, overdue_days: int) -> ColumnElement[bool]:
    """`is_obligation_overdue` in SQL, for disclosed overrides whose informing is still planned
    (art. 7.4); the queue's `overdue` and the overdue metric both use it, so they agree."""
    return and_(
        col(Override.inform_status) == "planned",
        col(Override.created_at) < now - dt.timedelta(days=overdue_days),
        col(Override.approval_status).in_(SENT),
    )


def _status_clause(status: StatusFilter, runtime: Runtime, now: dt.datetime) -> ColumnElement[bool]:
    clauses: dict[str, ColumnElement[bool]] = {
        "awaiting_approval": and_(
            col(Override.approval_status) == "awaiting", col(Override.approval_deadline) > now
        ),
        "pending_review": and_(
            col(Override.review_status) == "pending_review", col(Override.approval_status).in_(SENT)
        ),
        "reviewed": col(Override.review_status) == "reviewed",
        "overdue": inform_overdue_clause(now, runtime.settings.override_inform_overdue_days),
        "expired": or_(col(Override.approval_status) == "expired", hold_expired_clause(now)),
        "all": true(),
    }
    return clauses[status]


def override_view(
    override: Override, message: Message, runtime: Runtime, now: dt.datetime, viewer: Principal
) -> dict[str, Any]:
    approval = approval_status_at(override.approval_status, override.approval_deadline, now)
    overdue = (
        override.inform_status == "planned"
        and approval in SENT
        and is_obligation_overdue(
            override.created_at, override.informed_at, now, runtime.settings.override_inform_overdue_days
        )
    )
    legal_basis = message.legal_basis
    status = MessageStatus.EXPIRED if approval == "expired" else message.status
    return {
        "id": override.message_id,
        "disclosure_id": override.message_id,
        "partner": override.partner,
        "recipient": override.recipient,
        "legal_basis": legal_basis,
        "ground": override.ground,
        "refusal_on_record": legal_basis.get("refusal_on_record"),
        "status": status,
        "created_at": rfc3339(override.created_at),
        "professional": override.professional,
        "approval": {
            "status": approval,
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
        "reviewable": _may_review(viewer, override)
        and review_conflict(approval, override.review_status) is None,
        "categories": list(message.categories),
        "reason": message.reason,
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
    after = decode_cursor(cursor)
    rows = session.exec(
        select(Override, Message)
        .join(Message, col(Message.id) == col(Override.message_id))
        .where(scoped_overrides(viewer), _status_clause(status, runtime, now), col(Message.seq) > after)
        .order_by(col(Message.seq))
        .limit(limit + 1)
    ).all()
    page, more = rows[:limit], len(rows) > limit
    # The queue shows justifications and the professionals involved: a registered read (art. 8,
    # 18.3; NEN 7513), like every read of the register itself.
    record_read(
        session,
        viewer,
        at=now,
        action="override_queue",
        query={"status": status, "cursor": cursor},
        returned=len(page),
        entry_ids=[m.register_entry_id for _, m in page if m.register_entry_id],
    )
    return {
        "items": [override_view(o, m, runtime, now, viewer) for o, m in page],
        "next_cursor": encode_cursor(page[-1][1].seq or 0) if more and page else None,
    }


def override_detail(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, override_id: str
) -> dict[str, Any]:
    """One override in the officer's queue (their organisation sent it; central: any), with the
    justification, the conditions and who was consulted: a registered read (art. 8, 18.3)."""
    override = session.get(Override, override_id)
    if override is None or not _may_review(officer, override):
        raise NotFound("No such override in your organisation.")
    override, message = load(session, override_id)
    record_read(
        session,
        officer,
        at=runtime.clock(),
        action="override",
        subject_hash=message.subject_hash,
        entry_ids=[message.register_entry_id] if message.register_entry_id else (),
    )
    return override_view(override, message, runtime, runtime.clock(), officer)


def disclosure_status(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, disclosure_id: str
) -> dict[str, Any]:
    """`GET /v1/disclosures/{id}`, with a held override shown `expired` from its deadline on."""
    status = inbox.disclosure_status(session, caller, disclosure_id)
    if status["status"] == MessageStatus.AWAITING_APPROVAL:
        override = session.get(Override, disclosure_id)
        if override is not None:
            approval = approval_status_at(
                override.approval_status, override.approval_deadline, runtime.clock()
            )
            if approval == "expired":
                status["status"] = MessageStatus.EXPIRED
            status["approval_deadline"] = (
                rfc3339(override.approval_deadline) if override.approval_deadline else None
            )
    return status


def subject_informed(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, override_id: str, body: SubjectInformedIn
) -> dict[str, Any]:
    """Art. 7.4: the sender records that (and how, and by whom) the subject was informed."""
    override, message = load(session, override_id)
    if override.partner != caller.oin:
        raise NotFound("No such override of your organisation.")
    now = runtime.clock()
    approval = approval_status_at(override.approval_status, override.approval_deadline, now)
    conflict = inform_conflict(override.basis_type, approval, override.inform_status)
    if conflict is not None:
        raise problem(conflict)
    violations = subject_informed_violations(
        body.informed_at, body.how, body.by, decided_at=override.created_at, at=now
    )
    if violations:
        raise RuleBroken(
            "The record of informing the subject is incomplete (art. 7.4).",
            violations=violations,
        )
    informed_at, _ = parse_moment(body.informed_at)
    assert informed_at is not None  # checked by subject_informed_violations
    if not transition(
        session,
        override,
        {"inform_status": "planned", "approval_status": SENT},
        {
            "inform_status": "informed",
            "informed_at": informed_at,
            "informed_how": body.how,
            "informed_by": body.by,
        },
    ):
        raise problem(
            inform_conflict(override.basis_type, override.approval_status, override.inform_status)
            or ConflictSlug.ALREADY_INFORMED
        )
    professional = body.professional.model_dump() if body.professional else None
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
            professional=professional,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"informed_at": rfc3339(informed_at), "how": body.how, "by": body.by},
        ),
    )
    return {"id": override.message_id, "inform_subject": "informed", "register_entry": entry.id}


def _may_review(viewer: Principal, override: Override) -> bool:
    return isinstance(viewer, OfficerPrincipal) and (viewer.is_central or viewer.org == override.partner)


def review(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, override_id: str, body: ReviewIn
) -> dict[str, Any]:
    """Art. 7.7: a privacy officer judges the recorded decision, once: justified or not justified."""
    override, message = load(session, override_id)
    if not _may_review(officer, override):
        # A held or expired override reached nobody: to the intended recipient it does not exist.
        if officer.org == override.recipient and override.approval_status in SENT:
            raise Forbidden(
                "Only the sending partner's officer or the central officer reviews an override.",
                slug="review-not-allowed",
            )
        raise NotFound("No such override in your organisation.")
    now = runtime.clock()
    approval = approval_status_at(override.approval_status, override.approval_deadline, now)
    conflict = review_conflict(approval, override.review_status)
    if conflict is not None:
        raise problem(conflict)
    violations = review_violations(body.note)
    if violations:
        raise RuleBroken(
            "A review needs a note explaining the verdict.",
            violations=violations,
        )
    if not transition(
        session,
        override,
        {"review_status": "pending_review", "approval_status": SENT},
        {
            "review_status": "reviewed",
            "verdict": body.verdict,
            "review_note": body.note,
            "reviewed_by": officer.subject,
            "reviewed_at": now,
        },
    ):
        # A simultaneous review won.
        raise problem(
            review_conflict(override.approval_status, override.review_status) or ConflictSlug.ALREADY_REVIEWED
        )
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
    return {
        "id": override.message_id,
        "review": "reviewed",
        "verdict": body.verdict,
        "register_entry": entry.id,
    }
