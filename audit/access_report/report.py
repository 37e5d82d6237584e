"""The report itself: what the subject is shown, built from the service's input (art. 10 lid 4, 6-7).

`build_report` leaves out what the officer withheld (only counting it), labels every category and
grondslag, gives each consent and line its status at the moment of the report and masks anything
that looks like a BSN. The result is frozen values that the page, the PDF and the JSON form only
read; the Dutch texts they show come from `labels` and `dates_nl`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from audit.access_report.dates_nl import format_date_nl, format_datetime_nl
from audit.access_report.inputs import (
    AccessReportInput,
    ConsentGrantRecord,
    ConsentRecord,
    DisclosureRecord,
    PartnerName,
    _require_aware,
)
from audit.access_report.labels import (
    CONSENT_FORM_LABELS,
    CONSENT_STATUS_LABELS,
    GRANT_STATUS_LABELS,
    REQUESTED_BY_LABELS,
    legal_basis_label,
)
from audit.access_report.rights import RIGHTS, Right
from audit.access_report.status import consent_status, grant_status
from consent.rules import ConsentStatus


@dataclass(frozen=True)
class LabelledCategory:
    code: str
    label: str


@dataclass(frozen=True)
class LegalBasis:
    """Grondslag of one verstrekking; ``label`` is the Dutch text shown to the subject."""

    type: str
    consent_given_at: datetime | None
    ground: str | None
    label: str


@dataclass(frozen=True)
class ReportDisclosure:
    entry_id: str
    kind: str
    occurred_at: datetime
    sender: PartnerName
    recipient: PartnerName
    categories: tuple[LabelledCategory, ...]
    reason: str
    description: str | None
    legal_basis: LegalBasis
    acknowledged: bool
    acknowledged_at: datetime | None
    erased_at: datetime | None = None
    delivered_before_erasure: bool = False

    @property
    def is_correction(self) -> bool:
        return self.kind == "correction"

    @property
    def delivery(self) -> str:
        """``acknowledged`` | ``erased`` | ``delivered_then_erased`` | ``pending`` (art. 8.2, 12)."""
        if self.acknowledged:
            return "acknowledged"
        if self.erased_at is not None:
            return "delivered_then_erased" if self.delivered_before_erasure else "erased"
        return "pending"

    @property
    def delivery_label(self) -> str:
        """Whether the data arrived (art. 8.2), in Dutch; an erased message never claims it did."""
        if self.acknowledged:
            return f"Ja, op {format_datetime_nl(self.acknowledged_at)}" if self.acknowledged_at else "Ja"
        if self.erased_at is not None:
            when = format_date_nl(self.erased_at)
            if self.delivered_before_erasure:
                return f"Opgehaald, niet bevestigd; gewist op {when} (artikel 12)"
            return f"Niet afgeleverd: gewist op {when} (artikel 12)"
        return "Nog niet bevestigd"


@dataclass(frozen=True)
class ReportGrant:
    recipient: PartnerName
    categories: tuple[LabelledCategory, ...]
    purpose: str
    granted: bool
    withdrawn_at: datetime | None = None
    status: str = "granted"

    @property
    def status_label(self) -> str:
        label = GRANT_STATUS_LABELS.get(self.status, self.status)
        if self.status == "withdrawn" and self.withdrawn_at is not None:
            return f"{label} op {format_date_nl(self.withdrawn_at)}"
        return label


@dataclass(frozen=True)
class ReportConsent:
    consent_id: str
    obtained_by: PartnerName
    form: str
    given_at: datetime
    valid_until: datetime
    withdrawn_at: datetime | None
    status: ConsentStatus
    grants: tuple[ReportGrant, ...]

    @property
    def status_label(self) -> str:
        return CONSENT_STATUS_LABELS[self.status]

    @property
    def form_label(self) -> str:
        return CONSENT_FORM_LABELS.get(self.form, self.form)


@dataclass(frozen=True)
class AccessReport:
    """Mededeling op een kennisnemingsverzoek (art. 10 lid 3-4), as of ``generated_at``."""

    request_id: str
    subject_label: str
    requested_by: str
    received_at: datetime
    decided_at: datetime
    generated_at: datetime
    disclosures: tuple[ReportDisclosure, ...]
    withheld_count: int
    withheld_ground: str | None
    consents: tuple[ReportConsent, ...]
    rights: tuple[Right, ...]
    restricted: bool

    @property
    def requested_by_label(self) -> str:
        return REQUESTED_BY_LABELS.get(self.requested_by, self.requested_by)


# Nine digits in a row look like a BSN: never print one, even if a caller passed it by mistake.
_BSN_LIKE = re.compile(r"\d{9}")


def _mask_subject_label(label: str) -> str:
    return _BSN_LIKE.sub(lambda m: "*****" + m.group()[-4:], label)


def build_report(data: AccessReportInput, at: datetime) -> AccessReport:
    """Volledig overzicht voor de betrokkene (art. 10 lid 4), as it stands at ``at``.

    Disclosures newest first; entries the officer withheld (art. 10 lid 6) are left out and only
    counted, so the page can say that something was withheld and on which ground (art. 10 lid 7).
    Consents newest first with their status at ``at``; the rights of art. 11-15 and the complaint.
    """
    _require_aware(at=at, received_at=data.received_at, decided_at=data.decided_at)
    labels = data.category_labels
    shown: list[ReportDisclosure] = []
    withheld = 0
    for record in data.disclosures:
        if record.entry_id in data.withheld_entry_ids:
            withheld += 1
            continue
        shown.append(_report_disclosure(record, labels))
    shown.sort(key=lambda d: (d.occurred_at, d.entry_id), reverse=True)
    consents = sorted(
        (_report_consent(c, labels, at) for c in data.consents),
        key=lambda c: (c.given_at, c.consent_id),
        reverse=True,
    )
    return AccessReport(
        request_id=data.request_id,
        subject_label=_mask_subject_label(data.subject_label),
        requested_by=data.requested_by,
        received_at=data.received_at,
        decided_at=data.decided_at,
        generated_at=at,
        disclosures=tuple(shown),
        withheld_count=withheld,
        withheld_ground=data.withheld_ground if withheld else None,
        consents=tuple(consents),
        rights=RIGHTS,
        restricted=data.restricted,
    )


def _labelled(codes: Iterable[str], labels: Mapping[str, str]) -> tuple[LabelledCategory, ...]:
    # An unknown code is still shown (as itself): leaving it out would hide a disclosure.
    return tuple(LabelledCategory(code, labels.get(code, code)) for code in dict.fromkeys(codes))


def _report_disclosure(record: DisclosureRecord, labels: Mapping[str, str]) -> ReportDisclosure:
    _require_aware(occurred_at=record.occurred_at)
    if record.consent_given_at is not None:
        _require_aware(consent_given_at=record.consent_given_at)
    if record.acknowledged_at is not None:
        _require_aware(acknowledged_at=record.acknowledged_at)
    consent_given_at = record.consent_given_at if record.legal_basis_type == "consent" else None
    basis = LegalBasis(
        type=record.legal_basis_type,
        consent_given_at=consent_given_at,
        ground=record.ground,
        label=legal_basis_label(record.legal_basis_type, record.ground, consent_given_at),
    )
    return ReportDisclosure(
        entry_id=record.entry_id,
        kind=record.kind,
        occurred_at=record.occurred_at,
        sender=record.sender,
        recipient=record.recipient,
        categories=_labelled(record.categories, labels),
        reason=record.reason,
        description=record.description,
        legal_basis=basis,
        acknowledged=record.acknowledged,
        acknowledged_at=record.acknowledged_at,
        erased_at=record.erased_at,
        delivered_before_erasure=record.delivered_before_erasure,
    )


def _report_consent(consent: ConsentRecord, labels: Mapping[str, str], at: datetime) -> ReportConsent:
    return ReportConsent(
        consent_id=consent.consent_id,
        obtained_by=consent.obtained_by,
        form=consent.form,
        given_at=consent.given_at,
        valid_until=consent.valid_until,
        withdrawn_at=consent.withdrawn_at,
        status=consent_status(consent, at),
        grants=tuple(
            ReportGrant(
                g.recipient,
                _labelled(g.categories, labels),
                g.purpose,
                g.granted,
                withdrawn_at=_grant_withdrawn_at(g, consent.withdrawn_at, at),
                status=grant_status(g, consent.withdrawn_at, at),
            )
            for g in consent.grants
        ),
    )


def _grant_withdrawn_at(
    grant: ConsentGrantRecord, consent_withdrawn_at: datetime | None, at: datetime
) -> datetime | None:
    moments = [m for m in (grant.withdrawn_at, consent_withdrawn_at) if m is not None and m <= at]
    return min(moments) if moments and grant.granted else None
