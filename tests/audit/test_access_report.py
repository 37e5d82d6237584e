"""Overzicht voor de betrokkene (art. 10 lid 3-4, art. 15): the pure report core."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.access.html import format_date_short_nl, render_report_html
from audit.access_report import (
    CONSENT_STATUS_LABELS,
    AccessReport,
    AccessReportInput,
    ConsentGrantRecord,
    ConsentRecord,
    ConsentStatus,
    DisclosureRecord,
    PartnerName,
    build_report,
    consent_status,
    format_datetime_nl,
    legal_basis_label,
    report_to_json,
)

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SCHOOL = PartnerName("00000001234567890000", "Het Baken College")
WIJKTEAM = PartnerName("00000009876543210000", "Jeugd- en gezinsteam Zoetermeer")
GGZ = PartnerName("00000005555555550000", "GGZ Delfland")
FULL_BSN = "111222333"
LABELS = {
    "education": "Onderwijs, schoolverzuim en leerplicht",
    "safety": "Veiligheidssignalen (huiselijk geweld, kindermishandeling)",
    "mental_health": "Psychische gezondheid en verslaving",
}
XSS = "<script>alert('x')</script>"


def make_disclosure(entry_id: str = "e1", **changes: Any) -> DisclosureRecord:
    record = DisclosureRecord(
        entry_id=entry_id,
        occurred_at=datetime(2026, 2, 3, 13, 5, tzinfo=UTC),
        sender=SCHOOL,
        recipient=WIJKTEAM,
        categories=("education",),
        reason="Zorgen over schoolverzuim",
        description="Verzuimoverzicht januari",
        legal_basis_type="consent",
        consent_given_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        ground=None,
        acknowledged=True,
        acknowledged_at=datetime(2026, 2, 3, 14, 0, tzinfo=UTC),
    )
    return replace(record, **changes)


def make_consent(consent_id: str = "c1", **changes: Any) -> ConsentRecord:
    consent = ConsentRecord(
        consent_id=consent_id,
        obtained_by=SCHOOL,
        form="written",
        given_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        valid_until=datetime(2027, 1, 15, 9, 0, tzinfo=UTC),
        withdrawn_at=None,
        grants=(
            ConsentGrantRecord(WIJKTEAM, ("education",), "Afstemming van hulp", True),
            ConsentGrantRecord(GGZ, ("mental_health",), "Doorverwijzing", False),
        ),
    )
    return replace(consent, **changes)


def make_input(**changes: Any) -> AccessReportInput:
    data = AccessReportInput(
        request_id="sar-42",
        subject_label="*****2333",
        requested_by="parent_with_authority",
        received_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        decided_at=datetime(2026, 3, 9, 15, 30, tzinfo=UTC),
        disclosures=(make_disclosure(),),
        consents=(make_consent(),),
        withheld_entry_ids=frozenset(),
        withheld_ground=None,
        category_labels=LABELS,
        restricted=False,
    )
    return replace(data, **changes)


def report(**changes: Any) -> AccessReport:
    return build_report(make_input(**changes), AT)


class TagRecorder(HTMLParser):
    """Start/end tags in document order, and whether every non-void element closes where it should."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, str]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(("start", tag))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(("end", tag))
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> TagRecorder:
    recorder = TagRecorder()
    recorder.feed(page)
    recorder.close()
    return recorder


# --- consent_status (Bijlage VIII) ---------------------------------------------------------------

GIVEN = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
UNTIL = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (GIVEN - TICK, ConsentStatus.NOT_YET_VALID),
        (GIVEN, ConsentStatus.ACTIVE),
        (UNTIL - TICK, ConsentStatus.ACTIVE),
        (UNTIL, ConsentStatus.EXPIRED),
        (UNTIL + timedelta(days=400), ConsentStatus.EXPIRED),
    ],
)
def test_consent_status_validity_window_is_half_open(at: datetime, expected: ConsentStatus) -> None:
    assert consent_status(make_consent(given_at=GIVEN, valid_until=UNTIL), at) == expected


