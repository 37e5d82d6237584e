"""Dutch letters for a request that gets no report: the written, motivated refusal (art. 10.6-10.7),
the rejection of a request art. 16 does not allow, and the status page while the request is open.

Pure: plain values in, HTML or JSON out; every moment is a parameter and timezone-aware. The pages
are the templates `templates/letters/*.html` on the report's frame (`templates/page.html`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.access.templating import render
from audit.access_report import RIGHTS, format_date_nl, withheld_ground_label
from audit.canonical import rfc3339

__all__ = [
    "STATUS_EXPLANATIONS_NL",
    "DecisionLetter",
    "StatusPage",
    "letter_to_json",
    "render_letter_html",
    "render_status_html",
]

#: What each status means, for the citizen (the API's `status_message` is English).
STATUS_EXPLANATIONS_NL: Mapping[str, str] = {
    "pending_verification": (
        "Uw verzoek is ontvangen. Een medewerker van een Meerpuntpartner moet eerst uw identiteit, de "
        "leeftijd van het kind of uw gezag als ouder of voogd vaststellen (artikel 10 lid 2). Neem "
        "daarvoor een identiteitsbewijs mee naar een organisatie die u of uw kind hulp geeft."
    ),
    "pending_co_requester": (
        "Uw verzoek is ontvangen. Een jongere van 12 tot 16 jaar en de ouder met gezag of de voogd vragen "
        "het overzicht samen aan (artikel 16 lid 2). Zodra de ander het verzoek ook heeft bevestigd, "
        "wordt het behandeld."
    ),
    "pending_decision": (
        "Uw verzoek is compleet. De functionaris gegevensbescherming beslist erover en u krijgt binnen "
        "één maand na ontvangst antwoord (artikel 10 lid 3)."
    ),
    "released": "Uw overzicht is klaar.",
    "refused": "Uw verzoek is afgewezen. In de brief staat waarom (artikel 10 lid 6 en 7).",
    "rejected": (
        "Uw verzoek kan niet worden behandeld, omdat u het volgens artikel 16 niet (alleen) kunt doen. "
        "In de brief staat waarom."
    ),
}

_REJECTIONS_NL: Mapping[str, str] = {
    "16.1": (
        "Is het kind jonger dan 12 jaar, dan vraagt de ouder met gezag of de voogd het overzicht aan "
        "(artikel 16 lid 1 van het Privacyreglement Meerpunt)."
    ),
    "16.2": (
        "Vanaf 16 jaar vraagt de jongere het overzicht zelf aan; een ouder of voogd kan dat niet meer "
        "namens hem of haar doen (artikel 16 lid 2 van het Privacyreglement Meerpunt)."
    ),
}

COMPLAINT_TEXT = (
    "Bent u het niet eens met dit besluit? Dan kunt u een klacht indienen bij de Autoriteit "
    "Persoonsgegevens, de toezichthouder voor privacy in Nederland (www.autoriteitpersoonsgegevens.nl). "
    "U kunt ook de functionaris gegevensbescherming vragen het besluit te heroverwegen."
)


@dataclass(frozen=True)
class DecisionLetter:
    """Schriftelijke, gemotiveerde afwijzing (art. 10.7), or rejection under art. 16."""

    request_id: str
    subject_label: str
    received_at: dt.datetime
    decided_at: dt.datetime
    generated_at: dt.datetime
    outcome: str  # refused | rejected
    ground: str | None = None  # art10_6_a … art10_6_e (refused)
    motivation: str | None = None
    article: str | None = None  # 16.1 | 16.2 (rejected)

    @property
    def title(self) -> str:
        return "Besluit op uw verzoek om inzage"

    @property
    def reason_nl(self) -> str:
        if self.outcome == "refused":
            return f"Wij wijzen uw verzoek af op grond van {withheld_ground_label(self.ground)}."
        return _REJECTIONS_NL.get(self.article or "", "Artikel 16 van het Privacyreglement Meerpunt.")


def letter_to_json(letter: DecisionLetter) -> dict[str, Any]:
    """The same letter in structured form (art. 15), English keys, Dutch texts."""
    complaint = next(r for r in RIGHTS if r.code == "complaint")
    return {
        "outcome": letter.outcome,
        "request": {
            "id": letter.request_id,
            "received_at": rfc3339(letter.received_at),
            "decided_at": rfc3339(letter.decided_at),
        },
        "subject": {"label": letter.subject_label},
        "generated_at": rfc3339(letter.generated_at),
        "refusal": {
            "ground": letter.ground,
            "article": letter.article or ("10.6" if letter.outcome == "refused" else None),
            "ground_label": letter.reason_nl,
            "motivation": letter.motivation,
        },
        "complaint": {"title": complaint.title, "description": COMPLAINT_TEXT},
        "disclosures": [],
    }


def render_letter_html(letter: DecisionLetter) -> str:
    """The written refusal as a printable Dutch letter (art. 10.7: in writing, with the motives)."""
    return render(
        "letters/decision.html",
        title=letter.title,
        request_id=letter.request_id,
        generated_at=letter.generated_at,
        letter=letter,
        complaint_text=COMPLAINT_TEXT,
    )


@dataclass(frozen=True)
class StatusPage:
    """Where an open request stands, for the citizen who opens report.html too early."""

    request_id: str
    subject_label: str
    status: str
    received_at: dt.datetime
    due_date: dt.date
    generated_at: dt.datetime


def render_status_html(page: StatusPage) -> str:
    """Where the request stands and when the answer is due (art. 10 lid 3: within one month)."""
    return render(
        "letters/status.html",
        title="Uw verzoek om inzage",
        request_id=page.request_id,
        generated_at=page.generated_at,
        status=page,
        explanation=STATUS_EXPLANATIONS_NL.get(page.status, ""),
        due=format_date_nl(_noon(page.due_date)),
    )


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
