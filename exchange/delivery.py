"""The delivery port: what a delivery adapter takes from the outbox and how it reports back.

Adapters (`adapters.push` for webhooks, `adapters.email` for S/MIME and pickup notifications)
only move bytes to a partner; the outbox mechanics that make delivery exactly-once live here, once:

- `claim_due` takes due rows for the adapter's partners under a lease and a fencing token (one
  short transaction; on PostgreSQL `FOR UPDATE SKIP LOCKED`, so several processes share the
  outbox). The incremented `attempts` is the claim.
- `begin` renews the lease just before the adapter's network call, on condition that the claim
  is still this worker's, and hands over the message with its sealed content; a message that was
  acknowledged, erased or given up meanwhile is closed instead.
- `record_outcome` records what happened, outside the network call: a success runs the adapter's
  `on_success` (by default the acknowledgement, art. 8.2, written once whoever gets there first);
  a failure counts only if the claim is still this worker's, is retried with backoff, and after
  the last attempt (or at once when permanent) fails the message with its reason, visible to the
  sender (`GET /v1/disclosures/{id}`) and, as a `delivery_failed` entry, to the officer.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record
from exchange.crypto import PayloadUnavailable, PayloadVault
from exchange.envelope import OPEN_STATUSES, acknowledge, open_payload, schedule_payload_deletion, withheld
from exchange.models import Message, MessageStatus, OutboxItem, OutboxState
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime

BATCH_SIZE = 16

log = logging.getLogger("meerpunt.delivery")


def record_delivery_event(
    session: Session, message: Message, kind: str, *, at: dt.datetime, details: dict[str, Any]
) -> None:
    """Register what the gateway itself did about delivering a message (failed, notified by
    e-mail): the same facts of the message each time, with the event's own details."""
    record(
        session,
        EntryDraft(
            kind=kind,
            occurred_at=at,
            actor="gateway",
            actor_role="system",
            sender=message.sender,
            recipient=message.recipient,
            subject_hash=message.subject_hash,
            categories=message.categories,
            trace_id=message.trace_id,
            disclosure_id=message.id,
            details=details,
        ),
    )


_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]

#: What an adapter does in the outcome transaction when its delivery succeeded.
OnSuccess = Callable[[Session, Message, dt.datetime], None]


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): spreads retries of many messages."""
    return float(rng() * min(cap, base * (2 ** max(0, attempt - 1))))


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    message_id: str
    recipient: str
    attempts: int  # the claim: a later claim of the same row has a higher number


@dataclass(frozen=True)
class Retry:
    """An adapter's retry policy: attempts, backoff base and cap (seconds)."""

    max_attempts: int
    base_seconds: float
    max_seconds: float


def deliverable(at: dt.datetime) -> sa.ColumnElement[bool]:
    """An outbox row whose message may go out now: not held back by a restriction (art. 14)."""
    return ~sa.exists().where(col(Message.id) == col(OutboxItem.message_id), withheld(at))


def claim_due(
    runtime: Runtime,
    *,
    lease: dt.timedelta,
    recipients: Collection[str] | None = None,
    limit: int = BATCH_SIZE,
) -> list[Claimed]:
    """Take up to `limit` due rows (of `recipients` only, if given) under a lease (one short transaction)."""
    now = runtime.clock()
    with unit_of_work(runtime.engine) as session:
        query = select(OutboxItem).where(
            OutboxItem.state == OutboxState.PENDING,
            col(OutboxItem.next_attempt_at) <= now,
            deliverable(now),
        )
        if recipients is not None:
            if not recipients:
                return []
            query = query.where(col(OutboxItem.recipient).in_(sorted(recipients)))
        query = query.order_by(col(OutboxItem.id)).limit(limit)
        if not is_sqlite(runtime.engine):
            query = query.with_for_update(skip_locked=True, of=OutboxItem)
        claimed = []
        for row in session.exec(query).all():
            row.attempts += 1
            row.next_attempt_at = now + lease
            session.add(row)
            assert row.id is not None
            claimed.append(Claimed(row.id, row.message_id, row.recipient, row.attempts))
        return claimed


def ours(item: Claimed) -> sa.ColumnElement[bool]:
    """The row is still pending under this worker's claim (no later claim, no outcome yet)."""
    return sa.and_(
        _OUTBOX.c.id == item.outbox_id,
        _OUTBOX.c.attempts == item.attempts,
        _OUTBOX.c.state == OutboxState.PENDING,
    )


