"""A realistic access report for the documentation screenshot (docs/img/access-report.png).

A parent's request for an eight-year-old: two consented disclosures and one override between three
partners, a correction passed on, one message withdrawn by an erasure, and a partly withdrawn
consent. Render it with `python -m tests.audit.sample_report OUT.html` and take the screenshot as
described in docs/architecture.md.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from audit.access.html import render_report_html
from audit.access_report import (
    AccessReport,
    AccessReportInput,
    ConsentGrantRecord,
    ConsentRecord,
    DisclosureRecord,
    PartnerName,
    build_report,
)

JGZ = PartnerName("99990000000000000004", "Stichting Jeugdgezondheidszorg Zuid-Holland West")
SCHOOL = PartnerName("99990000000000000027", "OPOZ")
YOUTH_CARE = PartnerName("99990000000000000014", "Jeugdbescherming West")
LABELS = {
    "contact": "Contactgegevens",
    "health": "Lichamelijke gezondheid",
    "help_request": "Hulpvraag en vraagverheldering",
    "safety": "Veiligheidssignalen (huiselijk geweld, kindermishandeling)",
    "education": "Onderwijs, schoolverzuim en leerplicht",
}


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def sample_report() -> AccessReport:
    consent_given = _at(1, 12, 9, 30)
    disclosures = (
        DisclosureRecord(
            "e1",
            _at(1, 20, 13, 5),
            JGZ,
            SCHOOL,
            ("contact", "health"),
            "Afstemming ondersteuning in de klas",
            "Contactgegevens ouders en medische aandachtspunten",
            "consent",
            consent_given,
            None,
            True,
            _at(1, 20, 15, 40),
        ),
        DisclosureRecord(
            "e2",
            _at(2, 3, 10, 15),
            JGZ,
            YOUTH_CARE,
            ("help_request",),
            "Afstemming gezinsplan",
            None,
            "consent",
            consent_given,
            None,
            True,
            _at(2, 3, 11, 2),
        ),
        DisclosureRecord(
            "e3",
            _at(2, 17, 8, 45),
            SCHOOL,
            YOUTH_CARE,
            ("safety", "education"),
            "Zorgen over de veiligheid thuis na signalen in de klas",
            "Verzuim en signalen van de mentor",
            "override",
            None,
            "art7_3_refused_consent",
            True,
            _at(2, 17, 9, 10),
        ),
        DisclosureRecord(
            "e4",
            _at(2, 24, 14, 0),
            SCHOOL,
            YOUTH_CARE,
            ("education",),
            "Correctie van eerder verstrekte gegevens (art. 11 lid 4)",
            "Verzuimcijfers februari gecorrigeerd",
            "correction",
            None,
            None,
            True,
            _at(2, 24, 16, 20),
            kind="correction",
        ),
        DisclosureRecord(
            "e5",
            _at(3, 2, 11, 30),
            JGZ,
            SCHOOL,
            ("contact",),
            "Nieuw telefoonnummer ouders",
            None,
            "consent",
            consent_given,
            None,
            False,
            None,
            erased_at=_at(3, 4, 9, 0),
        ),
    )
    consents = (
        ConsentRecord(
            "c1",
            JGZ,
            "written",
            consent_given,
            _at(1, 12, 9, 30).replace(year=2027),
            None,
            (
                ConsentGrantRecord(SCHOOL, ("contact", "health"), "Ondersteuning in de klas", True),
                ConsentGrantRecord(
                    YOUTH_CARE,
                    ("help_request",),
                    "Afstemming gezinsplan",
                    True,
                    withdrawn_at=_at(3, 1, 10, 0),
                ),
                ConsentGrantRecord(YOUTH_CARE, ("health",), "Afstemming gezinsplan", False),
            ),
        ),
    )
    data = AccessReportInput(
        request_id="3f6c1a2e-8d47-4b1e-9a63-2c5d7e8f9012",
        subject_label="*****4321",
        requested_by="parent_with_authority",
        received_at=_at(3, 5, 8, 12),
        decided_at=_at(3, 9, 15, 30),
        disclosures=disclosures,
        consents=consents,
        withheld_entry_ids=frozenset(),
        withheld_ground=None,
        category_labels=LABELS,
        restricted=False,
    )
    return build_report(data, _at(3, 10, 9, 0))


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "access-report.html")
    target.write_text(render_report_html(sample_report()), encoding="utf-8")
    print(target)
