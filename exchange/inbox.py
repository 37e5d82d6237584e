"""The pull inbox (GET /v1/inbox, POST /v1/inbox/{id}/ack) and the sender's status view."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from audit.service import rfc3339
from exchange.crypto import PayloadVault
from exchange.envelope import (
    OPEN_STATUSES,
    acknowledge,
    inbox_item,
    open_payloads,
    unavailable_item,
    withheld,
)
from exchange.models import Message, MessageStatus, OutboxItem, OutboxState
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, NotFound, Problem
from gateway.runtime import Runtime
from gateway.sqltypes import UTCDateTime

#: A held override or an expired hold was never in the recipient's inbox; an erased message was
#: withdrawn from it (art. 12). None of them can be acknowledged.
log = logging.getLogger("meerpunt.exchange")

_NEVER_HANDED_OUT = (MessageStatus.AWAITING_APPROVAL, MessageStatus.EXPIRED, MessageStatus.ERASED)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("s"):
            raise ValueError(text)
        return int(text[1:])
    except ValueError as exc:
        raise Problem(
            "The cursor is not valid; start again without a cursor.", slug="invalid-cursor"
        ) from exc


_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_AT = sa.bindparam("at", type_=UTCDateTime())
# Only `accepted` becomes `delivered`: a concurrent acknowledgement is never overwritten.
_MARK_DELIVERED = (
    sa.update(_MESSAGES)
    .where(
        _MESSAGES.c.id.in_(sa.bindparam("ids", expanding=True)),
        _MESSAGES.c.status == MessageStatus.ACCEPTED,
    )
    .values(status=MessageStatus.DELIVERED, delivered_at=_AT)
    .returning(_MESSAGES.c.id)
)


def list_inbox(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Messages waiting for the caller, oldest first; fetching marks them `delivered`.

    Only messages queued for pull (outbox state `in_inbox`): a push partner's messages go to its
    webhook, never also here. Messages about a subject under restriction (art. 14) are held back
    unless they go on an override or statutory ground; they appear once it is lifted.
    """
    after = decode_cursor(cursor)
    now = runtime.clock()
    messages = session.exec(
        select(Message)
        .join(OutboxItem, col(OutboxItem.message_id) == col(Message.id))
        .where(
            Message.recipient == caller.oin,
            col(Message.status).in_(OPEN_STATUSES),
            col(Message.seq) > after,
            OutboxItem.state == OutboxState.IN_INBOX,
            ~withheld(now),
        )
        .order_by(col(Message.seq))
        .limit(limit + 1)
    ).all()
    page, more = messages[:limit], len(messages) > limit
    opened = open_payloads(session, PayloadVault(runtime.kek), [m.id for m in page])
    for error in opened.failed.values():
        # An operator's problem (a KEK left out of the configuration, a damaged row), not the
        # caller's: logged with ids only, and only this item says so; the rest of the page works.
        log.error("inbox of %s: %s", caller.oin, error)
    # A message whose payload cannot be opened was not handed out: it stays `accepted`.
    fresh = [m.id for m in page if m.status == MessageStatus.ACCEPTED and m.id not in opened.failed]
    if fresh:
        marked = set(session.connection().execute(_MARK_DELIVERED, {"ids": fresh, "at": now}).scalars())
        for message in page:
            if message.id in marked:
                set_committed_value(message, "status", MessageStatus.DELIVERED)
                set_committed_value(message, "delivered_at", now)
    items = [
        unavailable_item(message, opened.failed[message.id])
        if message.id in opened.failed
        else inbox_item(message, opened.contents.get(message.id))
        for message in page
    ]
    next_cursor = encode_cursor(page[-1].seq or 0) if more and page else None
    return {"items": items, "next_cursor": next_cursor}


def acknowledge_message(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    message_id: str,
    professional: dict[str, Any] | None,
) -> dict[str, Any]:
    """`POST /v1/inbox/{id}/ack`: the recipient-side entry, written once however often it is called."""
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    # Someone else's message is "not found", not "forbidden": ids must not leak existence.
    if message is None or message.recipient != caller.oin or message.status in _NEVER_HANDED_OUT:
        raise NotFound("No such message in your inbox.")
    entry_id = acknowledge(
        session,
        message,
        at=runtime.clock(),
        channel="pull",
        professional=professional,
        grace=dt.timedelta(days=runtime.settings.payload_grace_days),
    )
    if entry_id is None:
        session.refresh(message)  # what the request that got there first left
        if message.acknowledged_at is None:
            if message.status == MessageStatus.DECLINED:
                raise Conflict(
                    "You declined this information request; it cannot be acknowledged any more.",
                    slug="request-declined",
                )
            raise NotFound("No such message in your inbox.")
    return {
        "id": message.id,
        "status": message.status,
        "acknowledged_at": rfc3339(message.acknowledged_at) if message.acknowledged_at else None,
        "register_entry": entry_id,
        "already_acknowledged": entry_id is None,
    }


def disclosure_status(session: Session, caller: PartnerPrincipal, message_id: str) -> dict[str, Any]:
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    if message is None or message.sender != caller.oin:
        raise NotFound("No such disclosure sent by you.")
    outbox = session.exec(select(OutboxItem).where(OutboxItem.message_id == message.id)).first()
    return {
        "id": message.id,
        "kind": message.kind,
        "status": message.status,
        "sender": message.sender,
        "recipient": message.recipient,
        "categories": list(message.categories),
        "created_at": rfc3339(message.created_at),
        "delivered_at": rfc3339(message.delivered_at) if message.delivered_at else None,
        "acknowledged_at": rfc3339(message.acknowledged_at) if message.acknowledged_at else None,
        "legal_basis": {"type": message.legal_basis.get("type", "consent")},
        "register_entry": message.register_entry_id,
        "receipt": message.receipt,
        "in_reply_to": message.in_reply_to,
        "delivery_attempts": outbox.attempts if outbox else 0,
        "last_error": message.last_error,
        "trace_id": message.trace_id,
    }
