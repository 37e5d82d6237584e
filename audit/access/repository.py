"""Queries of the right of access: the request itself, and what the consent registry says about
the subject (the birth date on record and who signed which consent, art. 16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.models import SubjectAccessRequest
from audit.models import RegisterEntry
from consent.models import Consent, ConsentWithdrawal
from gateway.db import is_sqlite
from gateway.problems import NotFound

__all__ = ["consent_facts", "load", "subject_entries"]


def load(session: Session, request_id: str, *, for_update: bool = False) -> SubjectAccessRequest:
    """The request; with `for_update` its row is locked (PostgreSQL), so two concurrent confirmations
    or decisions cannot both pass the status check (SQLite serialises writers at BEGIN IMMEDIATE)."""
    query = select(SubjectAccessRequest).where(SubjectAccessRequest.id == request_id)
    if for_update and not is_sqlite(session.get_bind().engine):
        query = query.with_for_update()
    request = session.exec(query).first()
    if request is None:
        raise NotFound("No such access request.")
    return request


def subject_entries(session: Session, subject_hash: str) -> Sequence[RegisterEntry]:
    """Every register entry about the subject, in register order: the report spans all partners
    (art. 10.4), so this read is not scoped to a viewer: only the requester(s) and the deciding
    officers get what comes of it, and that is registered (`record_read`, the decision's entry)."""
    return session.exec(
        select(RegisterEntry)
        .where(RegisterEntry.subject_hash == subject_hash)
        .order_by(col(RegisterEntry.seq))
    ).all()


def consent_facts(session: Session, subject_hash: str) -> tuple[set[dt.date], list[rules.SignedConsent]]:
    """Birth dates on record and who signed which consent (for art. 16 and evidence of gezag)."""
    consents = session.exec(select(Consent).where(Consent.subject_hash == subject_hash)).all()
    withdrawn: dict[str, dt.datetime] = {}
    for withdrawal in session.exec(
        select(ConsentWithdrawal).where(ConsentWithdrawal.subject_hash == subject_hash)
    ).all():
        if withdrawal.grant_ids is None:  # the whole statement
            current = withdrawn.get(withdrawal.consent_id)
            withdrawn[withdrawal.consent_id] = min(withdrawal.received_at, current or withdrawal.received_at)
    signed = [
        rules.SignedConsent(
            signatories=tuple(
                (str(s["bsn_hash"]), str(s.get("role", ""))) for s in consent.signatories if s.get("bsn_hash")
            ),
            given_at=consent.given_at,
            valid_until=consent.valid_until,
            withdrawn_at=withdrawn.get(consent.id),
        )
        for consent in consents
    ]
    return {consent.subject_birth_date for consent in consents}, signed