def test_withdrawal_counts_from_the_moment_it_was_received() -> None:
    withdrawn_at = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    consent = make_consent(withdrawn_at=withdrawn_at)
    assert consent_status(consent, withdrawn_at - TICK) == "active"
    assert consent_status(consent, withdrawn_at) == "withdrawn"
    assert consent_status(consent, UNTIL + timedelta(days=1)) == "withdrawn"


def test_status_codes_are_english_and_labels_dutch() -> None:
    assert {str(s) for s in ConsentStatus} == {
        "active",
        "expired",
        "withdrawn",
        "partially_withdrawn",
        "not_yet_valid",
    }
    assert dict(CONSENT_STATUS_LABELS) == {
        ConsentStatus.ACTIVE: "geldig",
        ConsentStatus.EXPIRED: "verlopen",
        ConsentStatus.WITHDRAWN: "ingetrokken",
        ConsentStatus.PARTIALLY_WITHDRAWN: "gedeeltelijk ingetrokken",
        ConsentStatus.NOT_YET_VALID: "nog niet ingegaan",
    }


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        consent_status(make_consent(), datetime(2026, 3, 1, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_report(make_input(), datetime(2026, 3, 1, 12, 0))
    naive = make_disclosure(occurred_at=datetime(2026, 2, 1, 12, 0))
    with pytest.raises(ValueError, match="occurred_at"):
        build_report(make_input(disclosures=(naive,)), AT)


# --- build_report (art. 10 lid 4, lid 6) ---------------------------------------------------------


def test_disclosures_newest_first() -> None:
    old = make_disclosure("old", occurred_at=datetime(2025, 12, 1, tzinfo=UTC))
    new = make_disclosure("new", occurred_at=datetime(2026, 3, 1, tzinfo=UTC))
    mid = make_disclosure("mid", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    result = report(disclosures=(old, new, mid))
    assert [d.entry_id for d in result.disclosures] == ["new", "mid", "old"]


def test_withheld_entries_are_left_out_and_only_counted() -> None:
    disclosures = tuple(make_disclosure(f"e{i}") for i in range(4))
    result = report(
        disclosures=disclosures,
        withheld_entry_ids=frozenset({"e1", "e3", "not-about-this-subject"}),
        withheld_ground="art10_6_e",
    )
    assert sorted(d.entry_id for d in result.disclosures) == ["e0", "e2"]
    assert result.withheld_count == 2
    assert result.withheld_ground == "art10_6_e"
    body = json.dumps(report_to_json(result))
    assert '"e1"' not in body and '"e3"' not in body


def test_nothing_withheld_means_no_ground() -> None:
    result = report(withheld_ground="art10_6_e")
    assert result.withheld_count == 0
    assert result.withheld_ground is None
    assert report_to_json(result)["withheld"] == {"count": 0, "ground": None}
    assert "niet opgenomen" not in render_report_html(result)


def test_consents_newest_first_with_status_at_report_time() -> None:
    older = make_consent("old", given_at=datetime(2025, 1, 1, tzinfo=UTC), valid_until=GIVEN)
    newer = make_consent("new")
    result = report(consents=(older, newer))
    assert [(c.consent_id, c.status) for c in result.consents] == [("new", "active"), ("old", "expired")]


def test_unknown_category_is_shown_by_its_code() -> None:
    result = report(disclosures=(make_disclosure(categories=("education", "housing", "education")),))
    assert [(c.code, c.label) for c in result.disclosures[0].categories] == [
        ("education", LABELS["education"]),
        ("housing", "housing"),
    ]


def test_full_bsn_never_reaches_the_report() -> None:
    result = report(subject_label=FULL_BSN)
    assert result.subject_label == "*****2333"
    assert FULL_BSN not in render_report_html(result)
    assert FULL_BSN not in json.dumps(report_to_json(result))


# --- report_to_json (art. 15) --------------------------------------------------------------------


def test_json_shape() -> None:
    override = make_disclosure(
        "o1",
        occurred_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        recipient=GGZ,
        categories=("safety", "mental_health"),
        legal_basis_type="override",
        consent_given_at=datetime(2025, 1, 1, tzinfo=UTC),  # irrelevant without consent: dropped
        ground="art7_5_not_asked_safety",
        acknowledged=False,
        acknowledged_at=None,
    )
    doc = report_to_json(report(disclosures=(make_disclosure(), override)))
    json.dumps(doc)  # plain JSON values only

    assert doc["request"] == {
        "id": "sar-42",
        "requested_by": "parent_with_authority",
        "received_at": "2026-03-01T10:00:00Z",
        "decided_at": "2026-03-09T15:30:00Z",
    }
    assert doc["subject"] == {"label": "*****2333"}
    assert doc["generated_at"] == "2026-03-10T12:00:00Z"
    assert doc["restricted"] is False
    first, second = doc["disclosures"]
    assert first == {
        "id": "o1",
        "kind": "disclosure",
        "occurred_at": "2026-03-05T08:00:00Z",
        "sender": {"oin": SCHOOL.oin, "name": SCHOOL.name},
        "recipient": {"oin": GGZ.oin, "name": GGZ.name},
        "categories": [
            {"code": "safety", "label": LABELS["safety"]},
            {"code": "mental_health", "label": LABELS["mental_health"]},
        ],
        "reason": "Zorgen over schoolverzuim",
        "description": "Verzuimoverzicht januari",
        "legal_basis": {
            "type": "override",
            "ground": "art7_5_not_asked_safety",
            "ground_label": "Zonder toestemming te vragen, vanwege de veiligheid (artikel 7 lid 5)",
        },
        "acknowledged": False,
        "acknowledged_at": None,
        "delivery": "pending",
        "delivery_label": "Nog niet bevestigd",
        "erased_at": None,
    }
    assert second["legal_basis"] == {
        "type": "consent",
        "consent_given_at": "2026-01-15T09:00:00Z",
        "ground_label": "Toestemming (gegeven op 15 januari 2026)",
    }
    assert second["acknowledged_at"] == "2026-02-03T14:00:00Z"
    assert doc["withheld"] == {"count": 0, "ground": None}

    (consent,) = doc["consents"]
    assert consent["status"] == "active"
    assert consent["status_label"] == "geldig"
    assert consent["valid_until"] == "2027-01-15T09:00:00Z"
    assert consent["withdrawn_at"] is None
    assert consent["grants"][1] == {
        "recipient": {"oin": GGZ.oin, "name": GGZ.name},
        "categories": [{"code": "mental_health", "label": LABELS["mental_health"]}],
        "purpose": "Doorverwijzing",
        "granted": False,
        "status": "refused",
        "status_label": "Nee, geen toestemming",
        "withdrawn_at": None,
    }

    assert [r["code"] for r in doc["rights"]] == [
        "correction",
        "erasure",
        "objection",
        "restriction",
        "portability",
        "complaint",
    ]
    assert all(set(r) >= {"code", "title", "description"} for r in doc["rights"])
    assert "Autoriteit Persoonsgegevens" in doc["rights"][-1]["title"]
    assert doc["response_period"]["duration"] == "P1M"
    assert "één maand" in doc["response_period"]["description"]


def test_json_times_are_utc_whatever_the_input_offset() -> None:
    summer = datetime(2026, 7, 1, 4, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    other = datetime(2026, 7, 1, 0, 30, tzinfo=timezone(timedelta(hours=-2)))
    doc = report_to_json(report(disclosures=(make_disclosure("a", occurred_at=summer),), received_at=other))
    assert doc["disclosures"][0]["occurred_at"] == "2026-07-01T02:30:00Z"
    assert doc["request"]["received_at"] == "2026-07-01T02:30:00Z"


def test_json_withheld_names_the_ground() -> None:
    doc = report_to_json(
        report(
            disclosures=(make_disclosure("a"), make_disclosure("b")),
            withheld_entry_ids=frozenset({"b"}),
            withheld_ground="art10_6_e",
        )
    )
    assert doc["withheld"]["count"] == 1
    assert doc["withheld"]["ground"] == "art10_6_e"
    assert "artikel 10 lid 6 onder e" in doc["withheld"]["ground_label"]
    assert [d["id"] for d in doc["disclosures"]] == ["a"]


def test_json_marks_corrections() -> None:
    doc = report_to_json(report(disclosures=(make_disclosure(kind="correction"),)))
    assert doc["disclosures"][0]["kind"] == "correction"


# --- legal basis in Dutch (art. 6, 7) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis_type", "ground", "expected"),
    [
        (
            "override",
            "art7_3_refused_consent",
            "Zonder toestemming, ondanks weigering, vanwege de veiligheid (artikel 7 lid 3)",
        ),
        (
            "override",
            "art7_5_not_asked_safety",
            "Zonder toestemming te vragen, vanwege de veiligheid (artikel 7 lid 5)",
        ),
        (
            "override",
            "art7_5_not_asked_contact_loss",
            "Zonder toestemming te vragen, omdat anders het contact verloren dreigde te gaan "
            "(artikel 7 lid 5)",
        ),
        (
            "statutory",
            "wet_verplichte_meldcode_veilig_thuis",
            "Wettelijke plicht: melding bij Veilig Thuis (Wet verplichte meldcode)",
        ),
        (
            "statutory",
            "jeugdwet_7_1_4_raad_voor_de_kinderbescherming",
            "Wettelijke plicht: verzoek van de Raad voor de Kinderbescherming (Jeugdwet)",
        ),
        ("statutory", "court_order", "Rechterlijke uitspraak"),
        ("statutory", "wet_op_de_lijkbezorging", "Wettelijke grondslag: wet_op_de_lijkbezorging"),
    ],
)
def test_legal_basis_labels(basis_type: str, ground: str, expected: str) -> None:
    assert legal_basis_label(basis_type, ground, None) == expected
    page = render_report_html(
        report(disclosures=(make_disclosure(legal_basis_type=basis_type, ground=ground),))
    )
    assert expected in page


def test_consent_basis_names_the_date_in_dutch() -> None:
    given_at = datetime(2026, 2, 3, 23, 30, tzinfo=UTC)  # already 4 February in Amsterdam
    assert legal_basis_label("consent", None, given_at) == "Toestemming (gegeven op 4 februari 2026)"
    assert legal_basis_label("consent", None, None) == "Toestemming"
    assert legal_basis_label("consent", None, datetime(2026, 2, 3, 12, 0, tzinfo=UTC)) == (
        "Toestemming (gegeven op 3 februari 2026)"
    )


def test_statutory_ground_from_a_professional_is_escaped() -> None:
    page = render_report_html(
        report(disclosures=(make_disclosure(legal_basis_type="statutory", ground=XSS),))
    )
    assert "<script" not in page
    assert "Wettelijke grondslag: &lt;script&gt;" in page


# --- render_report_html (art. 10 lid 3-4) --------------------------------------------------------


def test_page_is_a_complete_dutch_html5_document() -> None:
    page = render_report_html(report())
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<html lang="nl">' in page
    assert '<meta charset="utf-8">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<title>Overzicht van verstrekte gegevens</title>" in page
    assert "<h1>Overzicht van verstrekte gegevens</h1>" in page
    assert "@media print" in page
    recorder = parse(page)
    assert recorder.errors == []
    assert recorder.stack == []
    tags = {tag for _, tag in recorder.tags}
    assert {"header", "main", "section", "h2", "table", "caption", "footer"} <= tags


def test_page_loads_nothing_from_elsewhere() -> None:
    page = render_report_html(report())
    lowered = page.lower()
    for forbidden in (
        "http://",
        "https://",
        "<link",
        "<script",
        "<img",
        "<iframe",
        "src=",
        "@import",
        "url(",
    ):
        assert forbidden not in lowered


def test_disclosure_table_has_caption_and_column_headers() -> None:
    page = render_report_html(report())
    assert "<caption" in page
    for column in ("Datum", "Van", "Aan", "Welke gegevens", "Waarom", "Grondslag", "Ontvangen/bevestigd"):
        assert f'<th scope="col">{column}</th>' in page
    assert SCHOOL.name in page and WIJKTEAM.name in page
    assert LABELS["education"] in page
    assert "Zorgen over schoolverzuim" in page and "Verzuimoverzicht januari" in page
    assert "Toestemming (gegeven op 15 januari 2026)" in page


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 2, 3, 13, 5, tzinfo=UTC), "3 februari 2026, 14:05"),  # CET, UTC+1
        (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "2 juli 2026, 00:30"),  # CEST, UTC+2
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "1 januari 2027, 00:00"),
    ],
)
def test_dates_in_dutch_amsterdam_time(moment: datetime, expected: str) -> None:
    assert format_datetime_nl(moment) == expected


