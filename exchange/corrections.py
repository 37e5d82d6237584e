"""Correctie doorgeven aan eerdere ontvangers (art. 11 lid 4).

When a partner corrects data it disclosed, the correction must reach every "derde aan wie de
persoonsgegevens voorafgaand aan die aanpassing zijn verstrekt": each partner that earlier received
data about the same subject, from the same sender, in at least one of the corrected categories.
Each of them gets its own `correction` message, encrypted to its own key, registered (art. 8.1)
and enqueued in the request's single transaction, exactly like a disclosure.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from audit.service import new_trace_id
from exchange import rules
from exchange.crypto import PayloadVault, encrypt_for_partner, json_plaintext, payload_digest
from exchange.envelope import open_payload, store_payload
from exchange.models import Message, MessageKind, MessageStatus, StoredPayload
from exchange.schemas import CorrectionIn
from exchange.sent_records import register_and_enqueue
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, NotFound, RuleBroken, RuleViolation
from gateway.runtime import Runtime

#: Statuses of a disclosure whose data left the sender: it was accepted for delivery (a failed
#: push may still have arrived). Held (`awaiting_approval`) and `expired` overrides never left.
DISCLOSED_STATUSES = (
    MessageStatus.ACCEPTED,
    MessageStatus.DELIVERED,
    MessageStatus.ACKNOWLEDGED,
    MessageStatus.FAILED,
)

CORRECTION_REASON = "Correctie van eerder verstrekte gegevens (art. 11 lid 4)"


@dataclass(frozen=True)
class EarlierDisclosure:
    recipient: str
    categories: Sequence[str]


def was_disclosed(status: str, delivered_at: dt.datetime | None) -> bool:
    """Whether a disclosure's data was "verstrekt" to its recipient (art. 11.4): accepted for
    delivery (`DISCLOSED_STATUSES`), or fetched from the inbox and then purged unacknowledged after
    the retention period (the recipient has it). A message purged without ever being fetched never
    left the gateway; an erased one was withdrawn and its recipient told to delete its copy.
    """
    if status == MessageStatus.PURGED:
        return delivered_at is not None
    return status in DISCLOSED_STATUSES


@dataclass(frozen=True)
class CorrectionFacts:
    original_categories: Sequence[str]
    corrected_categories: Sequence[str]
    description: str
    payload: object  # the JSON `payload` as sent; None when absent
    payload_jwe: str | None


def correction_recipients(
    corrected: Sequence[str], earlier: Iterable[EarlierDisclosure]
) -> dict[str, tuple[str, ...]]:
    """Who must hear of the correction (art. 11.4), and which of the corrected categories each had.

    A recipient is told only about the corrected categories it actually received before, so the
    correction's register entry never claims more was disclosed to it than its earlier entries did.
    Recipients in the order they first received data; categories in the order of `corrected`.
    """
    received: dict[str, set[str]] = {}
    for disclosure in earlier:
        shared = set(disclosure.categories).intersection(corrected)
        if shared:
            received.setdefault(disclosure.recipient, set()).update(shared)
    return {
        recipient: tuple(code for code in corrected if code in categories)
        for recipient, categories in received.items()
    }


def check_correction(facts: CorrectionFacts) -> list[RuleViolation]:
    """The body of a correction (art. 5.2, 8.1, 11.4): every violation at once."""
    violations: list[RuleViolation] = []
    if not facts.corrected_categories:
        violations.append(RuleViolation("categories_missing", "5.2", "Name at least one corrected category."))
    outside = [c for c in facts.corrected_categories if c not in facts.original_categories]
    if outside:
        violations.append(
            RuleViolation(
                "category_not_in_original",
                "11.4",
                "A correction can only concern categories of the corrected disclosure; not in it: "
                + ", ".join(outside)
                + ".",
            )
        )
    if len(set(facts.corrected_categories)) != len(facts.corrected_categories):
        violations.append(RuleViolation("duplicate_category", "5.2", "A category is listed twice."))
    if not facts.description.strip():
        violations.append(RuleViolation("description_missing", "8.1", "Describe what was corrected and why."))
    violations += rules.check_payload(facts.payload, facts.payload_jwe)
    return violations


def check_recipients(
    recipients: Collection[str], runtime: Runtime, *, end_to_end: bool
) -> list[RuleViolation]:
    """Every recipient must be able to open its copy (art. 19)."""
    if end_to_end and len(recipients) > 1:
        # One end-to-end JWE opens for one key only: the others would get a payload they cannot read.
        return [
            RuleViolation(
                "payload_jwe_needs_one_recipient",
                "11.4",
                f"This correction goes to {len(recipients)} earlier recipients "
                f"({', '.join(sorted(recipients))}); a payload_jwe is encrypted to one of them only. "
                "Send `payload` (JSON) instead so the gateway encrypts a copy to each recipient's key.",
            )
        ]
    if end_to_end:
        return []
    return [
        RuleViolation("recipient_key_missing", "19", f"Recipient {oin} has no registered encryption key.")
        for oin in recipients
        if (partner := runtime.partners.get(oin)) is None or partner.encryption_key is None
    ]


def send_correction(
    session: Session, runtime: Runtime, caller: PartnerPrincipal, disclosure_id: str, body: CorrectionIn
) -> dict[str, Any]:
    """Forward a correction of `disclosure_id` to every earlier recipient (art. 11.4).

    No consent decision is made: the correction concerns data that was already lawfully disclosed
    to these recipients, and art. 11.4 itself obliges the sender to pass the change on. Only the
    original sender may correct; for anyone else the disclosure does not exist (404).
    """
    original = session.exec(select(Message).where(Message.id == disclosure_id)).first()
    if original is None or original.sender != caller.oin or original.kind != MessageKind.DISCLOSURE:
        raise NotFound("No such disclosure sent by you.")
    corrected = list(body.categories) if body.categories is not None else list(original.categories)
    violations = check_correction(
        CorrectionFacts(
            original_categories=original.categories,
            corrected_categories=corrected,
            description=body.description,
            payload=body.payload,
            payload_jwe=body.payload_jwe,
        )
    )
    now = runtime.clock()
    recipients = correction_recipients(corrected, _earlier_disclosures(session, original, now))
    violations += check_recipients(recipients, runtime, end_to_end=body.payload_jwe is not None)
    if body.subject is not None:
        violations += rules.check_subject(body.subject.bsn)
    if violations:
        raise RuleBroken("The correction breaks one or more rules; nothing was sent.", violations=violations)
    if not recipients:
        raise Conflict(
            "Nothing in these categories was disclosed about this subject yet (the disclosure awaits "
            "approval or expired), so there is no earlier recipient to correct (art. 11.4).",
            slug="nothing-disclosed",
        )
    bsn = _subject_bsn(session, runtime, original, body)

    trace_id = new_trace_id()
    plaintext = json_plaintext(body.payload) if body.payload is not None else None
    vault = PayloadVault(runtime.kek)
    sent = []
    for recipient, categories in recipients.items():
        payload_jwe = _payload_jwe(recipient, body, plaintext, runtime)
        message = _correction_message(original, body, recipient, categories, payload_jwe, now, trace_id)
        session.add(message)
        session.flush()
        store_payload(session, vault, message, bsn=bsn, payload_jwe=payload_jwe)
        message.register_entry_id = register_and_enqueue(session, runtime, message, at=now).id
        session.add(message)
        sent.append({"id": message.id, "recipient": recipient, "register_entry": message.register_entry_id})
    session.flush()
    return {"id": original.id, "trace_id": trace_id, "corrections": sent}


def _earlier_disclosures(session: Session, original: Message, now: dt.datetime) -> list[EarlierDisclosure]:
    """Disclosures by the same sender about the same subject that left before now, oldest first."""
    rows = session.exec(
        select(Message.recipient, Message.categories, Message.status, Message.delivered_at)
        .where(
            Message.sender == original.sender,
            Message.subject_hash == original.subject_hash,
            Message.kind == MessageKind.DISCLOSURE,
            col(Message.created_at) <= now,
        )
        .order_by(col(Message.seq))
    ).all()
    return [
        EarlierDisclosure(recipient, categories)
        for recipient, categories, status, delivered_at in rows
        if was_disclosed(status, delivered_at)
    ]


def _subject_bsn(session: Session, runtime: Runtime, original: Message, body: CorrectionIn) -> str:
    """The subject's BSN, needed to seal the corrections: from the original's sealed payload.

    After the retention period (SPEC §8) that payload is gone; the sender may then name the subject
    itself, accepted only if its keyed hash is the original's. After an erasure (art. 12) nothing is
    accepted: the gateway must not take up data about an erased subject again.
    """
    vault = PayloadVault(runtime.kek)
    content = open_payload(session, vault, original.id)
    claimed = body.subject.bsn if body.subject is not None else None
    if content is not None:
        bsn = str(content["bsn"])
        if claimed is not None and not hmac.compare_digest(claimed, bsn):
            raise _subject_mismatch()
        return bsn
    stored = session.get(StoredPayload, original.id)
    if stored is not None and stored.shredded_at is not None:
        raise Conflict(
            "The corrected disclosure's data about this subject was erased (art. 12); a correction "
            "cannot be forwarded through the gateway any more.",
            slug="original-erased",
        )
    if claimed is None:
        raise Conflict(
            "The corrected disclosure's stored payload was deleted after its retention period "
            "(SPEC §8), and with it the subject's BSN: send `subject: {bsn}` along with the correction.",
            slug="original-purged",
        )
    if not hmac.compare_digest(runtime.bsn_hash(claimed), original.subject_hash):
        raise _subject_mismatch()
    return claimed


def _subject_mismatch() -> RuleBroken:
    # A typo in the BSN must not attach the correction to another child.
    return RuleBroken(
        "subject.bsn is not the subject of the corrected disclosure; nothing was sent.",
        violations=[
            RuleViolation("subject_mismatch", "11.4", "subject.bsn differs from the corrected disclosure's.")
        ],
    )


def _correction_message(
    original: Message,
    body: CorrectionIn,
    recipient: str,
    categories: Sequence[str],
    payload_jwe: str,
    now: dt.datetime,
    trace_id: str,
) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        kind=MessageKind.CORRECTION,
        sender=original.sender,
        recipient=recipient,
        subject_hash=original.subject_hash,
        categories=list(categories),
        reason=CORRECTION_REASON,
        description=body.description,
        professional=body.professional.model_dump(),
        legal_basis={"type": "correction", "article": "11.4", "corrects": original.id},
        in_reply_to=original.id,
        status=MessageStatus.ACCEPTED,
        created_at=now,
        payload_sha256=payload_digest(payload_jwe),
        end_to_end=body.payload_jwe is not None,
        trace_id=trace_id,
    )


def _payload_jwe(recipient: str, body: CorrectionIn, plaintext: bytes | None, runtime: Runtime) -> str:
    """Each recipient's own JWE; an end-to-end JWE (one recipient only) passes through untouched."""
    if plaintext is None:
        assert body.payload_jwe is not None
        return body.payload_jwe
    partner = runtime.partners.get(recipient)
    assert partner is not None  # check_recipients made sure, and that it has a key
    return encrypt_for_partner(plaintext, partner)
