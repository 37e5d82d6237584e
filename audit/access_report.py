"""Overzicht voor de betrokkene: kennisnemingsrecht (art. 10 lid 4) and portability (art. 15).

The pure core of the subject-access report. The service gathers the register entries (art. 8)
and consents concerning one subject, the officer's decision on what to withhold (art. 10 lid 6),
and calls :func:`build_report`; :func:`report_to_json` gives the structured, machine-readable form
(art. 15), and `audit.access.html.render_report_html` the Dutch page a parent can read and print
(art. 10 lid 3-4). The Dutch texts both forms share (labels, grounds, rights) are here.

No I/O, no database, no clock: every moment is a parameter and must be timezone-aware. Times are
shown to people in Europe/Amsterdam and written to machines as RFC 3339 UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.canonical import rfc3339
from consent import rules as consent_rules
from consent.rules import LOCAL_TZ, ConsentStatus

__all__ = [
    "CONSENT_FORM_LABELS",
    "CONSENT_STATUS_LABELS",
    "GRANT_STATUS_LABELS",
    "REQUESTED_BY_LABELS",
    "RESPONSE_PERIOD_TEXT",
    "RIGHTS",
    "AccessReport",
    "AccessReportInput",
    "ConsentGrantRecord",
    "ConsentRecord",
    "ConsentStatus",
    "DisclosureRecord",
    "LabelledCategory",
    "LegalBasis",
    "PartnerName",
    "ReportConsent",
    "ReportDisclosure",
    "ReportGrant",
    "Right",
    "build_report",
    "consent_status",
    "format_date_nl",
    "format_datetime_nl",
    "grant_status",
    "legal_basis_label",
    "report_to_json",
    "withheld_ground_label",
]


_MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


# --- Inputs: plain values gathered by the service ------------------------------------------------


@dataclass(frozen=True)
class PartnerName:
    """A Meerpuntpartner as the subject should see it: OIN and display name."""

    oin: str
    name: str


@dataclass(frozen=True)
class DisclosureRecord:
    """One registered verstrekking concerning the subject (register, art. 8 lid 1-2).

    ``legal_basis_type`` is ``consent`` (art. 6), ``override`` (art. 7 lid 3/5, ``ground`` names
    which) or ``statutory`` (``ground`` names the law). ``kind`` is ``disclosure`` or
    ``correction`` (a correction passed on to an earlier recipient, art. 11 lid 4).
    """

    entry_id: str
    occurred_at: datetime
    sender: PartnerName
    recipient: PartnerName
    categories: tuple[str, ...]
    reason: str
    description: str | None
    legal_basis_type: str
    consent_given_at: datetime | None
    ground: str | None
    acknowledged: bool
    acknowledged_at: datetime | None
    kind: str = "disclosure"
    #: Withdrawn before it was acknowledged because the subject's data was erased (art. 12).
    erased_at: datetime | None = None
    #: Whether the recipient had fetched it before the erasure (then it did arrive, unconfirmed).
    delivered_before_erasure: bool = False


@dataclass(frozen=True)
class ConsentGrantRecord:
    """One yes/no line of a toestemmingsverklaring: recipient, data, purpose (Bijlage VIII).

    ``withdrawn_at``: when a withdrawal of this line (or of the whole statement) was received.
    """

    recipient: PartnerName
    categories: tuple[str, ...]
    purpose: str
    granted: bool
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class ConsentRecord:
    """A toestemmingsverklaring (art. 6 lid 1-4), valid from ``given_at`` until ``valid_until``.

    ``withdrawn_at`` is when the withdrawal was received; it applies from then on (Bijlage VIII).
    """

    consent_id: str
    obtained_by: PartnerName
    form: str
    given_at: datetime
    valid_until: datetime
    withdrawn_at: datetime | None
    grants: tuple[ConsentGrantRecord, ...]


@dataclass(frozen=True)
class AccessReportInput:
    """Everything one kennisnemingsverzoek (art. 10) is answered from.

    ``subject_label`` is a masked identifier (``*****1234``), never the full BSN.
    ``withheld_entry_ids`` are register entries the officer left out on ``withheld_ground``
    (``art10_6_a`` … ``art10_6_e``, art. 10 lid 6). ``restricted``: a beperking (art. 14) is active.
    """

    request_id: str
    subject_label: str
    requested_by: str
    received_at: datetime
    decided_at: datetime
    disclosures: tuple[DisclosureRecord, ...]
    consents: tuple[ConsentRecord, ...]
    withheld_entry_ids: frozenset[str]
    withheld_ground: str | None
    category_labels: Mapping[str, str]
    restricted: bool


# --- Consent status ------------------------------------------------------------------------------


CONSENT_STATUS_LABELS: Mapping[ConsentStatus, str] = {
    ConsentStatus.ACTIVE: "geldig",
    ConsentStatus.EXPIRED: "verlopen",
    ConsentStatus.WITHDRAWN: "ingetrokken",
    ConsentStatus.PARTIALLY_WITHDRAWN: "gedeeltelijk ingetrokken",
    ConsentStatus.NOT_YET_VALID: "nog niet ingegaan",
}

GRANT_STATUS_LABELS: Mapping[str, str] = {
    "granted": "Ja, toestemming gegeven",
    "refused": "Nee, geen toestemming",
    "withdrawn": "Toestemming ingetrokken",
}

CONSENT_FORM_LABELS: Mapping[str, str] = {"written": "schriftelijk", "oral": "mondeling"}

REQUESTED_BY_LABELS: Mapping[str, str] = {
    "self": "uzelf",
    "parent_with_authority": "een ouder met gezag",
    "guardian": "een voogd",
    "partner_desk": "een schriftelijk verzoek bij een Meerpuntpartner",
}


def consent_status(consent: ConsentRecord, at: datetime) -> ConsentStatus:
    """Status of a toestemmingsverklaring at ``at``: the rule partners see too
    (``consent.rules.consent_status``, Bijlage VIII)."""
    return consent_rules.consent_status(
        given_at=consent.given_at,
        valid_until=consent.valid_until,
        withdrawn_at=consent.withdrawn_at,
        lines=[(g.granted, g.withdrawn_at) for g in consent.grants],
        at=at,
    )


def _grant_withdrawn(grant: ConsentGrantRecord, at: datetime) -> bool:
    if grant.withdrawn_at is None:
        return False
    _require_aware(withdrawn_at=grant.withdrawn_at)
    return grant.withdrawn_at <= at


def grant_status(grant: ConsentGrantRecord, consent_withdrawn_at: datetime | None, at: datetime) -> str:
    """``granted`` | ``refused`` | ``withdrawn`` for one line of the form at ``at`` (Bijlage VIII)."""
    if not grant.granted:
        return "refused"
    whole = consent_withdrawn_at is not None and consent_withdrawn_at <= at
    return "withdrawn" if whole or _grant_withdrawn(grant, at) else "granted"


# --- Legal basis and grounds in plain Dutch ------------------------------------------------------

_OVERRIDE_LABELS: Mapping[str, str] = {
    "art7_3_refused_consent": (
        "Zonder toestemming, ondanks weigering, vanwege de veiligheid (artikel 7 lid 3)"
    ),
    "art7_5_not_asked_safety": "Zonder toestemming te vragen, vanwege de veiligheid (artikel 7 lid 5)",
    "art7_5_not_asked_contact_loss": (
        "Zonder toestemming te vragen, omdat anders het contact verloren dreigde te gaan (artikel 7 lid 5)"
    ),
}
_STATUTORY_LABELS: Mapping[str, str] = {
    "wet_verplichte_meldcode_veilig_thuis": (
        "Wettelijke plicht: melding bij Veilig Thuis (Wet verplichte meldcode)"
    ),
    "jeugdwet_7_1_4_raad_voor_de_kinderbescherming": (
        "Wettelijke plicht: verzoek van de Raad voor de Kinderbescherming (Jeugdwet)"
    ),
    "court_order": "Rechterlijke uitspraak",
}
_WITHHELD_GROUNDS: Mapping[str, str] = {
    "art10_6_a": "artikel 10 lid 6 onder a van het Privacyreglement Meerpunt (de veiligheid van de Staat)",
    "art10_6_b": (
        "artikel 10 lid 6 onder b van het Privacyreglement Meerpunt "
        "(het voorkomen, opsporen en vervolgen van strafbare feiten)"
    ),
    "art10_6_c": (
        "artikel 10 lid 6 onder c van het Privacyreglement Meerpunt "
        "(gewichtige economische en financiële belangen van de overheid)"
    ),
    "art10_6_d": (
        "artikel 10 lid 6 onder d van het Privacyreglement Meerpunt "
        "(het toezicht op de naleving van wettelijke voorschriften)"
    ),
    "art10_6_e": (
        "artikel 10 lid 6 onder e van het Privacyreglement Meerpunt "
        "(de bescherming van u of van de rechten en vrijheden van anderen)"
    ),
}


def legal_basis_label(legal_basis_type: str, ground: str | None, consent_given_at: datetime | None) -> str:
    """The grondslag of a verstrekking in plain Dutch: toestemming (art. 6), zonder toestemming
    (art. 7 lid 3 and 5) or a wettelijke plicht, as art. 10 lid 4 asks for the purpose of each."""
    if legal_basis_type == "consent":
        if consent_given_at is None:
            return "Toestemming"
        return f"Toestemming (gegeven op {format_date_nl(consent_given_at)})"
    if legal_basis_type == "override":
        return _OVERRIDE_LABELS.get(ground or "", "Zonder toestemming (artikel 7)")
    if legal_basis_type == "statutory":
        if not ground:
            return "Wettelijke grondslag"
        return _STATUTORY_LABELS.get(ground, f"Wettelijke grondslag: {ground}")
    if legal_basis_type == "correction":
        return "Correctie van eerder verstrekte gegevens (artikel 11 lid 4)"
    return f"Grondslag: {legal_basis_type}"


def withheld_ground_label(ground: str | None) -> str:
    """The weigeringsgrond of art. 10 lid 6 in Dutch, for the motivation art. 10 lid 7 requires."""
    if ground is None:
        return "artikel 10 lid 6 van het Privacyreglement Meerpunt"
    return _WITHHELD_GROUNDS.get(ground, f"artikel 10 lid 6 van het Privacyreglement Meerpunt ({ground})")


# --- Rights (art. 10 lid 4: "een omschrijving van de rechten") -----------------------------------


@dataclass(frozen=True)
class Right:
    code: str
    title: str
    article: str
    description: str


RIGHTS: tuple[Right, ...] = (
    Right(
        "correction",
        "Correctie",
        "artikel 11",
        "Kloppen gegevens niet, zijn ze onvolledig of horen ze er niet bij? Dan kunt u vragen ze te "
        "verbeteren, aan te vullen, te verwijderen of af te schermen. Zet in uw verzoek wat er moet "
        "veranderen. Wordt een gegeven aangepast, dan geven wij dat zo snel mogelijk door aan de "
        "organisaties die het eerder kregen.",
    ),
    Right(
        "erasure",
        "Verwijdering",
        "artikel 12",
        "U kunt vragen uw gegevens te wissen, bijvoorbeeld als ze niet meer nodig zijn, als u uw "
        "toestemming intrekt of als ze onrechtmatig zijn gebruikt. Soms mag een organisatie gegevens "
        "toch bewaren, bijvoorbeeld omdat de wet dat verplicht.",
    ),
    Right(
        "objection",
        "Bezwaar",
        "artikel 13",
        "Vanwege uw persoonlijke situatie kunt u bezwaar maken tegen het gebruik van uw gegevens. De "
        "organisatie weegt uw belangen af, en ook die van de kinderen in uw gezin. Wijst zij uw "
        "bezwaar af, dan hoort u schriftelijk waarom.",
    ),
    Right(
        "restriction",
        "Beperking",
        "artikel 14",
        "U kunt vragen het gebruik van uw gegevens te beperken, bijvoorbeeld zolang wordt nagegaan of "
        "ze kloppen of zolang uw bezwaar wordt beoordeeld. De gegevens worden dan alleen bewaard en "
        "niet gedeeld, behalve in uitzonderlijke gevallen die de regels noemen. U hoort het vooraf als "
        "de beperking stopt.",
    ),
    Right(
        "portability",
        "Overdraagbaarheid",
        "artikel 15",
        "U kunt de gegevens die u zelf aan een organisatie gaf in een gestructureerde, gangbare en "
        "machineleesbare vorm krijgen en aan een ander doorgeven. Dit overzicht is daarom ook "
        "beschikbaar als gestructureerd bestand (JSON).",
    ),
    Right(
        "complaint",
        "Klacht bij de Autoriteit Persoonsgegevens",
        "artikel 10 lid 4",
        "Bent u het niet eens met hoe met uw gegevens is omgegaan? Dan kunt u een klacht indienen bij "
        "de Autoriteit Persoonsgegevens, de toezichthouder voor privacy in Nederland "
        "(www.autoriteitpersoonsgegevens.nl).",
    ),
)

RESPONSE_PERIOD = "P1M"
RESPONSE_PERIOD_TEXT = (
    "Op een verzoek krijgt u binnen één maand na ontvangst schriftelijk antwoord "
    "(artikel 10 lid 3, artikel 11 lid 3 en artikel 13 lid 2)."
)


# --- The report ----------------------------------------------------------------------------------


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


# --- Machine-readable form (art. 15) -------------------------------------------------------------


def report_to_json(report: AccessReport) -> dict[str, Any]:
    """Gestructureerde, gangbare en machineleesbare vorm (art. 15 lid 1) of the report.

    English keys, RFC 3339 UTC times, category codes with their Dutch labels. Withheld entries
    appear only as a count and a ground (art. 10 lid 6-7), never by id.
    """
    withheld: dict[str, Any] = {"count": report.withheld_count, "ground": report.withheld_ground}
    if report.withheld_count:
        withheld["ground_label"] = withheld_ground_label(report.withheld_ground)
    return {
        "outcome": "released",
        "request": {
            "id": report.request_id,
            "requested_by": report.requested_by,
            "received_at": rfc3339(report.received_at),
            "decided_at": rfc3339(report.decided_at),
        },
        "subject": {"label": report.subject_label},
        "generated_at": rfc3339(report.generated_at),
        "restricted": report.restricted,
        "disclosures": [_disclosure_json(d) for d in report.disclosures],
        "withheld": withheld,
        "consents": [_consent_json(c) for c in report.consents],
        "rights": [
            {"code": r.code, "title": r.title, "article": r.article, "description": r.description}
            for r in report.rights
        ],
        "response_period": {
            "duration": RESPONSE_PERIOD,
            "article": "10.3",
            "description": RESPONSE_PERIOD_TEXT,
        },
    }


def _partner_json(partner: PartnerName) -> dict[str, str]:
    return {"oin": partner.oin, "name": partner.name}


def _categories_json(categories: Iterable[LabelledCategory]) -> list[dict[str, str]]:
    return [{"code": c.code, "label": c.label} for c in categories]


def _disclosure_json(d: ReportDisclosure) -> dict[str, Any]:
    basis: dict[str, Any] = {"type": d.legal_basis.type}
    if d.legal_basis.consent_given_at is not None:
        basis["consent_given_at"] = rfc3339(d.legal_basis.consent_given_at)
    if d.legal_basis.ground is not None:
        basis["ground"] = d.legal_basis.ground
    basis["ground_label"] = d.legal_basis.label
    return {
        "id": d.entry_id,
        "kind": d.kind,
        "occurred_at": rfc3339(d.occurred_at),
        "sender": _partner_json(d.sender),
        "recipient": _partner_json(d.recipient),
        "categories": _categories_json(d.categories),
        "reason": d.reason,
        "description": d.description,
        "legal_basis": basis,
        "acknowledged": d.acknowledged,
        "acknowledged_at": rfc3339(d.acknowledged_at) if d.acknowledged_at else None,
        "delivery": d.delivery,
        "delivery_label": d.delivery_label,
        "erased_at": rfc3339(d.erased_at) if d.erased_at else None,
    }


def _consent_json(c: ReportConsent) -> dict[str, Any]:
    return {
        "id": c.consent_id,
        "obtained_by": _partner_json(c.obtained_by),
        "form": c.form,
        "given_at": rfc3339(c.given_at),
        "valid_until": rfc3339(c.valid_until),
        "withdrawn_at": rfc3339(c.withdrawn_at) if c.withdrawn_at else None,
        "status": str(c.status),
        "status_label": c.status_label,
        "grants": [
            {
                "recipient": _partner_json(g.recipient),
                "categories": _categories_json(g.categories),
                "purpose": g.purpose,
                "granted": g.granted,
                "status": g.status,
                "status_label": g.status_label,
                "withdrawn_at": rfc3339(g.withdrawn_at) if g.withdrawn_at else None,
            }
            for g in c.grants
        ],
    }


# --- Dates in Dutch ------------------------------------------------------------------------------


def format_datetime_nl(moment: datetime) -> str:
    """``3 februari 2026, 14:05`` in Europe/Amsterdam time."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{format_date_nl(moment)}, {local:%H:%M}"


def format_date_nl(moment: datetime) -> str:
    """``3 februari 2026`` (the date in Europe/Amsterdam)."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.day} {_MONTHS_NL[local.month - 1]} {local.year}"


# --- Helpers -------------------------------------------------------------------------------------


def _require_aware(**moments: datetime) -> None:
    # A naive datetime would be read as server-local time and shift every date on the report.
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
