"""The pull inbox (GET /v1/inbox, POST /v1/inbox/{id}/ack) and the sender's status view."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from audit.service import rfc3339
from exchange.crypto import PayloadVault
from exchange.envelope import acknowledge, inbox_item, open_payload
from exchange.models import Message, MessageStatus, OutboxItem
from gateway.principals import PartnerPrincipal
from gateway.problems import NotFound, Problem
from gateway.runtime import Runtime

OPEN_STATUSES = (MessageStatus.ACCEPTED, MessageStatus.DELIVERED)


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


def list_inbox(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Messages waiting for the caller, oldest first; fetching marks them `delivered`."""
    after = decode_cursor(cursor)
    messages = session.exec(
        select(Message)
        .where(
            Message.recipient == caller.oin,
            col(Message.status).in_(OPEN_STATUSES),
            col(Message.seq) > after,
        )
        .order_by(col(Message.seq))
        .limit(limit + 1)
    ).all()
    page, more = messages[:limit], len(messages) > limit
    vault = PayloadVault(runtime.kek)
    now = runtime.clock()
    items = []
    for message in page:
        if message.status == MessageStatus.ACCEPTED:
            message.status = MessageStatus.DELIVERED
            message.delivered_at = now
            session.add(message)
        items.append(inbox_item(message, open_payload(session, vault, message.id)))
    next_cursor = encode_cursor(page[-1].seq or 0) if more and page else None
    return {"items": items, "next_cursor": next_cursor}


def acknowledge_message(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    message_id: str,
    professional: dict[str, Any] | None,
) -> dict[str, Any]:
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    # Someone else's message is "not found", not "forbidden": ids must not leak existence.
    if (
        message is None
        or message.recipient != caller.oin
        or message.status
        in (
            MessageStatus.AWAITING_APPROVAL,
            MessageStatus.EXPIRED,
            MessageStatus.ERASED,  # withdrawn by an erasure (art. 12): nothing to acknowledge
        )
    ):
        raise NotFound("No such message in your inbox.")
    already = message.status == MessageStatus.ACKNOWLEDGED
    entry_id = acknowledge(
        session,
        message,
        at=runtime.clock(),
        channel="pull",
        professional=professional,
        grace=dt.timedelta(days=runtime.settings.payload_grace_days),
    )
    return {
        "id": message.id,
        "status": message.status,
        "acknowledged_at": rfc3339(message.acknowledged_at) if message.acknowledged_at else None,
        "register_entry": entry_id,
        "already_acknowledged": already,
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
        "in_reply_to": message.in_reply_to,
        "delivery_attempts": outbox.attempts if outbox else 0,
        "last_error": message.last_error,
        "trace_id": message.trace_id,
    }
