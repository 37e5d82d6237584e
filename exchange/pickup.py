"""Ophalen (pickup) of a message by a partner reached by e-mail in `notify` mode (art. 19.2).

The pickup page `/ophalen/{message_id}` (built on the OpenID Connect sign-in) calls `pick_up` with
the signed-in professional's organisation. Reading is the acknowledgement: the same conditional
transition as `POST /v1/inbox/{id}/ack` (`exchange.envelope.acknowledge`), so the payload is handed
out exactly once, however many tabs or people try at the same moment, and the one recipient-side
register entry names the professional who read it (art. 8.2, 18.3). The payload is then scheduled
for deletion at once: there is no second reading.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session, select

from audit.service import rfc3339
from exchange.crypto import PayloadVault
from exchange.envelope import OPEN_STATUSES, acknowledge, open_payload
from exchange.models import Message, MessageStatus
from gateway.problems import NotFound, Problem
from gateway.runtime import Runtime


class AlreadyPickedUp(Problem):
    status, slug, title = 410, "message-already-picked-up", "This message was already picked up"


def pick_up(
    session: Session,
    runtime: Runtime,
    *,
    message_id: str,
    organisation: str,
    professional: dict[str, str],
) -> dict[str, Any]:
    """The message with its decrypted payload, once, for a professional of the recipient organisation.

    404 when the message does not exist, is not addressed to `organisation`, or that organisation
    does not pick up by e-mail notification (the same answer: ids do not reveal messages); 410 when
    it was read already, or given up (retention, erasure, failure) before anyone read it.
    """
    partner = runtime.partners.get(organisation)
    message = session.exec(select(Message).where(Message.id == message_id)).first()
    if (
        message is None
        or message.recipient != organisation
        or partner is None
        or partner.delivery != "email"
        or partner.email_mode != "notify"
        or message.status == MessageStatus.AWAITING_APPROVAL  # a held override was never sent
    ):
        raise NotFound("No such message for your organisation.", slug="message-not-found")
    if message.status not in OPEN_STATUSES:
        raise AlreadyPickedUp(
            "This message was picked up already, or is no longer available.", extra={"status": message.status}
        )
    # Opened before the acknowledgement, in the same transaction: the acknowledgement schedules the
    # payload's deletion, and if it loses the race nothing is returned.
    content = open_payload(session, PayloadVault(runtime.kek), message.id)
    now = runtime.clock()
    entry_id = acknowledge(
        session, message, at=now, channel="email_pickup", professional=professional, grace=dt.timedelta(0)
    )
    if entry_id is None or content is None:
        raise AlreadyPickedUp(
            "This message was picked up already.", extra={"status": MessageStatus.ACKNOWLEDGED}
        )
    sender = runtime.partners.get(message.sender)
    result: dict[str, Any] = {
        "id": message.id,
        "kind": message.kind,
        "sender": message.sender,
        "sender_name": sender.name if sender else message.sender,
        "subject": {"bsn": content.get("bsn")},
        "categories": [
            {"code": code, "label": runtime.categories.label(code)} for code in message.categories
        ],
        "reason": message.reason,
        "description": message.description,
        "professional": message.professional,
        "created_at": rfc3339(message.created_at),
        "acknowledged_at": rfc3339(now),
        "register_entry": entry_id,
        "payload_sha256": message.payload_sha256,
    }
    if content.get("payload_json") is not None:
        result["payload"] = json.loads(str(content["payload_json"]))
        result["payload_salt"] = content.get("payload_salt")
    if content.get("payload_jwe") is not None:
        result["payload_jwe"] = content["payload_jwe"]  # end-to-end encrypted by the sender
    return result
