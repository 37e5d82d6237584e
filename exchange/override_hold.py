"""Vier-ogen (art. 7.6): holding an override for a second professional, approving it, expiring it.

A held override is registered (`override_held`, with the whole decision, art. 7.7) and announced
in the sender's own inbox at once, so colleagues know a second pair of eyes is needed. It is sent
only when another professional of the same partner approves it before the deadline; otherwise it
expires, which is registered and announced in the sender's inbox as well.

State changes are conditional UPDATEs (`… WHERE approval_status = 'awaiting'`): of two
simultaneous approvals, or an approval racing the expiry sweep, exactly one changes the row; the
other changes nothing and answers 409. On PostgreSQL the second UPDATE waits for the first
transaction and then finds no awaiting row; SQLite serialises writers at BEGIN IMMEDIATE.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record, rfc3339
from exchange.crypto import PayloadVault
from exchange.envelope import open_payload, store_payload
from exchange.models import Message, MessageKind, MessageStatus, Override
from exchange.override_rules import (
    CONFLICT_DETAILS,
    ConflictSlug,
    approval_conflict,
    approval_status_at,
    approval_violations,
)
from exchange.schemas import Professional
from exchange.sending import sign_receipt
from exchange.sent_records import enqueue, register_and_enqueue, sent_entry_draft
from gateway.db import unit_of_work
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken
from gateway.runtime import Runtime

_OVERRIDES: sa.Table = Override.__table__  # type: ignore[attr-defined]

HELD_NOTICE = "override awaiting approval"
EXPIRED_NOTICE = "override hold expired"


class ApprovalIn(BaseModel):
    professional: Professional


def load(session: Session, override_id: str) -> tuple[Override, Message]:
    override = session.get(Override, override_id)
    message = session.exec(select(Message).where(Message.id == override_id)).first()
    if override is None or message is None:
        raise NotFound("No such override.")
    return override, message


def transition(
    session: Session, override: Override, where: Mapping[str, object], values: Mapping[str, object]
) -> bool:
    """Change the override row only if it is still in the state `where` says; True if it was.

    The conditional UPDATE is what makes a check-then-act safe under concurrency: the state read
    earlier may be stale, the WHERE clause is not.
    """
    clauses = [_OVERRIDES.c.message_id == override.message_id]
    for column, expected in where.items():
        if isinstance(expected, tuple):
            clauses.append(_OVERRIDES.c[column].in_(expected))
        else:
            clauses.append(_OVERRIDES.c[column] == expected)
    result = session.connection().execute(sa.update(_OVERRIDES).where(*clauses).values(**values))
    changed = int(getattr(result, "rowcount", 0) or 0) == 1
    session.expire(override)  # the ORM copy is stale either way: reload on next access
    return changed


def notify_sender(
    session: Session,
    runtime: Runtime,
    message: Message,
    *,
    bsn: str,
    reason: str,
    description: str,
    at: dt.datetime,
) -> str:
    """A notice in the sending partner's own inbox about its override (as a declined request's notice).

    The sender is the partner itself: the notice is the gateway telling the organisation about its
    own decision, so colleagues on the case (and the approver) see it in their case system.
    """
    notice = Message(
        id=str(uuid.uuid4()),
        kind=MessageKind.NOTICE,
        sender=message.sender,
        recipient=message.sender,
        subject_hash=message.subject_hash,
        categories=list(message.categories),
        reason=reason,
        description=description,
        professional=message.professional,
        legal_basis={"type": "notice"},
        in_reply_to=message.id,
        status=MessageStatus.ACCEPTED,
        created_at=at,
        trace_id=message.trace_id,
    )
    session.add(notice)
    session.flush()
    store_payload(session, PayloadVault(runtime.kek), notice, bsn=bsn, payload_jwe=None)
    enqueue(session, runtime, notice, at=at)
    return notice.id


def hold(session: Session, runtime: Runtime, message: Message, *, bsn: str, at: dt.datetime) -> RegisterEntry:
    """Register a held override (`override_held`) and tell the sender; returns the entry.

    The would-be recipient has received nothing, so it is named in the details, not in the
    `recipient` column that makes an entry visible to that organisation.
    """
    deadline = at + dt.timedelta(seconds=runtime.settings.override_hold_seconds)
    notice_id = notify_sender(
        session,
        runtime,
        message,
        bsn=bsn,
        reason=(
            "Override awaiting approval by a second professional of your organisation "
            f"(vier-ogen, art. 7.6) until {rfc3339(deadline)}; nothing is sent before that."
        ),
        description=HELD_NOTICE,
        at=at,
    )
    # The entry the disclosure would get, minus the recipient, with the hold in its details.
    entry = record(
        session,
        replace(
            sent_entry_draft(message, at=at),
            kind=EntryKind.OVERRIDE_HELD,
            recipient=None,
            details={
                "intended_recipient": message.recipient,
                "approval_deadline": rfc3339(deadline),
                "payload_sha256": message.payload_sha256,
                "notice_id": notice_id,
            },
        ),
    )
    return entry


def approve(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, override_id: str, body: ApprovalIn
) -> dict[str, Any]:
    """Vier-ogen (art. 7.6): a second professional of the same partner releases a held override."""
    override, message = load(session, override_id)
    if override.partner != caller.oin:
        raise NotFound("No such override of your organisation.")
    now = runtime.clock()
    conflict = approval_conflict(
        approval_status_at(override.approval_status, override.approval_deadline, now)
    )
    if conflict is ConflictSlug.HOLD_EXPIRED:
        # Past its deadline: record the expiry now (if the sweep has not), and let it stand.
        expire(session, runtime, override, message, now)
        raise problem(conflict, commit=True)
    if conflict is not None:
        raise problem(conflict)
    requester = override.professional
    violations = approval_violations(
        requester_id=str(requester.get("id", "")),
        requester_name=str(requester.get("name", "")),
        approver_id=body.professional.id,
        approver_name=body.professional.name,
        requester_partner=override.partner,
        approver_partner=caller.oin,
    )
    if violations:
        raise RuleBroken(
            "The approval breaks the vier-ogen rule.",
            violations=violations,
        )
    approver = body.professional.model_dump()
    if not transition(
        session,
        override,
        {"approval_status": "awaiting"},
        {"approval_status": "approved", "approved_by": approver, "approved_at": now},
    ):
        # Someone else approved it (or the sweep expired it) since we read it.
        raise problem(approval_conflict(override.approval_status) or ConflictSlug.NOT_AWAITING_APPROVAL)
    message.status = MessageStatus.ACCEPTED
    session.add(message)
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
            professional=approver,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={"requested_by": requester},
        ),
    )
    entry = register_and_enqueue(session, runtime, message, at=now)
    message.register_entry_id = entry.id
    message.receipt = sign_receipt(runtime, message, accepted_at=now, entry=entry)
    session.add(message)
    return {
        "id": message.id,
        "status": message.status,
        "register_entry": entry.id,
        "receipt": message.receipt,
    }


def problem(slug: ConflictSlug, *, commit: bool = False) -> Conflict:
    """The 409 answer for a follow-up action that does not fit the override's state."""
    return Conflict(CONFLICT_DETAILS[slug], slug=slug, commit=commit)