def renew(session: Session, runtime: Runtime, item: Claimed, lease: dt.timedelta) -> bool:
    """Extend the lease for the coming network call, if the row is still ours and may still go out."""
    now = runtime.clock()
    renewed = session.connection().execute(
        sa.update(_OUTBOX)
        .where(ours(item), deliverable(now))
        .values(next_attempt_at=now + lease)
        .returning(_OUTBOX.c.id)
    )
    return renewed.first() is not None


@dataclass(frozen=True)
class Delivery:
    """What an adapter sends: the message and its opened content (None once deleted).

    `unavailable` says the stored payload is there but cannot be opened (its KEK is not
    configured, or the row is damaged): the adapter sends nothing and records a retryable failure,
    so only this message waits while the others go out.
    """

    message: Message
    content: dict[str, Any] | None
    unavailable: PayloadUnavailable | None = None


def begin(runtime: Runtime, item: Claimed, lease: dt.timedelta) -> Delivery | None:
    """Renew the lease and open the message; None when it must not go out (any more)."""
    with unit_of_work(runtime.engine) as session:
        if not renew(session, runtime, item, lease):
            return None  # re-claimed by another worker, cancelled, or held back by a restriction
        message = session.exec(select(Message).where(Message.id == item.message_id)).first()
        if message is None:
            return None
        if message.status not in OPEN_STATUSES:
            # Acknowledged, erased or given up since it was queued: never hand it out (nor open it).
            close(session, item, message)
            return None
        try:
            content = open_payload(session, PayloadVault(runtime.kek), message.id)
        except PayloadUnavailable as exc:
            log.error("delivery to %s: %s", item.recipient, exc)
            session.expunge(message)
            return Delivery(message, None, exc)
        session.expunge(message)
        return Delivery(message, content)


def close(session: Session, item: Claimed, message: Message) -> None:
    state = OutboxState.DONE if message.status == MessageStatus.ACKNOWLEDGED else OutboxState.CANCELLED
    session.connection().execute(sa.update(_OUTBOX).where(ours(item)).values(state=state))


def acknowledge_on(channel: str, grace: dt.timedelta) -> OnSuccess:
    """The default success: the recipient's system took the message (art. 8.2)."""

    def on_success(session: Session, message: Message, at: dt.datetime) -> None:
        acknowledge(session, message, at=at, channel=channel, professional=None, grace=grace)

    return on_success


def record_outcome(
    runtime: Runtime,
    item: Claimed,
    *,
    ok: bool,
    error: str | None,
    retry: Retry,
    on_success: OnSuccess,
    permanent: bool = False,
) -> str:
    """Record a delivery's outcome; returns `delivered`, `retry`, `failed` or `superseded`."""
    now = runtime.clock()
    with unit_of_work(runtime.engine) as session:
        # The message row first, as the pull acknowledgement takes them: no lock-order deadlock.
        query = select(Message).where(Message.id == item.message_id)
        if not is_sqlite(runtime.engine):
            query = query.with_for_update()
        message = session.exec(query).first()
        if message is None:
            return "superseded"
        if ok:
            # Delivered is delivered, whoever's claim it was; `on_success` writes its entries once.
            on_success(session, message, now)
            return "delivered"
        final = permanent or item.attempts >= retry.max_attempts
        if final:
            values: dict[str, object] = {"state": OutboxState.FAILED}
        else:
            delay = backoff_delay(item.attempts, retry.base_seconds, retry.max_seconds)
            values = {"next_attempt_at": now + dt.timedelta(seconds=delay)}
        counted = session.connection().execute(
            sa.update(_OUTBOX).where(ours(item)).values(last_error=error, **values).returning(_OUTBOX.c.id)
        )
        if counted.first() is None:
            return "superseded"  # a later claim or an acknowledgement decides this message now
        message.last_error = error
        if final and message.status in OPEN_STATUSES:
            message.status = MessageStatus.FAILED
            # Never delivered: the payload is kept only for the grace period (SPEC §8).
            schedule_payload_deletion(
                session, message.id, now + dt.timedelta(days=runtime.settings.payload_grace_days)
            )
            record_delivery_event(
                session,
                message,
                EntryKind.DELIVERY_FAILED,
                at=now,
                details={"attempts": item.attempts, "last_error": error},
            )
        session.add(message)
        return "failed" if final else "retry"
