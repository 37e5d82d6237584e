"""Rights a privacy officer exercises for a subject: beperking (art. 14) and wissing (art. 12).

A restriction is kept by the consent registry (`consent.restrictions`), which every consent-based
decision reads; an erasure crypto-shreds the subject's sealed payloads here. Both are registered
in the request's transaction. The register itself keeps its entries: it is the minimal record
the law requires, and the erasure is a new entry (SPEC §8).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, event, or_, true, update
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, new_trace_id, record, rfc3339
from consent.models import SubjectRestriction
from consent.restrictions import lift_restriction, set_restriction
from exchange import rules
from exchange.models import (
    Message,
    MessageKind,
    MessageStatus,
    OutboxItem,
    OutboxState,
    Override,
    StoredPayload,
)
from exchange.sent_records import enqueue
from gateway.db import is_sqlite
from gateway.principals import OfficerPrincipal
from gateway.problems import RuleBroken
from gateway.runtime import Runtime

log = logging.getLogger("meerpunt.subjects")

RestrictionGround = Literal["art14_1_a", "art14_1_b", "art14_1_c", "art14_1_d"]
ErasureGround = Literal["art12_1_a", "art12_1_b", "art12_1_c", "art12_1_d", "art12_1_e"]


class RestrictionIn(BaseModel):
    ground: RestrictionGround
    note: str = Field(default="", max_length=10000)


class LiftIn(BaseModel):
    note: str = Field(default="", max_length=10000)


class ErasureIn(BaseModel):
    ground: ErasureGround
    note: str = Field(default="", max_length=10000)


def masked(bsn: str) -> str:
    """Enough for an officer to recognise the subject in an answer; never the whole BSN."""
    return "*****" + bsn[-4:]


def _subject_hash(runtime: Runtime, bsn: str) -> str:
    violations = rules.check_subject(bsn)
    if violations:
        raise RuleBroken("The subject's BSN is not valid.", violations=violations)
    return runtime.bsn_hash(bsn)


def _actor_org(officer: OfficerPrincipal) -> str | None:
    # The central officer acts for Meerpunt as a whole, not for one partner organisation.
    return None if officer.is_central else officer.org


def restrict(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, bsn: str, body: RestrictionIn
) -> dict[str, Any]:
    """Beperking van de verwerking (art. 14 lid 1 a-d) from now on, set by a privacy officer on the
    subject's request (the note records the request).

    While it lasts every consent-based disclosure about the subject is refused (`restricted`);
    overrides (art. 7) still go through, flagged (art. 14 lid 2). 409 when already restricted.

    The restriction is global, not per partner: it concerns the subject's data wherever it is in
    the joint approach, and the gateway cannot tell which partner's copy is disputed (art. 14 lid 1 a)
    or which objection is pending (lid 1 d); a partial restriction would let the data flow on through
    another partner. Who set it is recorded (officer and organisation), and only that organisation's
    officer or the central officer lifts it.
    """
    subject_hash = _subject_hash(runtime, bsn)
    restriction = set_restriction(
        session,
        runtime,
        subject_hash,
        body.ground,
        officer.subject,
        runtime.clock(),
        actor_org=_actor_org(officer),
        note=body.note or None,
    )
    return _restriction_view(restriction, bsn)


def lift(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, bsn: str, body: LiftIn
) -> dict[str, Any]:
    """Opheffing van de beperking (art. 14); 404 when the subject is not restricted, 403 when another
    organisation set it (only it, or the central officer, may lift it).

    Art. 14 lid 3 asks that the subject is told before the restriction is lifted: the note is
    the place to record that this was done.
    """
    subject_hash = _subject_hash(runtime, bsn)
    restriction = lift_restriction(
        session,
        runtime,
        subject_hash,
        officer.subject,
        runtime.clock(),
        actor_org=_actor_org(officer),
        note=body.note or None,
    )
    return _restriction_view(restriction, bsn)


def _restriction_view(restriction: SubjectRestriction, bsn: str) -> dict[str, Any]:
    return {
        "id": restriction.id,
        "subject": masked(bsn),
        "ground": restriction.ground,
        "starts_at": rfc3339(restriction.starts_at),
        "ends_at": rfc3339(restriction.ends_at) if restriction.ends_at else None,
        "set_by": restriction.set_by,
        "set_by_org": restriction.set_by_org,
        "lifted_by": restriction.lifted_by,
    }


def _erasable_by(officer: OfficerPrincipal) -> ColumnElement[bool]:
    """Which messages' payloads an officer may shred: the central officer all of them; a partner's
    officer those its organisation sent or received (art. 12 binds "de partij", art. 18.3)."""
    if officer.is_central:
        return true()
    return or_(col(Message.sender) == officer.org, col(Message.recipient) == officer.org)


#: Messages whose recipient has not acknowledged them: an erasure withdraws them (art. 12), so
#: nothing about the subject is delivered, pushed or acknowledged afterwards.
WITHDRAWN_STATUSES = (
    MessageStatus.AWAITING_APPROVAL,
    MessageStatus.ACCEPTED,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
)
ERASURE_NOTICE_REASON = "Bericht ingetrokken: de gegevens zijn gewist (art. 12)"


def erase(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, bsn: str, body: ErasureIn
) -> dict[str, Any]:
    """Wissing (art. 12 lid 1 a-e): crypto-shred every stored payload about the subject.

    The per-message data key (wrapped under the KEK) is destroyed and the ciphertext emptied, so
    neither the gateway nor anyone holding the KEK can open these payloads again. Messages not yet
    acknowledged are withdrawn (status `erased`, outbox row `cancelled`): the recipient gets a
    notice instead, naming only the withdrawn message's id, and a held override can no longer be
    approved. The register and the message metadata stay (who sent which categories to whom,
    when, why): the register is append-only, and the erasure is recorded as a new entry that names
    no BSN. On SQLite the old pages are then checkpointed out of the WAL (see docs/security.md).
    """
    subject_hash = _subject_hash(runtime, bsn)
    now = runtime.clock()
    if is_sqlite(runtime.engine):
        # Freed cells and overflow pages are overwritten with zeros, not left in the file.
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
    withdrawn = _withdraw_messages(session, runtime, officer, subject_hash, now)
    shredded = _shred_payloads(session, officer, subject_hash, now)
    entry = record(
        session,
        EntryDraft(
            kind=EntryKind.ERASURE,
            occurred_at=now,
            actor=officer.subject,
            actor_role="privacy_officer",
            actor_org=_actor_org(officer),
            subject_hash=subject_hash,
            reason=body.ground,
            description=body.note or None,
            details={
                "payloads_shredded": len(shredded),
                "message_ids": shredded,
                "scope": "all" if officer.is_central else officer.org,
                # message id -> its status before: the access report shows these as "gewist".
                "withdrawn": {w.message_id: w.previous for w in withdrawn},
                "notices": [w.notice_id for w in withdrawn if w.notice_id],
            },
        ),
    )
    if is_sqlite(runtime.engine):
        event.listen(session, "after_commit", lambda _s: _checkpoint_sqlite(runtime), once=True)
    return {
        "subject": masked(bsn),
        "payloads_shredded": len(shredded),
        "messages_withdrawn": len(withdrawn),
        "register_entry": entry.id,
    }


def _shred_payloads(
    session: Session, officer: OfficerPrincipal, subject_hash: str, now: dt.datetime
) -> list[str]:
    """Destroy the data keys of the subject's payloads the officer may erase; returns the ids of
    those that still had one, in id order.

    Conditional UPDATEs (`… WHERE shredded_at IS NULL RETURNING`), no read before: of two
    concurrent erasures each payload is shredded, and registered as shredded, by one. Payloads
    already deleted after their retention period had nothing left to decrypt; they are marked
    too, so that a later correction knows the subject was erased (exchange/corrections.py).
    """
    erasable = select(Message.id).where(col(Message.subject_hash) == subject_hash, _erasable_by(officer))
    unshredded = (
        col(StoredPayload.subject_hash) == subject_hash,
        col(StoredPayload.shredded_at).is_(None),
        col(StoredPayload.message_id).in_(erasable),
    )
    shredded = session.execute(
        update(StoredPayload)
        .where(*unshredded, col(StoredPayload.wrapped_key).is_not(None))
        .values(wrapped_key=None, ciphertext=b"", shredded_at=now)
        .returning(col(StoredPayload.message_id))
        .execution_options(synchronize_session=False)
    ).scalars()
    ids = sorted(shredded)
    session.execute(
        update(StoredPayload)
        .where(*unshredded)
        .values(shredded_at=now)
        .execution_options(synchronize_session=False)
    )
    return ids


@dataclass(frozen=True)
class _Withdrawn:
    message_id: str
    previous: str
    notice_id: str | None


def _withdraw_messages(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, subject_hash: str, now: dt.datetime
) -> list[_Withdrawn]:
    """Set every unacknowledged message about the subject to `erased`, cancel its outbox row, and
    tell its recipient with a notice that carries no personal data (no subject, no categories).

    Conditional UPDATEs (`… WHERE status = … RETURNING`): a message acknowledged concurrently is
    not withdrawn, and two concurrent erasures withdraw each message once.
    """
    withdrawn: list[_Withdrawn] = []
    for previous in WITHDRAWN_STATUSES:
        changed = session.execute(
            update(Message)
            .where(
                col(Message.subject_hash) == subject_hash,
                col(Message.status) == previous,
                _erasable_by(officer),
            )
            .values(status=MessageStatus.ERASED)
            .returning(col(Message.id), col(Message.sender), col(Message.recipient))
            .execution_options(synchronize_session=False)
        ).all()
        for message_id, sender, recipient in changed:
            notice_id = None
            if previous != MessageStatus.AWAITING_APPROVAL:  # a held override never left the sender
                notice_id = _withdrawal_notice(session, runtime, message_id, sender, recipient, now)
            withdrawn.append(_Withdrawn(message_id, previous, notice_id))
    ids = [w.message_id for w in withdrawn]
    if ids:
        session.execute(
            update(OutboxItem)
            .where(
                col(OutboxItem.message_id).in_(ids),
                col(OutboxItem.state).in_((OutboxState.PENDING, OutboxState.IN_INBOX, OutboxState.FAILED)),
            )
            .values(state=OutboxState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Override)
            .where(col(Override.message_id).in_(ids), col(Override.approval_status) == "awaiting")
            .values(approval_status="erased")
            .execution_options(synchronize_session=False)
        )
    return withdrawn


def _withdrawal_notice(
    session: Session, runtime: Runtime, message_id: str, sender: str, recipient: str, now: dt.datetime
) -> str:
    # Not linked to the subject (empty subject_hash): the notice holds no personal data, and a
    # later erasure of the same subject leaves it alone.
    notice = Message(
        id=str(uuid.uuid4()),
        kind=MessageKind.NOTICE,
        sender=sender,
        recipient=recipient,
        subject_hash="",
        categories=[],
        reason=ERASURE_NOTICE_REASON,
        description=(
            f"Message {message_id} was withdrawn before you acknowledged it: the data about its subject "
            "was erased (art. 12). If you fetched it, delete your copy."
        ),
        professional={},
        legal_basis={"type": "notice", "article": "12", "withdrawn": message_id},
        in_reply_to=message_id,
        status=MessageStatus.ACCEPTED,
        created_at=now,
        trace_id=new_trace_id(),
    )
    session.add(notice)
    session.flush()
    enqueue(session, runtime, notice, at=now)
    return notice.id


def _checkpoint_sqlite(runtime: Runtime) -> None:
    """Copy the WAL into the database file and truncate it, so the old wrapped keys and ciphertexts
    do not linger in `-wal` (art. 12). Best effort: a busy database is checkpointed later anyway."""
    try:
        # The raw connection runs in autocommit: a checkpoint cannot run inside BEGIN IMMEDIATE.
        connection = runtime.engine.raw_connection()
        try:
            busy, _, _ = connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("WAL checkpoint after erasure was blocked; the next checkpoint copies it")
        finally:
            connection.close()
    except Exception:  # the erasure itself has committed; never turn it into an error
        log.warning("WAL checkpoint after erasure failed", exc_info=True)
