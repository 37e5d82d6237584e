"""Push delivery: drain the outbox to partners' webhooks over mutual TLS, with retries.

Claiming uses a lease and a fencing token. One short transaction takes due rows (on PostgreSQL
with `FOR UPDATE SKIP LOCKED`, so several gateway processes share the outbox without taking the
same row) and increments each row's `attempts`: that number is the claim. Just before each POST
the worker renews the row's lease, on condition that `attempts` is still its claim; if another
worker has re-claimed the row meanwhile (because this batch ran long), the renewal matches nothing
and the row is skipped, so a slow batch never delivers a message twice. The HTTP call happens
outside any transaction, and a last transaction records the outcome: a 2xx acknowledges the
message (one recipient-side entry, whoever gets there first), a failure counts only if the claim
is still this worker's.

Only if one POST outlives its whole lease (`lease_for`) can a message be offered twice; it carries
the same `Meerpunt-Message-Id`, which receivers use to drop the duplicate, and it is still
registered once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx
import sqlalchemy as sa
from prometheus_client import Counter
from sqlmodel import select

from audit.service import traceparent
from exchange import delivery
from exchange.delivery import Claimed, Retry, backoff_delay
from exchange.envelope import OPEN_STATUSES, inbox_item
from exchange.models import Message, MessageStatus, OutboxItem, OutboxState, StoredPayload
from gateway.db import unit_of_work
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.tls import build_client_ssl_context

__all__ = ["Claimed", "backoff_delay", "claim_due", "deliver_one", "drain_once", "push_worker"]

log = logging.getLogger("meerpunt.push")

PUSH_ATTEMPTS = Counter("meerpunt_push_attempts_total", "Push delivery attempts by outcome", ["outcome"])
LEASE_MARGIN = dt.timedelta(seconds=30)
BATCH_SIZE = delivery.BATCH_SIZE
#: A 4xx means the recipient's system refuses this envelope and would refuse it again: the message
#: fails at once. These three say "not now" instead and are retried like a 5xx.
RETRIED_4XX = frozenset({408, 425, 429})
#: How often the workers purge payloads past their retention (held overrides expire in
#: `exchange.override_hold.override_worker`, which only the API processes run).
HOUSEKEEPING_INTERVAL_SECONDS = 300.0

_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]
_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]


def lease_for(settings: Settings) -> dt.timedelta:
    """How long a claimed row stays this worker's: one POST, whose connect, write and read are each
    bounded by `push_timeout_seconds`, plus a margin. Renewed before every POST."""
    return dt.timedelta(seconds=3 * settings.push_timeout_seconds) + LEASE_MARGIN


def _retry(settings: Settings) -> Retry:
    return Retry(
        settings.push_max_attempts, settings.push_backoff_base_seconds, settings.push_backoff_max_seconds
    )


def _push_partners(runtime: Runtime) -> list[str]:
    # Not pull or e-mail partners: their rows are in the inbox or belong to the e-mail adapter.
    return [p.oin for p in runtime.partners if p.delivery == "push"]


def claim_due(runtime: Runtime, *, limit: int = BATCH_SIZE) -> list[Claimed]:
    """Take up to `limit` due push rows under a lease (one short transaction, `exchange.delivery`)."""
    return delivery.claim_due(
        runtime, lease=lease_for(runtime.settings), recipients=_push_partners(runtime), limit=limit
    )


def deliver_one(runtime: Runtime, client: httpx.Client, item: Claimed) -> bool:
    partner = runtime.partners.get(item.recipient)
    started = delivery.begin(runtime, item, lease_for(runtime.settings))
    if started is None:
        return False
    message = started.message
    if partner is None or not partner.webhook_url:
        _record_outcome(runtime, item, ok=False, error="recipient has no webhook")
        return False
    envelope = inbox_item(message, started.content)
    headers = {
        "Meerpunt-Message-Id": item.message_id,
        "Idempotency-Key": item.message_id,
        # W3C trace context: the receiving system's logs join the sender's and the register's.
        "traceparent": traceparent(message.trace_id),
    }
    try:
        response = client.post(partner.webhook_url, json=envelope, headers=headers)
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        refused = 400 <= response.status_code < 500 and response.status_code not in RETRIED_4XX
    except httpx.HTTPError as exc:  # timeouts, refused connections, TLS failures: try again later
        ok, error, refused = False, f"{type(exc).__name__}: {exc}", False
    _record_outcome(runtime, item, ok=ok, error=error, permanent=refused)
    return ok


def _record_outcome(
    runtime: Runtime, item: Claimed, *, ok: bool, error: str | None, permanent: bool = False
) -> None:
    """Record a POST's outcome: a 2xx acknowledges (art. 8.2); a failure is retried with backoff, or
    fails the message after `push_max_attempts` (or at once when `permanent`)."""
    settings = runtime.settings
    outcome = delivery.record_outcome(
        runtime,
        item,
        ok=ok,
        error=error,
        permanent=permanent,
        retry=_retry(settings),
        # A 2xx from the recipient's system is its acknowledgement (art. 8.2).
        on_success=delivery.acknowledge_on("push", dt.timedelta(days=settings.payload_grace_days)),
    )
    if outcome != "superseded":
        PUSH_ATTEMPTS.labels(outcome).inc()


def purge_expired_payloads(runtime: Runtime) -> int:
    """Delete sealed payloads, and the BSN sealed with them, once no longer needed (SPEC §8).

    - acknowledged, failed or declined messages: at their `delete_after` (that moment plus
      `payload_grace_days`);
    - messages still not acknowledged `inbox_retention_days` after they were queued: they become
      `purged` (the sender sees it in `GET /v1/disclosures/{id}`), leave the inbox and the push
      queue, and their payload goes at once;
    - any other message older than the retention whose payload has no `delete_after` (an expired
      held override, rows from before this rule): its payload goes too.
    Returns the number of payloads deleted. Several workers may run it at once.
    """
    now = runtime.clock()
    days = runtime.settings.inbox_retention_days
    cutoff = now - dt.timedelta(days=days)
    waiting = (OutboxState.IN_INBOX, OutboxState.PENDING)
    note = f"not acknowledged within {days} days (inbox retention); payload deleted"
    with unit_of_work(runtime.engine) as session:
        connection = session.connection()
        # Messages first, then outbox rows, as the acknowledgement takes them (lock order).
        stale = sa.select(_OUTBOX.c.message_id).where(
            _OUTBOX.c.state.in_(waiting), _OUTBOX.c.next_attempt_at <= cutoff
        )
        connection.execute(
            sa.update(_MESSAGES)
            .where(_MESSAGES.c.status.in_(OPEN_STATUSES), _MESSAGES.c.id.in_(stale))
            .values(status=MessageStatus.PURGED, last_error=note)
        )
        purged = sa.exists().where(
            _MESSAGES.c.id == _OUTBOX.c.message_id, _MESSAGES.c.status == MessageStatus.PURGED
        )
        connection.execute(
            sa.update(_OUTBOX)
            .where(_OUTBOX.c.state.in_(waiting), _OUTBOX.c.next_attempt_at <= cutoff, purged)
            .values(state=OutboxState.CANCELLED, last_error=note)
        )
        unattended = sa.exists().where(
            _MESSAGES.c.id == _PAYLOADS.c.message_id,
            _MESSAGES.c.created_at <= cutoff,
            _MESSAGES.c.status.not_in((MessageStatus.AWAITING_APPROVAL, *OPEN_STATUSES)),
        )
        result = connection.execute(
            sa.update(_PAYLOADS)
            .where(
                _PAYLOADS.c.wrapped_key.is_not(None),
                sa.or_(
                    _PAYLOADS.c.delete_after <= now,
                    sa.and_(_PAYLOADS.c.delete_after.is_(None), unattended),
                ),
            )
            .values(wrapped_key=None, ciphertext=b"")
        )
        return int(getattr(result, "rowcount", 0) or 0)


def pending_count(runtime: Runtime) -> int:
    """Push rows still to be delivered (leased ones included; those held back by a restriction
    not: they wait for it to be lifted, which `deliver --until-idle` should not)."""
    with unit_of_work(runtime.engine) as session:
        count = session.exec(
            select(sa.func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.state == OutboxState.PENDING, delivery.deliverable(runtime.clock()))
        ).one()
        return int(count)


def housekeeping(runtime: Runtime) -> None:
    """The periodic chores of a delivery worker (in the API process and in `deliver` alike).

    Held overrides expire in their own worker (`exchange.override_hold`), not here.
    """
    purged = purge_expired_payloads(runtime)
    if purged:
        log.info("purged %d payloads past their retention", purged)


def housekeeping_if_due(runtime: Runtime, due_at: float) -> float:
    """Run `housekeeping` when the monotonic clock has reached `due_at`; returns the next due time."""
    if time.monotonic() < due_at:
        return due_at
    housekeeping(runtime)
    return time.monotonic() + HOUSEKEEPING_INTERVAL_SECONDS


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
    from gateway.workers import repeat

    client = await asyncio.to_thread(make_client, runtime)
    housekeeping_due = 0.0

    async def cycle() -> None:
        nonlocal housekeeping_due
        await asyncio.to_thread(drain_once, runtime, client)
        housekeeping_due = await asyncio.to_thread(housekeeping_if_due, runtime, housekeeping_due)

    try:
        await repeat("push delivery", cycle, lambda: runtime.settings.outbox_poll_seconds)
    finally:
        client.close()
