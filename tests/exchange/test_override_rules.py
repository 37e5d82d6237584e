"""Unit tests for the art. 7 override rules (exchange.override_rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.override_rules import (
    CONDITIONS,
    DEFAULT_STATUTORY_GROUNDS,
    Consulted,
    OverrideClaim,
    OverrideGround,
    Violation,
    WaiverGround,
    approval_violations,
    is_hold_expired,
    is_obligation_overdue,
    is_substantive_text,
    validate_override,
    validate_statutory,
)

AT = datetime(2025, 3, 14, 2, 30, tzinfo=UTC)
PROFESSIONAL_ID = "p-0417"
PROFESSIONAL_NAME = "Sanne de Vries"

JUSTIFICATION = (
    "Tijdens het huisbezoek vannacht zagen wij verse blauwe plekken bij de jongste; moeder weigert "
    "toestemming en vader is vanavond agressief geweest. Wij kunnen het kind zelf niet beschermen."
)


def make_consulted(
    name: str = "Jan Bakker", role: str = "aandachtsfunctionaris", consulted_at: datetime | None = None
) -> Consulted:
    return Consulted(name=name, role=role, consulted_at=consulted_at or AT - timedelta(minutes=20))


def make_claim(**changes: object) -> OverrideClaim:
    claim = OverrideClaim(
        ground=OverrideGround.ART7_3_REFUSED_CONSENT.value,
        justification=JUSTIFICATION,
        conditions=dict.fromkeys(CONDITIONS, True),
        consulted=[make_consulted()],
        inform_planned=True,
        inform_waived=False,
        waiver_ground=None,
        waiver_explanation=None,
    )
    return replace(claim, **changes)  # type: ignore[arg-type]


def validate(claim: OverrideClaim, **kwargs: object) -> list[Violation]:
    params: dict[str, object] = {
        "acting_professional_id": PROFESSIONAL_ID,
        "acting_professional_name": PROFESSIONAL_NAME,
        "at": AT,
    }
    params.update(kwargs)
    return validate_override(claim, **params)  # type: ignore[arg-type]


def codes(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.code, v.article) for v in violations]


# --- the vocabulary is the API contract (SPEC §6 "Override body") -----------------------


def test_vocabulary_matches_the_contract() -> None:
    assert [g.value for g in OverrideGround] == [
        "art7_3_refused_consent",
        "art7_5_not_asked_safety",
        "art7_5_not_asked_contact_loss",
    ]
    assert [g.value for g in WaiverGround] == ["safety", "contact_loss"]
    # The five bullets of art. 7.3, in order.
    assert CONDITIONS == (
        "urgent_safety_need",
        "own_care_insufficient",
        "other_party_needed",
        "disclosure_necessary",
        "law_permits",
    )
    assert DEFAULT_STATUTORY_GROUNDS == (
        "wet_verplichte_meldcode_veilig_thuis",
        "jeugdwet_7_1_4_raad_voor_de_kinderbescherming",
        "court_order",
    )


# --- validate_override: valid claims --------------------------------------------------------


@pytest.mark.parametrize("ground", list(OverrideGround))
@pytest.mark.parametrize(
    "inform",
    [
        {"inform_planned": True, "inform_waived": False},
        {
            "inform_planned": False,
            "inform_waived": True,
            "waiver_ground": "safety",
            "waiver_explanation": "Vader leest de post van moeder; een brief brengt moeder in gevaar.",
        },
        {
            "inform_planned": False,
            "inform_waived": True,
            "waiver_ground": "contact_loss",
            "waiver_explanation": "Het gezin verbreekt het contact als het hoort van de melding.",
        },
    ],
)
def test_a_complete_claim_passes(ground: OverrideGround, inform: dict[str, object]) -> None:
    # No cross-rule between ground and waiver: every ground combines with every inform choice.
    assert validate(make_claim(ground=ground.value, **inform)) == []


def test_an_empty_claim_reports_every_rule_at_once() -> None:
    claim = OverrideClaim(
        ground=None,
        justification=None,
        conditions={},
        consulted=[],
        inform_planned=False,
        inform_waived=False,
        waiver_ground=None,
        waiver_explanation=None,
    )
    assert codes(validate(claim)) == [
        ("override_ground_invalid", "7.3"),
        ("justification_insufficient", "7.7"),
        *[("condition_not_affirmed", "7.3")] * 5,
        ("consultation_missing", "7.6"),
        ("inform_subject_missing", "7.4"),
    ]


# --- ground (art. 7.3 / 7.5) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "ground", [None, "", "art7_3", "ART7_3_REFUSED_CONSENT", " art7_3_refused_consent", "consent", "safety"]
)
def test_ground_must_be_one_of_the_three(ground: str | None) -> None:
    assert codes(validate(make_claim(ground=ground))) == [("override_ground_invalid", "7.3")]


# --- justification (art. 7.7) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "justification",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(" \n\t " * 60, id="whitespace"),
        pytest.param("x" * 300, id="one-character"),
        pytest.param("abc" * 100, id="short-pattern"),
        pytest.param("nee. " * 60, id="short-word-pattern"),
        pytest.param(JUSTIFICATION[:99], id="99-characters"),
        pytest.param("Kind in gevaar, melding nodig.", id="too-short"),
        pytest.param(JUSTIFICATION[:60] + " " * 80, id="padded-with-spaces"),
        pytest.param(JUSTIFICATION[:60] + "\u200b" * 80, id="padded-with-zero-width"),
        pytest.param((" " * 20).join(JUSTIFICATION[:60].split()), id="padded-between-words"),
        pytest.param("1234567890 " * 20, id="digits"),
        pytest.param("a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3, id="single-letters"),
        pytest.param("gevaar gevaar kind kind nodig " * 5 + "gevaar kind", id="four-distinct-words"),
        pytest.param(JUSTIFICATION + " " + JUSTIFICATION, id="pasted-twice"),
    ],
)
def test_justification_must_be_substantive(justification: str | None) -> None:
    assert codes(validate(make_claim(justification=justification))) == [("justification_insufficient", "7.7")]


def test_justification_minimum_is_configurable() -> None:
    text = "Kind in acuut gevaar, moeder weigert, melding bij Veilig Thuis nodig."
    assert validate(make_claim(justification=text), min_justification_chars=len(text)) == []
    assert codes(validate(make_claim(justification=text), min_justification_chars=len(text) + 1)) == [
        ("justification_insufficient", "7.7")
    ]


def test_justification_of_exactly_the_minimum_passes() -> None:
    text = JUSTIFICATION[:100]
    assert len(text.strip()) == 100
    assert validate(make_claim(justification=text)) == []


# --- conditions (art. 7.3) ------------------------------------------------------------------


@pytest.mark.parametrize("name", CONDITIONS)
@pytest.mark.parametrize(
    "value", [False, None, "yes", "true", "True", 1, 1.0, [True], "missing"], ids=lambda v: repr(v)
)
def test_each_condition_must_be_affirmed_with_true(name: str, value: object) -> None:
    conditions: dict[str, object] = dict.fromkeys(CONDITIONS, True)
    if value == "missing":
        del conditions[name]
    else:
        conditions[name] = value
    violations = validate(make_claim(conditions=conditions))
    assert codes(violations) == [("condition_not_affirmed", "7.3")]
    assert name in violations[0].message


def test_every_failing_condition_is_reported_in_order() -> None:
    violations = validate(make_claim(conditions={"other_party_needed": True}))
    names = [name for name in CONDITIONS if name != "other_party_needed"]
    assert [v.code for v in violations] == ["condition_not_affirmed"] * 4
    assert all(name in v.message for name, v in zip(names, violations, strict=True))


def test_extra_condition_keys_are_ignored() -> None:
    conditions = {**dict.fromkeys(CONDITIONS, True), "note": "besproken met teamleider"}
    assert validate(make_claim(conditions=conditions)) == []


# --- consultation (art. 7.6) ----------------------------------------------------------------


def test_at_least_one_official_must_be_consulted() -> None:
    assert codes(validate(make_claim(consulted=[]))) == [("consultation_missing", "7.6")]


@pytest.mark.parametrize(
    "consulted",
    [
        pytest.param(make_consulted(name=""), id="blank-name"),
        pytest.param(make_consulted(name="   "), id="whitespace-name"),
        pytest.param(make_consulted(role=""), id="blank-role"),
        pytest.param(make_consulted(role=" \t"), id="whitespace-role"),
        pytest.param(Consulted(name="Jan Bakker", role="teamleider", consulted_at=None), id="no-time"),
        pytest.param(make_consulted(consulted_at=AT + timedelta(minutes=5, seconds=1)), id="future"),
        pytest.param(make_consulted(consulted_at=AT + timedelta(days=1)), id="tomorrow"),
        pytest.param(make_consulted(consulted_at=datetime(2025, 3, 14, 3, 0)), id="naive-future"),
    ],
)
def test_each_consulted_official_needs_name_role_and_past_time(consulted: Consulted) -> None:
    violations = validate(make_claim(consulted=[make_consulted(), consulted]))
    assert codes(violations) == [("consultation_incomplete", "7.6")]
    assert "consulted[1]" in violations[0].message


def test_every_gap_in_a_consultation_is_reported() -> None:
    consulted = Consulted(name="", role="", consulted_at=None)
    assert codes(validate(make_claim(consulted=[consulted]))) == [("consultation_incomplete", "7.6")] * 3


@pytest.mark.parametrize(
    "consulted_at",
    [
        pytest.param(AT, id="now"),
        pytest.param(AT + timedelta(minutes=5), id="clock-skew"),
        pytest.param(AT - timedelta(days=3), id="days-ago"),
        pytest.param(datetime(2025, 3, 14, 2, 0), id="naive-read-as-utc"),
        pytest.param(
            datetime(2025, 3, 14, 3, 30, tzinfo=timezone(timedelta(hours=1))), id="other-zone-same-instant"
        ),
    ],
)
def test_consultation_times_up_to_the_skew_are_accepted(consulted_at: datetime) -> None:
    assert validate(make_claim(consulted=[make_consulted(consulted_at=consulted_at)])) == []


@pytest.mark.parametrize(
    "name",
    [
        PROFESSIONAL_NAME,
        "sanne de vries",
        "  SANNE   de\tVries ",
        "Sanne\u00a0de Vries",
        PROFESSIONAL_ID,
        "P-0417",
    ],
)
def test_the_acting_professional_cannot_consult_themselves(name: str) -> None:
    violations = validate(make_claim(consulted=[make_consulted(), make_consulted(name=name)]))
    assert codes(violations) == [("consulted_self", "7.6")]


def test_a_colleague_with_a_similar_name_is_not_self() -> None:
    assert validate(make_claim(consulted=[make_consulted(name="Sanne de Vries-Jansen")])) == []


# --- informing the subject (art. 7.4, 7.5, 7.7) --------------------------------------------


@pytest.mark.parametrize(("planned", "waived"), [(False, False), (True, True)])
def test_inform_subject_is_either_planned_or_waived(planned: bool, waived: bool) -> None:
    claim = make_claim(
        inform_planned=planned, inform_waived=waived, waiver_ground="safety", waiver_explanation="Gevaar."
    )
    assert codes(validate(claim)) == [("inform_subject_missing", "7.4")]


@pytest.mark.parametrize("waiver_ground", [None, "", "Safety", "art7_5_not_asked_safety", "other"])
def test_a_waiver_names_an_art_7_5_ground(waiver_ground: str | None) -> None:
    claim = make_claim(
        inform_planned=False,
        inform_waived=True,
        waiver_ground=waiver_ground,
        waiver_explanation="Moeder is in gevaar als vader dit hoort.",
    )
    assert codes(validate(claim)) == [("waiver_ground_invalid", "7.5")]


@pytest.mark.parametrize("explanation", [None, "", "   \n"])
def test_a_waiver_is_explained(explanation: str | None) -> None:
    claim = make_claim(
        inform_planned=False, inform_waived=True, waiver_ground="contact_loss", waiver_explanation=explanation
    )
    assert codes(validate(claim)) == [("waiver_explanation_missing", "7.7")]


def test_waiver_fields_are_ignored_when_informing_is_planned() -> None:
    claim = make_claim(
        inform_planned=True, inform_waived=False, waiver_ground="nonsense", waiver_explanation=""
    )
    assert validate(claim) == []


# --- statutory ground (art. 5.1) ------------------------------------------------------------

STATUTORY_JUSTIFICATION = "Melding bij Veilig Thuis volgens stap 5 van de meldcode."


@pytest.mark.parametrize("ground", DEFAULT_STATUTORY_GROUNDS)
def test_statutory_default_grounds_pass(ground: str) -> None:
    assert validate_statutory(ground, STATUTORY_JUSTIFICATION, DEFAULT_STATUTORY_GROUNDS) == []


@pytest.mark.parametrize(
    ("ground", "allowed"),
    [
        (None, DEFAULT_STATUTORY_GROUNDS),
        ("", DEFAULT_STATUTORY_GROUNDS),
        ("COURT_ORDER", DEFAULT_STATUTORY_GROUNDS),
        ("avg_6_1_d_vitaal_belang", DEFAULT_STATUTORY_GROUNDS),
        ("court_order", ()),
        ("court_order", ("wet_verplichte_meldcode_veilig_thuis",)),
    ],
)
def test_statutory_ground_must_be_allowed(ground: str | None, allowed: tuple[str, ...]) -> None:
    assert codes(validate_statutory(ground, STATUTORY_JUSTIFICATION, allowed)) == [
        ("statutory_ground_invalid", "5.1")
    ]


@pytest.mark.parametrize(
    "justification", [None, "", "   ", "Zie dossier.", "meldcode " * 10, "Melding Veilig Thuis nu"]
)
def test_statutory_justification_must_be_substantive(justification: str | None) -> None:
    assert codes(validate_statutory("court_order", justification, DEFAULT_STATUTORY_GROUNDS)) == [
        ("justification_insufficient", "5.1")
    ]


def test_statutory_reports_both_problems() -> None:
    assert [v.code for v in validate_statutory("vitaal_belang", None, DEFAULT_STATUTORY_GROUNDS)] == [
        "statutory_ground_invalid",
        "justification_insufficient",
    ]


# --- vier-ogen approval (art. 7.6) ----------------------------------------------------------

OIN_A = "00000001234567890000"
OIN_B = "00000009876543210000"


@pytest.mark.parametrize(
    ("requester", "approver", "requester_partner", "approver_partner", "expected"),
    [
        ("p-1", "p-2", OIN_A, OIN_A, []),
        ("p-1", "p-1", OIN_A, OIN_A, [("four_eyes_same_professional", "7.6")]),
        ("p-1", " P-1 ", OIN_A, OIN_A, [("four_eyes_same_professional", "7.6")]),
        ("p-1", "p-2", OIN_A, OIN_B, [("four_eyes_other_partner", "7.6")]),
        (
            "p-1",
            "p-1",
            OIN_A,
            OIN_B,
            [("four_eyes_same_professional", "7.6"), ("four_eyes_other_partner", "7.6")],
        ),
    ],
)
def test_approval_is_by_another_professional_of_the_same_partner(
    requester: str,
    approver: str,
    requester_partner: str,
    approver_partner: str,
    expected: list[tuple[str, str]],
) -> None:
    assert codes(approval_violations(requester, approver, requester_partner, approver_partner)) == expected


# --- obligation to inform (art. 7.4) and hold (art. 7.6) timing -----------------------------

OPENED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("closed_at", "at", "days", "expected"),
    [
        (None, OPENED + timedelta(days=2), 3, False),
        (None, OPENED + timedelta(days=3), 3, False),
        (None, OPENED + timedelta(days=3, seconds=1), 3, True),
        (None, OPENED + timedelta(seconds=1), 0, True),
        (OPENED + timedelta(days=1), OPENED + timedelta(days=10), 3, False),
        (OPENED + timedelta(days=5), OPENED + timedelta(days=10), 3, False),  # closed late: no longer open
        (OPENED + timedelta(days=20), OPENED + timedelta(days=10), 3, True),  # closed after `at`
        (None, datetime(2025, 3, 10, 12, 0), 3, True),  # naive read as UTC
    ],
)
def test_obligation_to_inform_becomes_overdue(
    closed_at: datetime | None, at: datetime, days: int, expected: bool
) -> None:
    assert is_obligation_overdue(OPENED, closed_at, at, days) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (OPENED, False),
        (OPENED + timedelta(seconds=3599), False),
        (OPENED + timedelta(seconds=3600), True),
        (OPENED + timedelta(days=1), True),
    ],
)
def test_hold_expires_after_hold_seconds(at: datetime, expected: bool) -> None:
    assert is_hold_expired(OPENED, at, 3600) is expected


def test_negative_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        is_obligation_overdue(OPENED, None, OPENED, -1)
    with pytest.raises(ValueError, match="hold_seconds"):
        is_hold_expired(OPENED, OPENED, -1)


# --- is_substantive_text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "min_chars", "expected"),
    [
        (JUSTIFICATION, 100, True),
        (JUSTIFICATION, len(" ".join(JUSTIFICATION.split())) + 1, False),
        ("Kind acuut in gevaar thuis.", 20, True),
        ("", 0, False),
        ("   ", 0, False),
        ("Kind Kind Kind Kind Kind Kind", 0, False),
        ("Kind acuut in gevaar thuis. Kind acuut in gevaar thuis.", 20, False),
        ("Kind acuut in gevaar thuis.\u200b\u200b\u200b", 29, False),
        ("ab" * 60, 100, False),
        ("Één kind, één gezin, één plan: spoed geboden.", 20, True),
    ],
)
def test_is_substantive_text_examples(text: str, min_chars: int, expected: bool) -> None:
    assert is_substantive_text(text, min_chars) is expected


@given(unit=st.text(min_size=1, max_size=40), times=st.integers(min_value=2, max_value=80))
def test_repeating_a_short_string_never_passes(unit: str, times: int) -> None:
    # Even with no length requirement at all, repetition alone disqualifies the text.
    assert not is_substantive_text(unit * times, 0)
    assert not is_substantive_text(unit * times, 100)


@given(
    padding=st.text(alphabet=st.sampled_from(" \t\n\u00a0\u200b\u200d\ufeff\x00"), max_size=200),
    min_chars=st.integers(min_value=0, max_value=300),
)
def test_invisible_padding_never_changes_the_verdict(padding: str, min_chars: int) -> None:
    short = "Kind acuut in gevaar thuis."
    assert is_substantive_text(short + padding, min_chars) is is_substantive_text(short, min_chars)
    assert is_substantive_text(padding + short, min_chars) is is_substantive_text(short, min_chars)
