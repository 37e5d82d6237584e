"""A message being sent, as a plain value: the columns of its `exchange_message` row.

The send path writes the row with one statement and never reads it back, so it needs no ORM
object: building a SQLModel `Message` (validation, instrumented attributes, session state) cost
about as much CPU as encrypting the payload. `Message` and `OutgoingMessage` have the same
attribute names, so the helpers that only read a message (`sent_entry_draft`, `sign_receipt`,
`outbox_row`, `sealed_payload_row`) take either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from exchange.models import Message


@dataclass
class OutgoingMessage:
    """Every column of `exchange_message` except `seq` (the database assigns it), in table order."""

    id: str
    kind: str
    sender: str
    recipient: str
    subject_hash: str
    categories: list[str]
    reason: str
    description: str | None
    professional: dict[str, Any]
    legal_basis: dict[str, Any]
    consent_ids: list[str]
    in_reply_to: str | None
    status: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    payload_sha256: str | None
    end_to_end: bool
    register_entry_id: str | None
    trace_id: str
    idempotency_key: str | None
    request_hash: str | None
    receipt: str | None
    last_error: str | None

    def columns(self) -> dict[str, Any]:
        """The row to insert, by column name (a shallow copy: no deep copy like `asdict`)."""
        return dict(vars(self))

    def as_model(self) -> Message:
        """The ORM object, for the rare paths that hand the message on (a held override)."""
        return Message(**self.columns())


MessageLike = Message | OutgoingMessage
