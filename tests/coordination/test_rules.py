"""The pure rules of coordination of help (Spoorboekje §10.2-10.3, Bijlage VI)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination import rules
from coordination.rules import ChecklistFacts, CoordinatorChoice

AT = dt.datetime(2026, 8, 31, 12, tzinfo=dt.UTC)
PARTNERS = {"A" * 20, "B" * 20, "C" * 20}
A, B, C = sorted(PARTNERS)


def codes(violations: list[rules.RuleViolation]) -> list[tuple[str, str]]:
    return [(v.code, v.article) for v in violations]


def test_six_months_is_calendar_months_clamped_to_the_month_end() -> None:
    assert rules.add_months(AT, 6) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    assert rules.add_months(dt.datetime(2027, 8, 31, tzinfo=dt.UTC), 6) == dt.datetime(
        2028, 2, 29, tzinfo=dt.UTC
    )
    assert rules.add_months(dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 12) == dt.datetime(
        2027, 1, 15, tzinfo=dt.UTC
    )


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)), st.integers(0, 36))
def test_adding_months_never_goes_back_and_stays_within_a_month_each(
    moment: dt.datetime, months: int
) -> None:
    later = rules.add_months(moment, months)
    assert later >= moment
    assert (later.year - moment.year) * 12 + later.month - moment.month == months


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (CoordinatorChoice("partner", A, None), []),
        (CoordinatorChoice("family", None, None), []),
        (CoordinatorChoice("family", A, None), [("family_names_no_partner", "Spoorboekje 10.3")]),
        (CoordinatorChoice("partner", None, None), [("coordinator_missing", "Spoorboekje 10.2")]),
        (CoordinatorChoice("partner", "9" * 20, None), [("unknown_coordinator", "Spoorboekje 10.2")]),
        (CoordinatorChoice("regie", A, None), [("coordination_form_unknown", "Spoorboekje 10.3")]),
        (CoordinatorChoice("process_coordinator", A, rules.add_months(AT, 6)), []),
        (
            CoordinatorChoice("process_coordinator", A, rules.add_months(AT, 6) + dt.timedelta(seconds=1)),
            [("process_coordination_too_long", "Spoorboekje 10.3")],
        ),
        (CoordinatorChoice("partner", A, AT), [("until_in_past", "Spoorboekje 10.3")]),
    ],
)
def test_who_may_coordinate_and_for_how_long(
    choice: CoordinatorChoice, expected: list[tuple[str, str]]
) -> None:
    assert codes(rules.check_coordinator(choice, PARTNERS, at=AT)) == expected


def test_process_coordination_ends_by_itself_after_six_months() -> None:
    until = rules.coordination_until(CoordinatorChoice("process_coordinator", A, None), AT)
    assert until == rules.add_months(AT, 6)
    assert rules.current_coordinator("process_coordinator", A, until, AT) == A
    assert until is not None and rules.current_coordinator("process_coordinator", A, until, until) is None
    assert rules.coordination_until(CoordinatorChoice("partner", A, None), AT) is None


def test_the_family_or_an_ended_coordination_has_no_partner_to_notify() -> None:
    assert rules.current_coordinator("family", None, None, AT) is None
    assert rules.current_coordinator(None, None, None, AT) is None
    assert codes(rules.notice_recipient(None, B)) == [("no_coordinator", "Spoorboekje 10.2")]
    assert codes(rules.notice_recipient(A, A)) == [("sender_is_coordinator", "Spoorboekje 10.2")]
    assert rules.notice_recipient(A, B) == []


def test_only_the_coordinator_changes_coordination_unless_nobody_coordinates() -> None:
    assert rules.may_change_coordinator(A, A, [A, B])
    assert not rules.may_change_coordinator(B, A, [A, B])
    assert rules.may_change_coordinator(B, None, [A, B])
    assert not rules.may_change_coordinator(C, None, [A, B])


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        ("help_started", {}, []),
        ("help_ended", {}, [("effects_missing", "Spoorboekje 10.2")]),
        ("help_ended", {"effects": "  "}, [("effects_missing", "Spoorboekje 10.2")]),
        ("help_ended", {"effects": "Doelen bereikt"}, []),
        ("help_broken_off", {}, [("cause_missing", "Spoorboekje 10.2")]),
        ("repeated_no_show", {"cause": "x"}, [("likely_causes_missing", "Spoorboekje 10.2")]),
        ("referred", {"referred_to": "GGZ Delfland"}, []),
        ("help_paused", {}, [("notice_type_unknown", "Spoorboekje 10.2")]),
    ],
)
def test_each_notice_says_what_its_type_requires(
    kind: str, fields: dict[str, str | None], expected: list[tuple[str, str]]
) -> None:
    assert codes(rules.check_notice(kind, fields)) == expected


def test_every_notice_type_has_categories_and_a_referral_discloses_the_referral() -> None:
    assert set(rules.NOTICE_CATEGORIES) == set(rules.NOTICE_TYPES)
    assert rules.NOTICE_CATEGORIES["referred"] == ("care_progress", "referral")


def test_outstanding_reports_name_who_has_not_reported_start_or_end() -> None:
    reports = rules.outstanding_reports(
        [A, B, C], A, [(B, "help_started"), (B, "help_broken_off"), (C, "referred")]
    )
    assert [(r.partner, r.started, r.ended) for r in reports] == [(B, True, True), (C, False, False)]


def test_household_needs_children_once_and_registered_partners() -> None:
    assert codes(rules.check_household(0, 0, [A], PARTNERS)) == [("children_missing", "Spoorboekje 10.2")]
    assert codes(rules.check_household(2, 1, [A, "X" * 20], PARTNERS)) == [
        ("duplicate_child", "Spoorboekje 10.2"),
        ("unknown_partner", "Spoorboekje 10.2"),
    ]


def test_the_bijlage_vi_checklist_derives_what_the_events_show_and_no_more() -> None:
    nothing = ChecklistFacts(False, 1, 0, 0, 0, 0, 0, False)
    steps = rules.checklist(nothing)
    assert len(steps) == 12 and [s[0] for s in steps] == [step for step, _ in rules.CHECKLIST]
    assert {s[0]: s[2] for s in steps}["coordinator_designated"] is False
    assert sum(1 for s in steps if s[2] is None) == 6
    done = {s[0]: s[2] for s in rules.checklist(ChecklistFacts(True, 3, 2, 2, 1, 2, 0, False))}
    assert done["coordinator_designated"] and done["family_plan_made"] and done["goals_adjusted"]
    assert done["goals_evaluated"] and done["help_closed"] and done["right_parties_involved"]
    assert not {s[0]: s[2] for s in rules.checklist(ChecklistFacts(True, 3, 1, 2, 0, 1, 1, False))}[
        "help_closed"
    ]