def test_dates_on_the_page_are_dutch_and_machine_readable() -> None:
    page = render_report_html(report())
    # In the table: a compact date over the time, in a column that never wraps.
    assert (
        '<td class="date"><time datetime="2026-02-03T13:05:00Z"><span class="day">3 feb. 2026</span> '
        '<span class="clock">14:05</span></time></td>'
    ) in page
    assert '<time datetime="2026-02-03T14:00:00Z">3 februari 2026, 15:00</time>' in page  # acknowledged
    assert "Ja, op" in page


def test_unacknowledged_disclosure_says_so() -> None:
    page = render_report_html(
        report(disclosures=(make_disclosure(acknowledged=False, acknowledged_at=None),))
    )
    assert "Nog niet bevestigd" in page


def test_everything_a_professional_typed_is_escaped() -> None:
    evil = PartnerName("00000000000000000666", f"Partner {XSS}")
    consent = make_consent(
        obtained_by=evil,
        grants=(ConsentGrantRecord(evil, ("x<b>",), f"Doel {XSS}", True),),
    )
    disclosure = make_disclosure(
        reason=f"Reden {XSS}",
        description=f'Omschrijving "{XSS}" & meer',
        sender=evil,
        categories=("<img src=x onerror=alert(1)>",),
    )
    page = render_report_html(
        report(
            disclosures=(disclosure,),
            consents=(consent,),
            request_id=f"sar-{XSS}",
            subject_label=f"*****1234{XSS}",
            category_labels={**LABELS, "x<b>": f"label {XSS}"},
        )
    )
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    # Jinja2's autoescaping (MarkupSafe) writes ' and " as &#39; and &#34;.
    assert "Reden &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&#34;" in page and "&amp; meer" in page
    assert parse(page).errors == []


