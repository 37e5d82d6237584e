"""Gathering the access report (art. 10.4, 15) from the register and the consent registry, and
reading it: only the requester(s) and the deciding officers, and every read is registered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from audit.access import rules
from audit.access.letters import DecisionLetter, StatusPage
from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.repository import subject_entries
from audit.access.views import is_requester, read, reader_kind, reader_org
from audit.access_report import (
    AccessReport,
    AccessReportInput,
    ConsentGrantRecord,
    ConsentRecord,
    DisclosureRecord,
    PartnerName,
    build_report,
)
from audit.models import RegisterEntry
from audit.service import EntryKind, record_read
from consent.models import Consent, ConsentGrant, ConsentWithdrawal
from consent.restrictions import is_restricted
from gateway.principals import Principal
from gateway.runtime import Runtime

__all__ = ["build_access_report", "open_report"]

_REQUESTED_BY = {"self": "self", "parent_with_authority": "parent_with_authority", "guardian": "guardian"}


def _partner(runtime: Runtime, oin: str | None) -> PartnerName:
    partner = runtime.partners.get(oin or "")
    return PartnerName(oin=oin or "", name=partner.name if partner else (oin or "onbekend"))


def _parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _erasures(entries: Sequence[RegisterEntry]) -> dict[str, tuple[dt.datetime, bool]]:
    """Messages withdrawn by an erasure before acknowledgement (art. 12): when, and whether fetched."""
    withdrawn: dict[str, tuple[dt.datetime, bool]] = {}
    for entry in entries:
        if entry.kind != EntryKind.ERASURE:
            continue
        content: dict[str, Any] = entry.content
        for message_id, previous in (content.get("details", {}).get("withdrawn") or {}).items():
            withdrawn.setdefault(message_id, (_parse(content["occurred_at"]), previous == "delivered"))
    return withdrawn


def _disclosures(
    session: Session, runtime: Runtime, entries: Sequence[RegisterEntry], withheld: frozenset[str]
) -> tuple[DisclosureRecord, ...]:
    rows = [e for e in entries if e.kind in rules.REPORT_KINDS]
    acknowledgements = {
        entry.disclosure_id: entry.occurred_at
        for entry in entries
        if entry.kind == EntryKind.DISCLOSURE_RECEIVED and entry.id not in withheld
    }
    erased = _erasures(entries)
    consent_ids = {cid for entry in rows for cid in entry.content.get("details", {}).get("consent_ids", [])}
    given = (
        {
            c.id: c.given_at
            for c in session.exec(select(Consent).where(col(Consent.id).in_(consent_ids))).all()
        }
        if consent_ids
        else {}
    )
    records = []
    for entry in rows:
        content: dict[str, Any] = entry.content
        basis = content.get("legal_basis") or {"type": "consent"}
        used = content.get("details", {}).get("consent_ids", [])
        acknowledged_at = acknowledgements.get(entry.disclosure_id)
        erased_at, fetched = erased.get(entry.disclosure_id or "", (None, False))
        records.append(
            DisclosureRecord(
                entry_id=entry.id,
                occurred_at=_parse(content["occurred_at"]),
                sender=_partner(runtime, entry.sender),
                recipient=_partner(runtime, entry.recipient),
                categories=tuple(content.get("categories", [])),
                reason=content.get("reason") or "",
                description=content.get("description"),
                legal_basis_type=str(basis.get("type", "consent")),
                consent_given_at=given.get(used[0]) if used else None,
                ground=basis.get("ground"),
                acknowledged=acknowledged_at is not None,
                acknowledged_at=acknowledged_at,
                kind="correction" if entry.kind == EntryKind.CORRECTION_SENT else "disclosure",
                erased_at=erased_at if acknowledged_at is None else None,
                delivered_before_erasure=fetched,
            )
        )
    return tuple(records)


def _consents(session: Session, runtime: Runtime, subject_hash: str) -> tuple[ConsentRecord, ...]:
    consents = session.exec(select(Consent).where(Consent.subject_hash == subject_hash)).all()
    ids = [c.id for c in consents]
    grants_of: dict[str, list[ConsentGrant]] = {}
    withdrawals_of: dict[str, list[ConsentWithdrawal]] = {}
    if ids:
        for grant in session.exec(
            select(ConsentGrant)
            .where(col(ConsentGrant.consent_id).in_(ids))
            .order_by(col(ConsentGrant.position))
        ).all():
            grants_of.setdefault(grant.consent_id, []).append(grant)
        for withdrawal in session.exec(
            select(ConsentWithdrawal).where(ConsentWithdrawal.subject_hash == subject_hash)
        ).all():
            withdrawals_of.setdefault(withdrawal.consent_id, []).append(withdrawal)
    records = []
    for consent in consents:
        withdrawals = withdrawals_of.get(consent.id, [])
        whole = [w.received_at for w in withdrawals if not w.grant_ids]

        def grant_withdrawn_at(
            grant_id: str, withdrawals: list[ConsentWithdrawal] = withdrawals
        ) -> dt.datetime | None:
            moments = [w.received_at for w in withdrawals if w.grant_ids and grant_id in w.grant_ids]
            return min(moments) if moments else None

        records.append(
            ConsentRecord(
                consent_id=consent.id,
                obtained_by=_partner(runtime, consent.obtained_by),
                form=consent.form,
                given_at=consent.given_at,
                valid_until=consent.valid_until,
                withdrawn_at=min(whole) if whole else None,
                grants=tuple(
                    ConsentGrantRecord(
                        recipient=_partner(runtime, grant.recipient),
                        categories=tuple(grant.categories),
                        purpose=grant.purpose,
                        granted=grant.granted,
                        withdrawn_at=grant_withdrawn_at(grant.id),
                    )
                    for grant in grants_of.get(consent.id, [])
                ),
            )
        )
    return tuple(records)


def build_access_report(session: Session, runtime: Runtime, request: SubjectAccessRequest) -> AccessReport:
    now = runtime.clock()
    entries = subject_entries(session, request.subject_hash)
    withheld = frozenset(request.withheld_entries)
    data = AccessReportInput(
        request_id=request.id,
        subject_label=request.subject_label,
        requested_by="partner_desk"
        if request.channel == "partner_desk"
        else _REQUESTED_BY[request.relationship],
        received_at=request.received_at,
        decided_at=request.decided_at or now,
        disclosures=_disclosures(session, runtime, entries, withheld),
        consents=_consents(session, runtime, request.subject_hash),
        withheld_entry_ids=withheld,
        withheld_ground=request.ground if request.withheld_entries else None,
        category_labels={c.code: c.label for c in runtime.categories},
        restricted=is_restricted(session, request.subject_hash, now),
    )
    return build_report(data, now)


def _letter(request: SubjectAccessRequest, now: dt.datetime) -> DecisionLetter:
    rejection = request.rejection or {}
    return DecisionLetter(
        request_id=request.id,
        subject_label=request.subject_label,
        received_at=request.received_at,
        decided_at=request.decided_at or now,
        generated_at=now,
        outcome="refused" if request.status == AccessRequestStatus.REFUSED else "rejected",
        ground=request.ground,
        motivation=request.motivation,
        article=rejection.get("article"),
    )


def open_report(
    session: Session, runtime: Runtime, principal: Principal, request_id: str, *, form: str
) -> AccessReport | DecisionLetter | StatusPage:
    """The report, the written refusal, or (when it may not be read yet) where the request stands.

    Officers who may decide read the report before the decision (to decide what to withhold); the
    requester(s), and a partner desk for its own written request, read it once it is decided. Every
    read of the report or letter writes a `register_accessed` entry (who, role, organisation, the
    request and the subject's keyed hash) in the same transaction: no log entry, no answer.
    """
    request = read(session, runtime, principal, request_id)
    now = runtime.clock()
    allowed = rules.may_read_report(
        reader_kind(principal),
        org=reader_org(principal),
        lodged_with=request.lodged_with,
        channel=request.channel,
        is_requester=is_requester(principal, request, runtime),
        status=request.status,
    )
    if not allowed:
        return StatusPage(
            request.id, request.subject_label, request.status, request.received_at, request.due_date, now
        )
    result: AccessReport | DecisionLetter
    if request.status in (AccessRequestStatus.REFUSED, AccessRequestStatus.REJECTED):
        result = _letter(request, now)
        returned = 0
    else:
        result = build_access_report(session, runtime, request)
        returned = len(result.disclosures)
    record_read(
        session,
        principal,
        at=now,
        action="access_report",
        subject_hash=request.subject_hash,
        returned=returned,
        details={
            "request_id": request.id,
            "format": form,
            "request_status": request.status,
            "lodged_with": request.lodged_with,
        },
    )
    return result
