"""Sending a disclosure (verstrekking, art. 6 and 8 lid 1): check, decide, encrypt, register, enqueue.

Acceptance, the sender-side register entry and the outbox row are written in the caller's single
transaction: either all of them commit or none does. A refused attempt stores nothing but its own
register entry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlmodel import Session, select

from audit.models import RegisterEntry
from audit.service import (
    EntryDraft,
    EntryKind,
    PreparedEntry,
    new_trace_id,
    prepare,
    record,
    rfc3339,
)
from consent.restrictions import is_restricted
from consent.rules import Decision
from consent.service import decide_on_facts
from exchange import rules, send_store
from exchange.crypto import PayloadVault, email_content, encrypt_for_partner, json_plaintext, payload_digest
from exchange.envelope import sealed_payload_row
from exchange.legal_basis import BasisCheck, check_legal_basis
from exchange.models import (
    Message,
    MessageKind,
    MessageStatus,
    Override,
)
from exchange.outgoing import MessageLike, OutgoingMessage
from exchange.schemas import DisclosureIn
from exchange.sent_records import outbox_row, sent_entry_draft
from gateway.principals import PartnerPrincipal
from gateway.problems import Conflict, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

DISCLOSURES = Counter(
    "meerpunt_disclosures_total", "Disclosure attempts by outcome and legal basis", ["outcome", "basis"]
)

# The child of the commonest outcome, looked up once: `labels()` costs a lock and a dict lookup.
_ACCEPTED_BY_CONSENT = DISCLOSURES.labels("accepted", "consent")

DENY_ARTICLES = {
    "restricted": "14",
    "refused": "7.2",
    "not_explicit": "2",
    "withdrawn": "Bijlage VIII",
    "expired": "Bijlage VIII",
    "not_yet_valid": "6.1",
}


@dataclass
class SendResult:
    """What the handler returns: 202 with `body`, or a problem that must still commit its entry."""

    status_code: int
    body: dict[str, Any]
    problem: Problem | None = None
    headers: dict[str, str] = field(default_factory=dict)


_FINGERPRINT_KEY_LABEL = "exchange/idempotency-request-fingerprint/v1"


def _fingerprint_mac(runtime: Runtime) -> hmac.HMAC:
    """The keyed MAC, made once per runtime: each send copies it instead of re-keying HMAC."""
    mac: hmac.HMAC | None = runtime.extensions.get(_FINGERPRINT_KEY_LABEL)
    if mac is None:
        key = runtime.bsn_hash.derive_key(_FINGERPRINT_KEY_LABEL)
        mac = runtime.extensions.setdefault(_FINGERPRINT_KEY_LABEL, hmac.new(key, digestmod=hashlib.sha256))
    return mac


def request_fingerprint(runtime: Runtime, body: DisclosureIn) -> str:
    """What an idempotent retry must repeat exactly: HMAC-SHA256 of the canonical body.

    Keyed (a key derived from the BSN hash key) because the body holds a BSN and the payload: a
    plain hash in a copy of the database would let anyone confirm a guessed BSN or payload.
    """
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    mac = _fingerprint_mac(runtime).copy()
    mac.update(canonical.encode())
    return mac.hexdigest()


def accepted_body(message: MessageLike | send_store.Previous) -> dict[str, Any]:
    return {
        "id": message.id,
        "status": message.status,
        "register_entry": message.register_entry_id,
        "receipt": message.receipt,
        "trace_id": message.trace_id,
    }


def sign_receipt(
    runtime: Runtime, message: MessageLike, *, accepted_at: dt.datetime, entry: RegisterEntry | PreparedEntry
) -> str:
    """The gateway-signed receipt of a message (a JWS, like CT's signed promise of inclusion).

    It names the register entry and carries its leaf hash, outside the gateway's database:
    checkable against any later inclusion proof (GET /v1/audit/proof/{register_entry}), so a
    rewrite of the register cannot hide. Issued at acceptance, and again when a held override is
    approved: the first receipt said `awaiting_approval` and named the `override_held` entry.
    """
    return runtime.signer.sign(
        {
            "id": message.id,
            "sender": message.sender,
            "recipient": message.recipient,
            "categories": message.categories,
            "payload_sha256": message.payload_sha256,
            "accepted_at": rfc3339(accepted_at),
            "status": message.status,
            "register_entry": entry.id,
            "leaf_hash": base64.b64encode(entry.leaf_hash).decode("ascii"),
            "trace_id": message.trace_id,
        },
        typ="meerpunt-receipt+jws",
    )


_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_SET_RECEIPT = (
    sa.update(_MESSAGES)
    .where(_MESSAGES.c.id == sa.bindparam("message_id"))
    .values(register_entry_id=sa.bindparam("entry_id"), receipt=sa.bindparam("receipt"))
)


def _replay(previous: send_store.Previous | None, fingerprint: str) -> SendResult | None:
    """Idempotent retry: same key and body → the original result; same key, other body → 409."""
    if previous is None:
        return None
    if not hmac.compare_digest(previous.request_hash or "", fingerprint):
        raise Conflict(
            "This Idempotency-Key was already used for a different request body.",
            slug="idempotency-key-reused",
        )
    return SendResult(202, accepted_body(previous), headers={"Idempotent-Replayed": "true"})


def _denial(decision: Decision) -> Problem:
    violations = [
        RuleViolation(c.reason, DENY_ARTICLES.get(c.reason, "6.1"), _deny_message(c.category, c.reason))
        for c in decision.per_category
        if c.decision == "deny"
    ]
    return Problem(
        "No valid consent covers every category for this recipient (art. 6.1-6.2); nothing was sent.",
        status=403,
        slug="consent_denied",
        title="Consent denied",
        violations=violations,
        extra={
            "per_category": [
                {
                    "category": c.category,
                    "decision": c.decision,
                    "consent_id": c.consent_id,
                    "reason": c.reason,
                }
                for c in decision.per_category
            ]
        },
    )


def _deny_message(category: str, reason: str) -> str:
    texts = {
        "no_consent": "there is no consent on record for this subject",
        "refused": "consent was refused for this recipient and category",
        "withdrawn": "the consent was withdrawn",
        "expired": "the consent has expired (valid one year)",
        "not_yet_valid": "the consent is not yet in force",
        "recipient_not_covered": "no consent names this recipient",
        "category_not_covered": "the consent for this recipient does not cover this category",
        "not_explicit": "special category data needs written or explicit consent (art. 2)",
        "restricted": "processing of this subject's data is restricted (art. 14)",
    }
    return f"{category}: {texts.get(reason, reason)}"


def send_disclosure(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    body: DisclosureIn,
    idempotency_key: str | None,
    *,
    kind: str = MessageKind.DISCLOSURE,
) -> SendResult:
    """Check, decide, encrypt, register and enqueue one disclosure.

    `kind` is `notice` for a coordinator notice (coordination/notices.py, Spoorboekje §10.2): it
    carries case data, so it takes exactly this path (consent, JWE, art. 8.1 entry, outbox); only
    the recipient's inbox shows it as a notice.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise Problem(
            "Sends need an Idempotency-Key header (1-200 characters) so that a retry is never sent twice.",
            slug="idempotency-key-required",
            title="Idempotency-Key required",
        )
    fingerprint = request_fingerprint(runtime, body)
    subject_hash = runtime.bsn_hash(body.subject.bsn) if not rules.check_subject(body.subject.bsn) else ""
    # A consented send needs the subject's consent facts: read together with the idempotency
    # lookup (both straight on the driver on PostgreSQL), and unused when the key is a retry.
    consented = body.legal_basis.type == "consent" and bool(subject_hash)
    lookup = send_store.look_up(
        session, sender=caller.oin, key=idempotency_key, subject_hash=subject_hash if consented else None
    )
    replay = _replay(lookup.previous, fingerprint)
    if replay is not None:
        return replay

    now = runtime.clock()
    violations = rules.check_send(
        rules.SendFacts(
            sender=caller.oin,
            recipient=body.recipient,
            bsn=body.subject.bsn,
            categories=body.categories,
            reason=body.reason,
            description=body.description,
            payload=body.payload,
            payload_jwe=body.payload_jwe,
        ),
        runtime.partners.partners,
        runtime.categories.categories,
    )
    recipient = runtime.partners.get(body.recipient)
    if (
        recipient is not None
        and body.payload is not None
        and recipient.encryption_key is None
        and recipient.delivery != "email"  # encrypted for delivery by the e-mail adapter instead
    ):
        violations.append(
            RuleViolation("recipient_key_missing", "19", "The recipient has no registered encryption key.")
        )
    request: Message | None = None
    if body.in_reply_to and subject_hash:
        request = session.exec(select(Message).where(Message.id == body.in_reply_to)).first()
        violations += _check_reply(request, caller.oin, body, subject_hash)
    basis = check_legal_basis(session, runtime, caller, body, subject_hash=subject_hash, at=now)
    violations += basis.violations
    if violations:
        raise RuleBroken("The disclosure breaks one or more rules; nothing was sent.", violations=violations)
    assert recipient is not None
    if basis.kind != "consent" and is_restricted(session, subject_hash, now):
        # Art. 14.2: a restriction blocks consent-based disclosure only; an override or statutory
        # disclosure still goes, flagged so officers see it in the register.
        basis = replace(basis, record={**basis.record, "restricted": True})

    # An answer continues the trace of the request it answers (art. 6.3: one exchange, both sides).
    trace_id = request.trace_id if request is not None and request.trace_id else new_trace_id()
    decision: Decision | None = None
    if basis.kind == "consent":
        assert lookup.facts is not None  # a consent basis with an invalid BSN broke a rule above
        decision = decide_on_facts(
            lookup.facts,
            recipient=body.recipient,
            categories=body.categories,
            at=now,
            special_categories=runtime.categories.special_codes,
            sender=caller.oin,  # only consents this partner obtained, or that were obtained for it
        )
        if not decision.permitted:
            _record_refusal(session, caller, body, subject_hash, decision, now, trace_id)
            DISCLOSURES.labels("refused", "consent").inc()
            return SendResult(403, {}, problem=_denial(decision))

    message_id = str(uuid.uuid4())
    extra: dict[str, str] | None = None
    payload_jwe: str | None
    if body.payload is not None and recipient.delivery == "email":
        # No JWE for a partner without an API: sealed at rest, encrypted by the e-mail adapter.
        payload_jwe = None
        extra, payload_sha256 = email_content(json_plaintext(body.payload))
    elif body.payload is not None:
        payload_jwe = encrypt_for_partner(json_plaintext(body.payload), recipient)
        payload_sha256 = payload_digest(payload_jwe)
    else:
        assert body.payload_jwe is not None
        payload_jwe = body.payload_jwe  # end-to-end encrypted by the sender: passed through untouched
        payload_sha256 = payload_digest(payload_jwe)

    held = basis.kind == "override" and _four_eyes_applies(runtime, caller)
    legal_basis = basis.record
    message = OutgoingMessage(
        id=message_id,
        kind=kind,
        sender=caller.oin,
        recipient=body.recipient,
        subject_hash=subject_hash,
        categories=list(body.categories),
        reason=body.reason,
        description=body.description,
        professional=body.professional.model_dump(),
        legal_basis=legal_basis,
        consent_ids=list(decision.consent_ids) if decision else [],
        in_reply_to=body.in_reply_to,
        status=MessageStatus.AWAITING_APPROVAL if held else MessageStatus.ACCEPTED,
        created_at=now,
        delivered_at=None,
        acknowledged_at=None,
        payload_sha256=payload_sha256,
        end_to_end=body.payload_jwe is not None,
        register_entry_id=None,
        trace_id=trace_id,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        receipt=None,
        last_error=None,
    )
    payload = sealed_payload_row(
        PayloadVault(runtime.kek), message, bsn=body.subject.bsn, payload_jwe=payload_jwe, extra=extra
    )
    entry: PreparedEntry | None = None
    outbox: dict[str, Any] | None = None
    if not held:
        # Written with the message, in the same statement (art. 8.1: no entry, no disclosure); the
        # receipt names the entry and its leaf hash before either is stored.
        entry = prepare(sent_entry_draft(message, at=now))
        message.register_entry_id = entry.id
        message.receipt = sign_receipt(runtime, message, accepted_at=now, entry=entry)
        outbox = outbox_row(runtime, message, at=now)
    if not send_store.accept(session, message, payload, outbox, entry):
        # A concurrent retry with the same key won the race: answer with its result.
        replay = _replay(
            send_store.previous_send(session, sender=caller.oin, key=idempotency_key), fingerprint
        )
        if replay is None:
            raise Conflict(
                "A concurrent request with this Idempotency-Key is still in progress; retry.",
                slug="idempotency-key-in-flight",
            )
        return replay

    if basis.kind != "consent":
        session.add(_override_row(runtime, message, basis, held=held, at=now))
        if held:
            # Registered as held and enqueued only when approved (exchange/override_hold.py).
            from exchange.override_hold import hold  # override_hold builds on this module

            held_entry = hold(session, runtime, message.as_model(), bsn=body.subject.bsn, at=now)
            message.register_entry_id = held_entry.id
            message.receipt = sign_receipt(runtime, message, accepted_at=now, entry=held_entry)
            session.connection().execute(
                _SET_RECEIPT,
                {"message_id": message.id, "entry_id": held_entry.id, "receipt": message.receipt},
            )
        session.flush()  # the override row, so that a failure surfaces here, inside the request
    if not held and basis.kind == "consent":
        _ACCEPTED_BY_CONSENT.inc()
    else:
        DISCLOSURES.labels("held" if held else "accepted", basis.kind).inc()
    return SendResult(202, accepted_body(message))