def test_a_script_in_a_reason_shows_as_text() -> None:
    disclosure = make_disclosure(reason=f"Reden {XSS}", description=XSS)
    recorder = parse(render_report_html(report(disclosures=(disclosure,))))
    assert ("start", "script") not in recorder.tags
    shown = "".join(recorder.text)
    assert f"Reden {XSS}" in shown  # the reader sees exactly what the professional typed
    assert shown.count(XSS) == 2


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_no_text_can_change_the_page_structure(text: str) -> None:
    baseline = parse(render_report_html(report())).tags
    disclosure = make_disclosure(reason=text, description=f"x{text}", sender=PartnerName("1", text))
    assert parse(render_report_html(report(disclosures=(disclosure,), request_id=text))).tags == baseline


def test_correction_is_shown_as_such() -> None:
    page = render_report_html(report(disclosures=(make_disclosure(kind="correction"),)))
    assert "Correctie doorgegeven" in page
    assert "Correctie doorgegeven" not in render_report_html(report())


def test_empty_report_says_so_and_still_lists_consents_and_rights() -> None:
    page = render_report_html(report(disclosures=()))
    assert "Er zijn via Meerpunt geen gegevens over u verstrekt." in page
    assert '<table class="disclosures"' not in page
    assert "Uw toestemmingen" in page and "Toestemming vastgelegd door Het Baken College" in page
    assert "Uw rechten" in page and "Autoriteit Persoonsgegevens" in page


