"""Unit tests for the art. 7 override rules (exchange.override_rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from exchange.override_rules import (
    CONDITIONS,
    CONFLICT_DETAILS,
    DEFAULT_STATUTORY_GROUNDS,
    ConflictSlug,
    Consulted,
    OverrideClaim,
    OverrideGround,
    RefusalDiscussion,
    Violation,
    WaiverGround,
    approval_conflict,
    approval_status_at,
    approval_violations,
    inform_conflict,
    is_obligation_overdue,
    parse_moment,
    review_conflict,
    review_violations,
    subject_informed_violations,
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
    name: object = "Jan Bakker", role: object = "aandachtsfunctionaris", consulted_at: object = None
) -> Consulted:
    when = consulted_at if consulted_at is not None else (AT - timedelta(minutes=20)).isoformat()
    return Consulted(name=name, role=role, consulted_at=when)


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
        *[("condition_missing", "7.3")] * 5,
        ("consultation_missing", "7.6"),
        ("inform_subject_missing", "7.4"),
    ]


def test_a_type_error_does_not_hide_the_other_elements() -> None:
    # "gisteren" is not a time, "yes" is not a boolean, the ground is missing: all three are named.
    claim = make_claim(ground=None, consulted=[make_consulted(consulted_at="gisteren")], inform_planned="yes")
    assert codes(validate(claim)) == [
        ("override_ground_invalid", "7.3"),
        ("consulted_at_invalid", "7.6"),
        ("inform_subject_invalid", "7.4"),
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
        pytest.param(42, id="not-a-string"),
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
def test_justification_must_be_substantive(justification: object) -> None:
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
@pytest.mark.parametrize("value", [False, None, "yes", "true", "True", 1, 1.0, [True]], ids=lambda v: repr(v))
def test_each_condition_must_be_affirmed_with_true(name: str, value: object) -> None:
    conditions: dict[str, object] = dict.fromkeys(CONDITIONS, True)
    conditions[name] = value
    violations = validate(make_claim(conditions=conditions))
    assert codes(violations) == [("condition_not_affirmed", "7.3")]
    assert name in violations[0].message


def test_a_false_condition_says_false_and_a_string_says_it_is_no_boolean() -> None:
    false = validate(make_claim(conditions={**dict.fromkeys(CONDITIONS, True), "law_permits": False}))
    yes = validate(make_claim(conditions={**dict.fromkeys(CONDITIONS, True), "law_permits": "yes"}))
    assert "is false" in false[0].message
    assert "'yes'" in yes[0].message and "JSON boolean" in yes[0].message


@pytest.mark.parametrize("name", CONDITIONS)
def test_a_missing_condition_is_told_apart_from_a_false_one(name: str) -> None:
    conditions = {other: True for other in CONDITIONS if other != name}
    violations = validate(make_claim(conditions=conditions))
    assert codes(violations) == [("condition_missing", "7.3")]
    assert name in violations[0].message


def test_every_failing_condition_is_reported_in_order() -> None:
    violations = validate(make_claim(conditions={"other_party_needed": True, "law_permits": False}))
    names = [name for name in CONDITIONS if name != "other_party_needed"]
    assert [v.code for v in violations] == ["condition_missing"] * 3 + ["condition_not_affirmed"]
    assert all(name in v.message for name, v in zip(names, violations, strict=True))


def test_unknown_condition_keys_are_refused_by_name() -> None:
    conditions = {**dict.fromkeys(CONDITIONS, True), "note": "besproken", "urgent": True}
    violations = validate(make_claim(conditions=conditions))
    assert codes(violations) == [("condition_unknown", "7.3")]
    assert "'note'" not in violations[0].message  # names, not reprs
    assert "note" in violations[0].message and "urgent" in violations[0].message


# --- consultation (art. 7.6) ----------------------------------------------------------------


def test_at_least_one_official_must_be_consulted() -> None:
    assert codes(validate(make_claim(consulted=[]))) == [("consultation_missing", "7.6")]


@pytest.mark.parametrize(
    "consulted",
    [
        pytest.param(make_consulted(name=""), id="blank-name"),
        pytest.param(make_consulted(name="   "), id="whitespace-name"),
        pytest.param(make_consulted(name=None), id="no-name"),
        pytest.param(make_consulted(role=""), id="blank-role"),
        pytest.param(make_consulted(role=" \t"), id="whitespace-role"),
        pytest.param(Consulted(name="Jan Bakker", role="teamleider", consulted_at=None), id="no-time"),
        pytest.param(Consulted(name="Jan Bakker", role="teamleider", consulted_at=" "), id="blank-time"),
    ],
)
def test_each_consulted_official_needs_name_role_and_time(consulted: Consulted) -> None:
    violations = validate(make_claim(consulted=[make_consulted(), consulted]))
    assert codes(violations) == [("consultation_incomplete", "7.6")]
    assert "consulted[1]" in violations[0].message


@pytest.mark.parametrize(
    ("consulted_at", "problem"),
    [
        pytest.param("gisteren", "RFC 3339", id="not-a-time"),
        pytest.param(12, "RFC 3339", id="a-number"),
        pytest.param("2025-03-14T02:00:00", "offset", id="naive"),
        pytest.param("2025-03-14", "offset", id="date-only"),
        pytest.param(datetime(2025, 3, 14, 2, 0), "offset", id="naive-datetime"),
        pytest.param((AT + timedelta(minutes=5, seconds=1)).isoformat(), "future", id="future"),
        pytest.param((AT + timedelta(days=1)).isoformat(), "future", id="tomorrow"),
        pytest.param("2001-01-01T00:00:00Z", "30 days", id="years-ago"),
        pytest.param((AT - timedelta(days=30, seconds=1)).isoformat(), "30 days", id="just-too-old"),
    ],
)
def test_a_consultation_time_has_an_offset_and_lies_in_the_last_month(
    consulted_at: object, problem: str
) -> None:
    violations = validate(make_claim(consulted=[make_consulted(consulted_at=consulted_at)]))
    assert codes(violations) == [("consulted_at_invalid", "7.6")]
    assert problem in violations[0].message


def test_the_maximum_age_of_a_consultation_is_configurable() -> None:
    week_ago = make_consulted(consulted_at=(AT - timedelta(days=7)).isoformat())
    assert validate(make_claim(consulted=[week_ago])) == []
    assert codes(validate(make_claim(consulted=[week_ago]), consultation_max_age=timedelta(days=3))) == [
        ("consulted_at_invalid", "7.6")
    ]


def test_every_gap_in_a_consultation_is_reported() -> None:
    consulted = Consulted(name="", role="", consulted_at=None)
    assert codes(validate(make_claim(consulted=[consulted]))) == [("consultation_incomplete", "7.6")] * 3


@pytest.mark.parametrize(
    "consulted_at",
    [
        pytest.param(AT.isoformat(), id="now"),
        pytest.param((AT + timedelta(minutes=5)).isoformat(), id="clock-skew"),
        pytest.param((AT - timedelta(days=3)).isoformat(), id="days-ago"),
        pytest.param((AT - timedelta(days=30)).isoformat(), id="thirty-days-ago"),
        pytest.param("2025-03-14T02:00:00Z", id="zulu"),
        pytest.param("2025-03-14T03:30:00+01:00", id="other-zone-same-instant"),
        pytest.param(datetime(2025, 3, 14, 3, 30, tzinfo=timezone(timedelta(hours=1))), id="aware-datetime"),
    ],
)
def test_consultation_times_up_to_the_skew_are_accepted(consulted_at: object) -> None:
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


def test_parse_moment() -> None:
    assert parse_moment("2025-03-14T01:55:00Z") == (datetime(2025, 3, 14, 1, 55, tzinfo=UTC), None)
    assert parse_moment(None) == (None, "is missing")
    assert parse_moment("2025-03-14T01:55:00")[1] == "has no time zone offset (add Z or e.g. +01:00)"


# --- informing the subject (art. 7.4, 7.5, 7.7) --------------------------------------------

EXPLANATION = "Vader leest de post van moeder; een brief over de melding brengt moeder in gevaar."


@pytest.mark.parametrize(("planned", "waived"), [(False, False), (True, True), (None, None), (None, False)])
def test_inform_subject_is_either_planned_or_waived(planned: object, waived: object) -> None:
    claim = make_claim(
        inform_planned=planned, inform_waived=waived, waiver_ground="safety", waiver_explanation=EXPLANATION
    )
    assert codes(validate(claim)) == [("inform_subject_missing", "7.4")]


@pytest.mark.parametrize("value", ["yes", "true", 1, 1.0, [True], {"x": 1}], ids=repr)
def test_inform_flags_are_json_booleans(value: object) -> None:
    violations = validate(make_claim(inform_planned=value))
    assert codes(violations) == [("inform_subject_invalid", "7.4")]
    assert "planned" in violations[0].message
    waived = validate(
        make_claim(
            inform_planned=None, inform_waived=value, waiver_ground="safety", waiver_explanation=EXPLANATION
        )
    )
    assert codes(waived) == [("inform_subject_invalid", "7.4")]


@pytest.mark.parametrize("waiver_ground", [None, "", "Safety", "art7_5_not_asked_safety", "other", 1])
def test_a_waiver_names_an_art_7_5_ground(waiver_ground: object) -> None:
    claim = make_claim(
        inform_planned=False, inform_waived=True, waiver_ground=waiver_ground, waiver_explanation=EXPLANATION
    )
    assert codes(validate(claim)) == [("waiver_ground_invalid", "7.5")]


@pytest.mark.parametrize("explanation", [None, "", "   \n", ".", "Gevaar.", "Zie dossier, gevaar.", "x" * 40])
def test_a_waiver_is_explained_in_substance(explanation: str | None) -> None:
    claim = make_claim(
        inform_planned=False, inform_waived=True, waiver_ground="contact_loss", waiver_explanation=explanation
    )
    assert codes(validate(claim)) == [("waiver_explanation_missing", "7.7")]


def test_waiver_fields_are_ignored_when_informing_is_planned() -> None:
    claim = make_claim(
        inform_planned=True, inform_waived=False, waiver_ground="nonsense", waiver_explanation=""
    )
    assert validate(claim) == []


# --- discussing a refusal (art. 7.1, 7.5) ----------------------------------------------------

SUMMARY = "Met moeder besproken: zij vreest dat vader het hoort; ook na uitleg blijft zij weigeren."


@pytest.mark.parametrize(
    "discussion",
    [
        RefusalDiscussion(held=True, summary=SUMMARY),
        RefusalDiscussion(held=True, summary=SUMMARY, waived=False),
        RefusalDiscussion(waived=True, ground="safety", explanation=EXPLANATION),
        RefusalDiscussion(waived=True, ground="contact_loss", explanation=EXPLANATION),
    ],
)
def test_a_refusal_discussion_held_or_waived_passes(discussion: RefusalDiscussion) -> None:
    assert validate(make_claim(refusal_discussion=discussion)) == []


@pytest.mark.parametrize(
    ("discussion", "expected"),
    [
        (RefusalDiscussion(), [("refusal_discussion_invalid", "7.1")]),
        (RefusalDiscussion(held=True, waived=True, summary=SUMMARY), [("refusal_discussion_invalid", "7.1")]),
        (RefusalDiscussion(held="yes", summary=SUMMARY), [("refusal_discussion_invalid", "7.1")]),
        (RefusalDiscussion(held=True), [("refusal_discussion_summary_missing", "7.1")]),
        (RefusalDiscussion(held=True, summary="besproken"), [("refusal_discussion_summary_missing", "7.1")]),
        (
            RefusalDiscussion(waived=True),
            [("refusal_discussion_ground_invalid", "7.5"), ("refusal_discussion_explanation_missing", "7.7")],
        ),
        (
            RefusalDiscussion(waived=True, ground="safety", explanation="."),
            [("refusal_discussion_explanation_missing", "7.7")],
        ),
    ],
)
def test_a_refusal_discussion_must_be_complete(
    discussion: RefusalDiscussion, expected: list[tuple[str, str]]
) -> None:
    assert codes(validate(make_claim(refusal_discussion=discussion))) == expected


@pytest.mark.parametrize(
    "ground", [OverrideGround.ART7_5_NOT_ASKED_SAFETY, OverrideGround.ART7_5_NOT_ASKED_CONTACT_LOSS]
)
def test_without_asking_there_is_no_refusal_to_discuss(ground: OverrideGround) -> None:
    claim = make_claim(ground=ground.value, refusal_discussion=RefusalDiscussion(held=True, summary=SUMMARY))
    assert codes(validate(claim)) == [("refusal_discussion_not_applicable", "7.1")]


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
        (("p-1", "Anna de Vries"), ("p-2", "Bram Bakker"), OIN_A, OIN_A, []),
        (
            ("p-1", "Anna de Vries"),
            ("p-1", "Bram Bakker"),
            OIN_A,
            OIN_A,
            [("four_eyes_same_professional", "7.6")],
        ),
        (
            ("p-1", "Anna de Vries"),
            (" P-1 ", "Bram Bakker"),
            OIN_A,
            OIN_A,
            [("four_eyes_same_professional", "7.6")],
        ),
        # Same person under another id (a second account, a typo): the name gives it away.
        (
            ("p-1", "Anna de Vries"),
            ("p-9", "anna  DE vries"),
            OIN_A,
            OIN_A,
            [("four_eyes_same_professional", "7.6")],
        ),
        (
            ("p-1", "Anna de Vries"),
            ("p-9", "Anna\u00a0de Vries"),
            OIN_A,
            OIN_A,
            [("four_eyes_same_professional", "7.6")],
        ),
        (("p-1", "Anna de Vries"), ("p-2", "Anna de Vries-Bakker"), OIN_A, OIN_A, []),
        (
            ("p-1", "Anna de Vries"),
            ("p-2", "Bram Bakker"),
            OIN_A,
            OIN_B,
            [("four_eyes_other_partner", "7.6")],
        ),
        (
            ("p-1", "Anna de Vries"),
            ("p-1", "Anna de Vries"),
            OIN_A,
            OIN_B,
            [("four_eyes_same_professional", "7.6"), ("four_eyes_other_partner", "7.6")],
        ),
    ],
)
def test_approval_is_by_another_professional_of_the_same_partner(
    requester: tuple[str, str],
    approver: tuple[str, str],
    requester_partner: str,
    approver_partner: str,
    expected: list[tuple[str, str]],
) -> None:
    violations = approval_violations(
        requester_id=requester[0],
        requester_name=requester[1],
        approver_id=approver[0],
        approver_name=approver[1],
        requester_partner=requester_partner,
        approver_partner=approver_partner,
    )
    assert codes(violations) == expected


# --- states of the follow-up (art. 7.4, 7.6, 7.7) -------------------------------------------

DEADLINE = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "at", "expected"),
    [
        ("awaiting", DEADLINE - timedelta(seconds=1), "awaiting"),
        ("awaiting", DEADLINE, "expired"),
        ("awaiting", datetime(2025, 3, 14, 7, 0), "expired"),  # naive read as UTC (SQLite)
        ("approved", DEADLINE + timedelta(days=1), "approved"),
        ("expired", DEADLINE - timedelta(days=1), "expired"),
        ("not_required", DEADLINE + timedelta(days=1), "not_required"),
    ],
)
def test_a_hold_is_expired_from_its_deadline_on(status: str, at: datetime, expected: str) -> None:
    assert approval_status_at(status, DEADLINE, at) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("awaiting", None),
        ("expired", ConflictSlug.HOLD_EXPIRED),
        ("approved", ConflictSlug.NOT_AWAITING_APPROVAL),
        ("not_required", ConflictSlug.NOT_AWAITING_APPROVAL),
    ],
)
def test_only_an_awaiting_hold_can_be_approved(status: str, expected: ConflictSlug | None) -> None:
    assert approval_conflict(status) == expected


def test_every_conflict_has_a_detail() -> None:
    # The services answer every 409 with CONFLICT_DETAILS[slug]: a missing one would be a 500.
    assert set(CONFLICT_DETAILS) == set(ConflictSlug)
    assert all(detail.strip() for detail in CONFLICT_DETAILS.values())


@pytest.mark.parametrize(
    ("approval", "review", "expected"),
    [
        ("not_required", "pending_review", None),
        ("approved", "pending_review", None),
        ("awaiting", "pending_review", ConflictSlug.NOT_SENT),
        ("expired", "pending_review", ConflictSlug.NOT_SENT),
        ("not_required", "reviewed", ConflictSlug.ALREADY_REVIEWED),
        ("approved", "reviewed", ConflictSlug.ALREADY_REVIEWED),
    ],
)
def test_a_review_is_of_a_sent_override_and_final(
    approval: str, review: str, expected: ConflictSlug | None
) -> None:
    assert review_conflict(approval, review) == expected


@pytest.mark.parametrize(
    ("basis", "approval", "inform", "expected"),
    [
        ("override", "not_required", "planned", None),
        ("override", "approved", "planned", None),
        ("override", "awaiting", "planned", ConflictSlug.NOT_SENT),
        ("override", "expired", "planned", ConflictSlug.NOT_SENT),
        ("override", "not_required", "informed", ConflictSlug.ALREADY_INFORMED),
        ("override", "not_required", "waived", ConflictSlug.INFORM_WAIVED),
        ("statutory", "not_required", "not_applicable", ConflictSlug.NOT_AN_OVERRIDE),
    ],
)
def test_only_a_planned_obligation_of_a_sent_override_is_closed(
    basis: str, approval: str, inform: str, expected: ConflictSlug | None
) -> None:
    assert inform_conflict(basis, approval, inform) == expected


DECIDED = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("informed_at", "problem"),
    [
        (None, "missing"),
        ("morgen", "RFC 3339"),
        ("2025-03-14T10:00:00", "offset"),  # naive: refused, and not called "in the future"
        ("2025-03-14T01:59:59Z", "before the override"),
        ("2025-03-13T10:00:00Z", "before the override"),
        ((AT + timedelta(minutes=6)).isoformat(), "future"),
    ],
)
def test_informed_at_is_an_aware_time_between_decision_and_now(informed_at: object, problem: str) -> None:
    violations = subject_informed_violations(informed_at, "gesprek", "Anna", decided_at=DECIDED, at=AT)
    assert codes(violations) == [("informed_at_invalid", "7.4")]
    assert problem in violations[0].message


def test_a_record_of_informing_names_how_and_by_whom() -> None:
    assert (
        subject_informed_violations(AT.isoformat(), "gesprek met moeder", "Anna", decided_at=DECIDED, at=AT)
        == []
    )
    assert codes(subject_informed_violations(None, " ", None, decided_at=DECIDED, at=AT)) == [
        ("informed_at_invalid", "7.4"),
        ("informed_how_missing", "7.4"),
        ("informed_by_missing", "7.4"),
    ]


def test_a_verdict_has_a_note() -> None:
    assert review_violations("Voorwaarden onderbouwd.") == []
    assert codes(review_violations("  ")) == [("note_missing", "7.7")]


# --- obligation to inform (art. 7.4): timing ----------------------------------------------

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


def test_a_negative_period_is_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        is_obligation_overdue(OPENED, None, OPENED, -1)