def _four_eyes_applies(runtime: Runtime, caller: PartnerPrincipal) -> bool:
    return caller.partner.four_eyes or caller.oin in runtime.settings.override_four_eyes_partners


def _override_row(
    runtime: Runtime, message: MessageLike, basis: BasisCheck, *, held: bool, at: dt.datetime
) -> Override:
    inform = basis.record.get("inform_subject") or {}
    if basis.kind == "statutory":
        inform_status = "not_applicable"
    else:
        inform_status = "waived" if inform.get("waived") else "planned"
    return Override(
        message_id=message.id,
        partner=message.sender,
        recipient=message.recipient,
        basis_type=basis.kind,
        ground=str(basis.record.get("ground")),
        created_at=at,
        professional=message.professional,
        approval_status="awaiting" if held else "not_required",
        approval_deadline=at + dt.timedelta(seconds=runtime.settings.override_hold_seconds) if held else None,
        inform_status=inform_status,
        review_status="pending_review",
    )


def _check_reply(
    request: Message | None, holder: str, body: DisclosureIn, subject_hash: str
) -> list[RuleViolation]:
    """An answer to an information request goes back to the requester, about the same subject."""
    if (
        request is None
        or request.kind != MessageKind.INFORMATION_REQUEST
        or request.recipient != holder
        or request.sender != body.recipient
        or request.subject_hash != subject_hash
    ):
        return [
            RuleViolation(
                "in_reply_to_invalid",
                "6.3",
                "in_reply_to must name an information request from this recipient about this subject.",
            )
        ]
    if request.status == MessageStatus.DECLINED:
        return [RuleViolation("request_declined", "6.3", "You declined this information request.")]
    return []