def test_no_consents_says_so() -> None:
    page = render_report_html(report(consents=()))
    assert "geen toestemming van u vastgelegd" in page


def test_consent_section_in_dutch() -> None:
    withdrawn = make_consent("w", withdrawn_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), form="oral")
    page = render_report_html(report(consents=(make_consent(), withdrawn)))
    assert "Status: <strong>geldig</strong>" in page
    assert "Status: <strong>ingetrokken</strong>" in page
    assert "schriftelijk" in page and "mondeling" in page
    assert "Ingetrokken op" in page
    assert "Afstemming van hulp" in page and "Ja, toestemming gegeven" in page
    assert "Nee, geen toestemming" in page
    assert "Geldig tot" in page


def test_withheld_sentence_names_the_ground_in_plain_dutch() -> None:
    page = render_report_html(
        report(
            disclosures=(make_disclosure("a"), make_disclosure("b", reason="Geheim")),
            withheld_entry_ids=frozenset({"b"}),
            withheld_ground="art10_6_e",
        )
    )
    assert "Een deel van de gegevens is niet opgenomen" in page
    assert "op grond van artikel 10 lid 6 onder e" in page
    assert "1 verstrekking" in page
    assert "Geheim" not in page


def test_withheld_everything_still_says_both_facts() -> None:
    page = render_report_html(
        report(withheld_entry_ids=frozenset({"e1"}), withheld_ground=None),
    )
    assert "Een deel van de gegevens is niet opgenomen" in page
    assert "op grond van artikel 10 lid 6 van het Privacyreglement" in page
    assert "Er zijn via Meerpunt geen gegevens over u verstrekt." in page


