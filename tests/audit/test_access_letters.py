"""The written, motivated refusal (art. 10.6-10.7), the art. 16 rejection and the status page."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.access.letters import (
    STATUS_EXPLANATIONS_NL,
    DecisionLetter,
    StatusPage,
    letter_to_json,
    render_letter_html,
    render_status_html,
)
from audit.access.rules import STATUSES
from tests.audit.test_access_report import XSS, parse

AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def letter(**change: object) -> DecisionLetter:
    base: dict[str, object] = {
        "request_id": "sar-7",
        "subject_label": "*****2333",
        "received_at": dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC),
        "decided_at": dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC),
        "generated_at": AT,
        "outcome": "refused",
        "ground": "art10_6_e",
        "motivation": "Inzage brengt de veiligheid van een ander in gevaar.",
    }
    return DecisionLetter(**(base | change))  # type: ignore[arg-type]


def test_a_refusal_is_a_dutch_letter_with_the_ground_the_motives_and_the_complaint() -> None:
    page = render_letter_html(letter())
    assert parse(page).errors == []
    assert '<html lang="nl">' in page
    assert "Wij wijzen uw verzoek af op grond van artikel 10 lid 6 onder e" in page
    assert "de bescherming van u of van de rechten en vrijheden van anderen" in page
    assert "Inzage brengt de veiligheid van een ander in gevaar." in page
    assert "Autoriteit Persoonsgegevens" in page
    assert "1 februari 2026" in page and "20 februari 2026" in page


def test_the_motivation_is_escaped() -> None:
    page = render_letter_html(letter(motivation=XSS))
    assert XSS not in page and "&lt;script&gt;" in page


def test_a_script_in_the_motivation_or_the_request_shows_as_text() -> None:
    pages = {
        # motivation, subject, reference in the header and in the footer
        4: render_letter_html(letter(motivation=f"Reden {XSS}", subject_label=XSS, request_id=XSS)),
        3: render_status_html(StatusPage(XSS, XSS, "pending_decision", AT, dt.date(2026, 4, 10), AT)),
    }
    for count, page in pages.items():
        recorder = parse(page)
        assert ("start", "script") not in recorder.tags
        assert recorder.errors == []
        shown = "".join(recorder.text)
        assert shown.count(XSS) == count  # the reader sees exactly what was typed, as text
    assert f"Reden {XSS}" in "".join(parse(pages[4]).text)


@pytest.mark.parametrize(
    ("article", "text"), [("16.1", "jonger dan 12 jaar"), ("16.2", "Vanaf 16 jaar vraagt de jongere")]
)
def test_an_art_16_rejection_explains_who_may_ask(article: str, text: str) -> None:
    rejected = letter(outcome="rejected", ground=None, motivation=None, article=article)
    assert text in render_letter_html(rejected)
    doc = letter_to_json(rejected)
    assert doc["outcome"] == "rejected" and doc["refusal"]["article"] == article
    assert text in doc["refusal"]["ground_label"]


def test_the_letter_as_json() -> None:
    doc = letter_to_json(letter())
    assert doc["outcome"] == "refused"
    assert doc["refusal"]["ground"] == "art10_6_e" and doc["refusal"]["article"] == "10.6"
    assert doc["refusal"]["motivation"].startswith("Inzage")
    assert "Autoriteit Persoonsgegevens" in doc["complaint"]["description"]
    assert doc["request"]["decided_at"] == "2026-02-20T09:00:00Z"


def test_every_status_has_a_dutch_explanation() -> None:
    assert set(STATUS_EXPLANATIONS_NL) == set(STATUSES)


def test_the_status_page_says_where_the_request_stands_and_when_the_answer_is_due() -> None:
    page = render_status_html(
        StatusPage("sar-7", "*****2333", "pending_co_requester", AT, dt.date(2026, 4, 10), AT)
    )
    assert parse(page).errors == []
    assert "samen" in page and "10 april 2026" in page