def expire(
    session: Session, runtime: Runtime, override: Override, message: Message, now: dt.datetime
) -> bool:
    """Expire a held override past its deadline: register it and tell the sender. False if not held."""
    deadline = override.approval_deadline
    if not transition(
        session,
        override,
        {"approval_status": "awaiting"},
        {"approval_status": "expired"},
    ):
        return False
    message.status = MessageStatus.EXPIRED
    session.add(message)
    content = open_payload(session, PayloadVault(runtime.kek), message.id)
    notice_id = notify_sender(
        session,
        runtime,
        message,
        bsn=content["bsn"] if content else "",
        reason=(
            "Override expired: no second professional approved it before "
            f"{rfc3339(deadline) if deadline else 'the deadline'} (vier-ogen, art. 7.6). Nothing was sent; "
            "send it again if it is still needed."
        ),
        description=EXPIRED_NOTICE,
        at=now,
    )
    record(
        session,
        EntryDraft(
            kind=EntryKind.DISCLOSURE_EXPIRED,
            occurred_at=now,
            actor="gateway",
            actor_role="system",
            sender=message.sender,
            subject_hash=message.subject_hash,
            categories=message.categories,
            legal_basis=message.legal_basis,
            professional=message.professional,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details={
                "reason": "vier-ogen approval not given in time; not sent",
                # Not the `recipient` column: that organisation never received anything.
                "intended_recipient": message.recipient,
                "approval_deadline": rfc3339(deadline) if deadline else None,
                "notice_id": notice_id,
            },
        ),
    )
    return True


def expire_held(session: Session, runtime: Runtime, now: dt.datetime) -> int:
    """Expire every hold past its deadline (each by its own conditional UPDATE); returns how many."""
    due = session.exec(
        select(Override.message_id).where(
            col(Override.approval_status) == "awaiting", col(Override.approval_deadline) <= now
        )
    ).all()
    expired = 0
    for override_id in due:
        override, message = load(session, override_id)
        expired += expire(session, runtime, override, message, now)
    return expired


def sweep(runtime: Runtime) -> int:
    with unit_of_work(runtime.engine) as session:
        return expire_held(session, runtime, runtime.clock())


async def override_worker(runtime: Runtime) -> None:
    """Background loop: record expired holds and tell their senders, every `override_sweep_seconds`.

    Reads never wait for it: every status derives `expired` from the deadline at once.
    """
    from gateway.workers import in_thread, repeat

    await repeat(
        "override sweep",
        lambda: in_thread(sweep, runtime),
        lambda: runtime.settings.override_sweep_seconds,
    )