def test_rights_section_lists_every_right_with_its_article() -> None:
    page = render_report_html(report())
    for title, article in [
        ("Correctie", "artikel 11"),
        ("Verwijdering", "artikel 12"),
        ("Bezwaar", "artikel 13"),
        ("Beperking", "artikel 14"),
        ("Overdraagbaarheid", "artikel 15"),
        ("Klacht bij de Autoriteit Persoonsgegevens", "artikel 10 lid 4"),
    ]:
        assert f'{title} <span class="article">({article})</span>' in page
    assert "binnen één maand" in page
    assert "artikel 10 lid 3" in page


def test_header_shows_masked_subject_requester_and_reference() -> None:
    page = render_report_html(report())
    assert "*****2333" in page
    assert "een ouder met gezag" in page
    assert "sar-42" in page


def test_restriction_is_mentioned() -> None:
    assert "beperking van de verwerking (artikel 14)" in render_report_html(report(restricted=True))
    assert "Beperking van kracht" not in render_report_html(report())


# --- Partial withdrawal (Bijlage VIII) -------------------------------------------------------------


def test_a_withdrawn_line_shows_as_withdrawn_and_the_consent_as_partially_withdrawn() -> None:
    withdrawn_at = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)
    grants = (
        ConsentGrantRecord(WIJKTEAM, ("education",), "Afstemming van hulp", True, withdrawn_at=withdrawn_at),
        ConsentGrantRecord(GGZ, ("mental_health",), "Doorverwijzing", True),
    )
    consent = make_consent(grants=grants)
    assert consent_status(consent, withdrawn_at - TICK) == "active"
    assert consent_status(consent, withdrawn_at) == "partially_withdrawn"
    doc = report_to_json(report(consents=(consent,)))
    [shown] = doc["consents"]
    assert (shown["status"], shown["status_label"]) == ("partially_withdrawn", "gedeeltelijk ingetrokken")
    first, second = shown["grants"]
    assert (first["status"], first["withdrawn_at"]) == ("withdrawn", "2026-02-20T10:00:00Z")
    assert first["status_label"] == "Toestemming ingetrokken op 20 februari 2026"
    assert (second["status"], second["withdrawn_at"]) == ("granted", None)
    page = render_report_html(report(consents=(consent,)))
    assert "gedeeltelijk ingetrokken" in page and "Toestemming ingetrokken op 20 februari 2026" in page


