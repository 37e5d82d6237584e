"""Overzicht voor de betrokkene: kennisnemingsrecht (art. 10 lid 4) and portability (art. 15).

The pure core of the subject-access report. The service gathers the register entries (art. 8)
and consents concerning one subject, the officer's decision on what to withhold (art. 10 lid 6),
and calls :func:`build_report`; :func:`report_to_json` gives the structured, machine-readable form
(art. 15), and `audit.access.html.render_report_html` the Dutch page a parent can read and print
(art. 10 lid 3-4). The Dutch texts both forms share (labels, grounds, rights) are here.

No I/O, no database, no clock: every moment is a parameter and must be timezone-aware. Times are
shown to people in Europe/Amsterdam and written to machines as RFC 3339 UTC.

One module per part, each importing only the ones before it: `inputs` (the records the service
gathers), `dates_nl` (dates in Dutch), `labels` (codes in plain Dutch: consent status and form, who
asked, grondslag, weigeringsgrond), `status` (where a consent and each of its lines stand),
`rights` (the rights of art. 11-15, the complaint, the response period), `report`
(:func:`build_report` and the report's values) and `json_form` (:func:`report_to_json`). Import
from `audit.access_report`: it re-exports every public name.
"""

from __future__ import annotations

from audit.access_report.dates_nl import format_date_nl, format_datetime_nl
from audit.access_report.inputs import (
    AccessReportInput,
    ConsentGrantRecord,
    ConsentRecord,
    DisclosureRecord,
    PartnerName,
)
from audit.access_report.json_form import report_to_json
from audit.access_report.labels import (
    CONSENT_FORM_LABELS,
    CONSENT_STATUS_LABELS,
    GRANT_STATUS_LABELS,
    REQUESTED_BY_LABELS,
    legal_basis_label,
    withheld_ground_label,
)
from audit.access_report.report import (
    AccessReport,
    LabelledCategory,
    LegalBasis,
    ReportConsent,
    ReportDisclosure,
    ReportGrant,
    build_report,
)
from audit.access_report.rights import RESPONSE_PERIOD, RESPONSE_PERIOD_TEXT, RIGHTS, Right
from audit.access_report.status import consent_status, grant_status
from consent.rules import ConsentStatus

__all__ = [
    "CONSENT_FORM_LABELS",
    "CONSENT_STATUS_LABELS",
    "GRANT_STATUS_LABELS",
    "REQUESTED_BY_LABELS",
    "RESPONSE_PERIOD",
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
