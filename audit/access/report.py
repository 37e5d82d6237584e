"""Gathering the access report (art. 10.4, 15) from the register and the consent registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from audit.access.models import AccessRequestStatus, SubjectAccessRequest
from audit.access.service import REPORT_KINDS
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
from consent.models import Consent, ConsentGrant, ConsentWithdrawal
from consent.restrictions import is_restricted
from gateway.runtime import Runtime

_REQUESTED_BY = {"self": "self", "parent_with_authority": "parent_with_authority", "guardian": "guardian"}


def _partner(runtime: Runtime, oin: str | None) -> PartnerName:
    partner = runtime.partners.get(oin or "")
    return PartnerName(oin=oin or "", name=partner.name if partner else (oin or "onbekend"))


def _parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _disclosures(session: Session, runtime: Runtime, subject_hash: str) -> tuple[DisclosureRecord, ...]:
    entries = session.exec(
        select(RegisterEntry)
        .where(RegisterEntry.subject_hash == subject_hash, col(RegisterEntry.kind).in_(REPORT_KINDS))
        .order_by(col(RegisterEntry.occurred_at))
    ).all()
    acknowledgements = {
        entry.disclosure_id: entry.occurred_at
        for entry in session.exec(
            select(RegisterEntry).where(
                RegisterEntry.subject_hash == subject_hash, RegisterEntry.kind == "disclosure_received"
            )
        ).all()
    }
    consent_ids = {
        cid for entry in entries for cid in entry.content.get("details", {}).get("consent_ids", [])
    }
    given = (
        {
            c.id: c.given_at
            for c in session.exec(select(Consent).where(col(Consent.id).in_(consent_ids))).all()
        }
        if consent_ids
        else {}
    )
    records = []
    for entry in entries:
        content: dict[str, Any] = entry.content
        basis = content.get("legal_basis") or {"type": "consent"}
        used = content.get("details", {}).get("consent_ids", [])
        acknowledged_at = acknowledgements.get(entry.disclosure_id)
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
                kind="correction" if entry.kind == "correction_sent" else "disclosure",
            )
        )
    return tuple(records)


def _consents(session: Session, runtime: Runtime, subject_hash: str) -> tuple[ConsentRecord, ...]:
    consents = session.exec(select(Consent).where(Consent.subject_hash == subject_hash)).all()
    records = []
    for consent in consents:
        grants = session.exec(select(ConsentGrant).where(ConsentGrant.consent_id == consent.id)).all()
        withdrawals = session.exec(
            select(ConsentWithdrawal).where(ConsentWithdrawal.consent_id == consent.id)
        ).all()
        whole = [w.received_at for w in withdrawals if not w.grant_ids]
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
                    )
                    for grant in grants
                ),
            )
        )
    return tuple(records)


def build_access_report(session: Session, runtime: Runtime, request: SubjectAccessRequest) -> AccessReport:
    now = runtime.clock()
    data = AccessReportInput(
        request_id=request.id,
        subject_label=request.subject_label,
        requested_by="partner_desk"
        if request.channel == "partner_desk"
        else _REQUESTED_BY[request.relationship],
        received_at=request.received_at,
        decided_at=request.decided_at or now,
        disclosures=_disclosures(session, runtime, request.subject_hash),
        consents=_consents(session, runtime, request.subject_hash),
        withheld_entry_ids=frozenset(request.withheld_entries),
        withheld_ground=request.ground if request.withheld_entries else None,
        category_labels={c.code: c.label for c in runtime.categories},
        restricted=is_restricted(session, request.subject_hash, now),
    )
    return build_report(data, now)


def report_available(request: SubjectAccessRequest) -> bool:
    return request.status == AccessRequestStatus.RELEASED
