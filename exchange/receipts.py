"""The gateway-signed receipt a sender got for a message (`exchange.sending.sign_receipt`)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from exchange.models import Message

RECEIPT_TYP = "meerpunt-receipt+jws"


def receipt_of(session: Session, message_id: str) -> str | None:
    """The receipt of the message, if it has one. The caller has already shown that the viewer may
    see the message's register entry (the receipt says no more than that entry)."""
    return session.exec(select(Message.receipt).where(col(Message.id) == message_id)).first()