def test_withdrawing_every_yes_line_withdraws_the_consent() -> None:
    moment = datetime(2026, 2, 20, tzinfo=UTC)
    grants = (
        ConsentGrantRecord(WIJKTEAM, ("education",), "Afstemming van hulp", True, withdrawn_at=moment),
        ConsentGrantRecord(GGZ, ("mental_health",), "Doorverwijzing", False),
    )
    assert consent_status(make_consent(grants=grants), AT) == "withdrawn"


def test_a_whole_withdrawal_marks_every_yes_line_withdrawn() -> None:
    moment = datetime(2026, 2, 20, tzinfo=UTC)
    [shown] = report_to_json(report(consents=(make_consent(withdrawn_at=moment),)))["consents"]
    assert [g["status"] for g in shown["grants"]] == ["withdrawn", "refused"]


# --- Erasure (art. 12) -----------------------------------------------------------------------------


def test_a_message_erased_before_acknowledgement_says_so_and_never_claims_receipt() -> None:
    erased_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    never = make_disclosure("never", acknowledged=False, acknowledged_at=None, erased_at=erased_at)
    fetched = make_disclosure(
        "fetched",
        acknowledged=False,
        acknowledged_at=None,
        erased_at=erased_at,
        delivered_before_erasure=True,
    )
    doc = report_to_json(report(disclosures=(never, fetched)))
    delivery = {d["id"]: (d["delivery"], d["delivery_label"]) for d in doc["disclosures"]}
    assert delivery == {
        "never": ("erased", "Niet afgeleverd: gewist op 2 maart 2026 (artikel 12)"),
        "fetched": (
            "delivered_then_erased",
            "Opgehaald, niet bevestigd; gewist op 2 maart 2026 (artikel 12)",
        ),
    }
    page = render_report_html(report(disclosures=(never,)))
    assert "Niet afgeleverd: gewist op 2 maart 2026" in page and "Ja, op" not in page


# --- Accessibility and print ------------------------------------------------------------------------


def test_the_skip_link_leads_to_the_content() -> None:
    page = render_report_html(report())
    assert '<a class="skip-link" href="#inhoud">Direct naar de inhoud</a>' in page
    assert page.index("skip-link") < page.index("<header")
    assert '<main id="inhoud" tabindex="-1">' in page
    assert "td.date { white-space: nowrap; }" in page
    assert ".skip-link { display: none; }" in page  # not printed


@pytest.mark.parametrize(
    ("month", "short"), [(1, "jan."), (3, "mrt."), (5, "mei"), (6, "jun."), (9, "sep."), (12, "dec.")]
)
def test_table_dates_use_the_dutch_month_abbreviations(month: int, short: str) -> None:
    assert format_date_short_nl(datetime(2026, month, 10, 12, tzinfo=UTC)) == f"10 {short} 2026"


def test_the_documentation_sample_renders_every_part_of_the_page() -> None:
    from tests.audit.sample_report import sample_report

    page = render_report_html(sample_report())
    assert parse(page).errors == []
    for text in (
        "Niet afgeleverd: gewist",
        "gedeeltelijk ingetrokken",
        "Autoriteit Persoonsgegevens",
        "Opgesteld op",
    ):
        assert text in page
