"""Push delivery: drain the outbox to partners' webhooks over mutual TLS, with retries.

Claiming uses a lease: one short transaction marks due rows as taken (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so several gateway processes share the outbox without taking the same
row), the HTTP call happens outside any transaction, and a second transaction records the outcome.
If a process dies between a successful POST and recording it, the lease expires and the message is
offered again with the same `Meerpunt-Message-Id`, which receivers use to drop the duplicate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client import Counter
from sqlalchemy import update
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record
from exchange.crypto import PayloadVault
from exchange.envelope import acknowledge, inbox_item, open_payload
from exchange.models import Message, MessageStatus, OutboxItem, OutboxState
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime
from gateway.tls import build_client_ssl_context

log = logging.getLogger("meerpunt.push")

PUSH_ATTEMPTS = Counter("meerpunt_push_attempts_total", "Push delivery attempts by outcome", ["outcome"])
LEASE = dt.timedelta(seconds=60)


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): spreads retries of many messages."""
    return float(rng() * min(cap, base * (2 ** max(0, attempt - 1))))


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    message_id: str
    recipient: str
    attempts: int


def claim_due(runtime: Runtime, *, limit: int = 16) -> list[Claimed]:
    """Take up to `limit` due push rows under a lease (one short transaction)."""
    now = runtime.clock()
    with unit_of_work(runtime.engine) as session:
        query = (
            select(OutboxItem)
            .where(OutboxItem.state == OutboxState.PENDING, col(OutboxItem.next_attempt_at) <= now)
            .order_by(col(OutboxItem.id))
            .limit(limit)
        )
        if not is_sqlite(runtime.engine):
            query = query.with_for_update(skip_locked=True)
        rows = session.exec(query).all()
        claimed = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            session.add(row)
            assert row.id is not None
            claimed.append(Claimed(row.id, row.message_id, row.recipient, row.attempts))
        return claimed


def envelope_for(
    runtime: Runtime, session: Session, message_id: str
) -> tuple[Message, dict[str, object]] | None:
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    if message is None:
        return None
    return message, inbox_item(message, open_payload(session, PayloadVault(runtime.kek), message_id))


def deliver_one(runtime: Runtime, client: httpx.Client, item: Claimed) -> bool:
    partner = runtime.partners.get(item.recipient)
    with unit_of_work(runtime.engine) as session:
        found = envelope_for(runtime, session, item.message_id)
    if found is None or partner is None or not partner.webhook_url:
        _record_outcome(runtime, item, ok=False, error="recipient has no webhook")
        return False
    _message, envelope = found
    try:
        response = client.post(
            partner.webhook_url,
            json=envelope,
            headers={"Meerpunt-Message-Id": item.message_id, "Idempotency-Key": item.message_id},
        )
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"
    _record_outcome(runtime, item, ok=ok, error=error)
    return ok


def _record_outcome(runtime: Runtime, item: Claimed, *, ok: bool, error: str | None) -> None:
    settings = runtime.settings
    now = runtime.clock()
    with unit_of_work(runtime.engine) as session:
        outbox = session.get(OutboxItem, item.outbox_id)
        message = session.exec(select(Message).where(Message.id == item.message_id)).first()
        if outbox is None or message is None or outbox.state != OutboxState.PENDING:
            return
        if ok:
            PUSH_ATTEMPTS.labels("delivered").inc()
            # A 2xx from the recipient's system is its acknowledgement (art. 8.2).
            acknowledge(
                session,
                message,
                at=now,
                channel="push",
                professional=None,
                grace=dt.timedelta(days=settings.payload_grace_days),
            )
            return
        outbox.last_error = error
        message.last_error = error
        if item.attempts >= settings.push_max_attempts:
            PUSH_ATTEMPTS.labels("failed").inc()
            outbox.state = OutboxState.FAILED
            message.status = MessageStatus.FAILED
            record(
                session,
                EntryDraft(
                    kind=EntryKind.DELIVERY_FAILED,
                    occurred_at=now,
                    actor="gateway",
                    actor_role="system",
                    sender=message.sender,
                    recipient=message.recipient,
                    subject_hash=message.subject_hash,
                    categories=message.categories,
                    trace_id=message.trace_id,
                    disclosure_id=message.id,
                    details={"attempts": item.attempts, "last_error": error},
                ),
            )
        else:
            PUSH_ATTEMPTS.labels("retry").inc()
            delay = backoff_delay(
                item.attempts, settings.push_backoff_base_seconds, settings.push_backoff_max_seconds
            )
            outbox.next_attempt_at = now + dt.timedelta(seconds=delay)
        session.add(outbox)
        session.add(message)


def purge_expired_payloads(runtime: Runtime) -> int:
    """Delete sealed payloads past their grace period (SPEC §8: kept only until acknowledged + grace)."""
    from exchange.models import StoredPayload

    with unit_of_work(runtime.engine) as session:
        result = session.execute(
            update(StoredPayload)
            .where(
                col(StoredPayload.delete_after) <= runtime.clock(),
                col(StoredPayload.wrapped_key).is_not(None),
            )
            .values(wrapped_key=None, ciphertext=b"")
        )
        return int(getattr(result, "rowcount", 0) or 0)


def pending_count(runtime: Runtime) -> int:
    """Push rows not yet delivered or failed (leased ones included)."""
    with unit_of_work(runtime.engine) as session:
        rows = session.exec(select(OutboxItem.id).where(OutboxItem.state == OutboxState.PENDING)).all()
        return len(rows)


def make_client(runtime: Runtime) -> httpx.Client:
    settings = runtime.settings
    context = build_client_ssl_context(
        str(settings.ca_file), str(settings.gateway_client_cert_file), str(settings.gateway_client_key_file)
    )
    return httpx.Client(verify=context, timeout=settings.push_timeout_seconds)


def drain_once(runtime: Runtime, client: httpx.Client) -> int:
    delivered = 0
    for item in claim_due(runtime):
        delivered += deliver_one(runtime, client, item)
    return delivered


async def push_worker(runtime: Runtime) -> None:
    """Background loop: drain due outbox rows, then sleep for the poll interval."""
    client = await asyncio.to_thread(make_client, runtime)
    try:
        cycles = 0
        while True:
            try:
                await asyncio.to_thread(drain_once, runtime, client)
                cycles += 1
                if cycles % 600 == 0:
                    await asyncio.to_thread(purge_expired_payloads, runtime)
            except Exception:  # keep delivering after a transient database error
                log.exception("push delivery cycle failed")
            await asyncio.sleep(runtime.settings.outbox_poll_seconds)
    finally:
        client.close()
