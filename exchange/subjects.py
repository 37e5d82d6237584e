"""Rights a privacy officer exercises for a subject: beperking (art. 14) and wissing (art. 12).

A restriction is kept by the consent registry (`consent.restrictions`), which every consent-based
decision reads; an erasure crypto-shreds the subject's sealed payloads here. Both are registered
in the request's transaction. The register itself keeps its entries: it is the minimal record
the law requires, and the erasure is a new entry (SPEC §8).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, or_, true, update
from sqlmodel import Session, col, select

from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent.models import SubjectRestriction
from consent.restrictions import lift_restriction, set_restriction
from exchange import rules
from exchange.models import Message, StoredPayload
from gateway.principals import OfficerPrincipal
from gateway.problems import RuleBroken
from gateway.runtime import Runtime

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
    """Beperking van de verwerking (art. 14 lid 1 a-d) from now on.

    While it lasts every consent-based disclosure about the subject is refused (`restricted`);
    overrides (art. 7) still go through, flagged (art. 14 lid 2). 409 when already restricted.
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
    """Opheffing van de beperking (art. 14); 404 when the subject is not restricted.

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
        "lifted_by": restriction.lifted_by,
    }


def _erasable_by(officer: OfficerPrincipal) -> ColumnElement[bool]:
    """Which messages' payloads an officer may shred: the central officer all of them; a partner's
    officer those its organisation sent or received (art. 12 binds "de partij", art. 18.3)."""
    if officer.is_central:
        return true()
    return or_(col(Message.sender) == officer.org, col(Message.recipient) == officer.org)


def erase(
    session: Session, runtime: Runtime, officer: OfficerPrincipal, bsn: str, body: ErasureIn
) -> dict[str, Any]:
    """Wissing (art. 12 lid 1 a-e): crypto-shred every stored payload about the subject.

    The per-message data key (wrapped under the KEK) is destroyed and the ciphertext emptied, so
    neither the gateway nor anyone holding the KEK can open these payloads again. The register and
    the message metadata stay (who sent which categories to whom, when, why): the register is
    append-only, and the erasure is recorded as a new entry that names no BSN.
    """
    subject_hash = _subject_hash(runtime, bsn)
    now = runtime.clock()
    rows = session.exec(
        select(StoredPayload.message_id, StoredPayload.wrapped_key)
        .join(Message, col(Message.id) == col(StoredPayload.message_id))
        .where(
            StoredPayload.subject_hash == subject_hash,
            col(StoredPayload.shredded_at).is_(None),
            _erasable_by(officer),
        )
        .order_by(col(StoredPayload.message_id))
    ).all()
    message_ids = [message_id for message_id, _ in rows]
    # Payloads already deleted after their retention period had nothing left to decrypt.
    shredded = [message_id for message_id, wrapped_key in rows if wrapped_key is not None]
    if message_ids:
        session.execute(
            update(StoredPayload)
            .where(col(StoredPayload.message_id).in_(message_ids))
            .values(wrapped_key=None, ciphertext=b"", shredded_at=now)
            .execution_options(synchronize_session="fetch")
        )
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
            },
        ),
    )
    return {"subject": masked(bsn), "payloads_shredded": len(shredded), "register_entry": entry.id}