def _record_refusal(
    session: Session,
    caller: PartnerPrincipal,
    body: DisclosureIn,
    subject_hash: str,
    decision: Decision,
    at: dt.datetime,
    trace_id: str,
) -> None:
    """A refused attempt leaves only this entry: who tried to send what to whom, and why it was refused.

    The would-be recipient is named in `details.intended_recipient`, not in the `recipient` column:
    the register shows an entry to its sender, recipient and actor organisations, and the refusal
    (with its reason and description) must not reach the very organisation it protects the child
    from. The sender and the central officer still see it. A retry with the same Idempotency-Key
    is a new attempt (a refused send stores no message to replay) and is registered again.
    """
    record(
        session,
        EntryDraft(
            kind=EntryKind.DISCLOSURE_REFUSED,
            occurred_at=at,
            actor=caller.oin,
            actor_role="partner",
            actor_org=caller.oin,
            sender=caller.oin,
            recipient=None,
            subject_hash=subject_hash,
            categories=list(body.categories),
            reason=body.reason,
            description=body.description,
            legal_basis={"type": "consent"},
            professional=body.professional.model_dump(),
            trace_id=trace_id,
            details={
                "intended_recipient": body.recipient,
                "per_category": [
                    {
                        "category": c.category,
                        "decision": c.decision,
                        "reason": c.reason,
                        "consent_id": c.consent_id,
                    }
                    for c in decision.per_category
                ],
            },
        ),
    )
