"""Pure rules of the right of access: art. 10.2-10.7 and 16 (no database, no clock)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.access.rules import (
    EntryLink,
    Relationship,
    RequestFacts,
    SignedConsent,
    Status,
    age_at,
    birth_date_basis,
    decision_violations,
    evidenced_role,
    may_decide,
    may_read_report,
    next_status,
    withheld_closure,
    withholding_candidates,
)
from consent.rules import may_lift_restriction

BORN = dt.date(2012, 5, 1)
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("recorded", "claimed", "verified", "expected"),
    [
        ({BORN}, None, None, (BORN, "record")),
        ({BORN}, BORN, None, (BORN, "record")),
        ({BORN}, dt.date(2018, 1, 1), None, (None, "claim_disagrees")),
        (set(), dt.date(2018, 1, 1), None, (None, "none_on_record")),
        ({BORN, dt.date(2013, 1, 1)}, None, None, (None, "records_disagree")),
        ({BORN}, dt.date(2018, 1, 1), dt.date(2011, 1, 1), (dt.date(2011, 1, 1), "verified")),
    ],
)
def test_the_birth_date_comes_from_the_record_or_a_professional_never_the_claim(
    recorded: set[dt.date], claimed: dt.date | None, verified: dt.date | None, expected: tuple[object, str]
) -> None:
    basis = birth_date_basis(recorded, claimed, verified)
    assert (basis.birth_date, basis.reason) == expected


def test_age_is_unknown_before_birth() -> None:
    assert age_at(dt.date(2030, 1, 1), dt.date(2026, 1, 1)) is None
    assert age_at(dt.date(2012, 6, 2), dt.date(2026, 6, 1)) == 13


def consent(
    given: dt.datetime, *, withdrawn: dt.datetime | None = None, role: str = "parent_with_authority"
) -> SignedConsent:
    return SignedConsent((("parent", role),), given, given + dt.timedelta(days=365), withdrawn)


@pytest.mark.parametrize(
    ("signed", "expected"),
    [
        (consent(NOW - dt.timedelta(days=30)), "parent_with_authority"),
        (consent(NOW - dt.timedelta(days=30), role="guardian"), "guardian"),
        (consent(NOW - dt.timedelta(days=30), role="foster_parent"), None),
        (consent(NOW - dt.timedelta(days=400)), None),  # years-old: gezag may have changed
        (consent(NOW - dt.timedelta(days=30), withdrawn=NOW - dt.timedelta(days=1)), None),
        (consent(NOW - dt.timedelta(days=30), withdrawn=NOW + dt.timedelta(days=1)), "parent_with_authority"),
        (consent(NOW + dt.timedelta(days=1)), None),
    ],
)
def test_evidence_of_gezag_needs_a_recent_consent_not_withdrawn(
    signed: SignedConsent, expected: str | None
) -> None:
    roles = {"parent_with_authority", "guardian"}
    assert evidenced_role([signed], "parent", roles, NOW) == expected
    assert evidenced_role([signed], "someone-else", roles, NOW) is None


def facts(**change: object) -> RequestFacts:
    base = {
        "relationship": Relationship.SELF,
        "age": 14,
        "requester_evidenced": True,
        "co_requester_joined": False,
        "candidate_waiting": False,
    }
    return RequestFacts(**(base | change))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "status", "needs"),
    [
        ({}, Status.PENDING_CO_REQUESTER, "representative"),
        ({"candidate_waiting": True}, Status.PENDING_VERIFICATION, "verification"),
        ({"co_requester_joined": True}, Status.PENDING_DECISION, None),
        ({"age": None}, Status.PENDING_VERIFICATION, "verification"),
        ({"age": 11}, Status.REJECTED, None),
        ({"age": 16}, Status.PENDING_DECISION, None),
        ({"relationship": Relationship.PARENT_WITH_AUTHORITY, "age": 17}, Status.REJECTED, None),
        (
            {"relationship": Relationship.PARENT_WITH_AUTHORITY, "age": 8, "requester_evidenced": False},
            Status.PENDING_VERIFICATION,
            "verification",
        ),
        (
            {"relationship": Relationship.PARENT_WITH_AUTHORITY, "age": 13},
            Status.PENDING_CO_REQUESTER,
            "youth",
        ),
    ],
)
def test_where_a_request_goes_next(change: dict[str, object], status: str, needs: str | None) -> None:
    transition = next_status(facts(**change))
    assert (transition.status, transition.needs) == (status, needs)
    assert (transition.violation is not None) == (status == Status.REJECTED)


def test_a_rejection_names_the_article() -> None:
    violation = next_status(facts(relationship=Relationship.GUARDIAN, age=16)).violation
    assert violation is not None and violation.article == "16.2"


@pytest.mark.parametrize(
    ("reader", "org", "channel", "requester", "status", "expected"),
    [
        ("central_officer", "meerpunt", "citizen", False, Status.PENDING_DECISION, True),
        ("partner_officer", "A", "partner_desk", False, Status.PENDING_DECISION, True),
        ("partner_officer", "B", "partner_desk", False, Status.RELEASED, False),
        ("partner_system", "A", "partner_desk", False, Status.PENDING_DECISION, False),
        ("partner_system", "A", "partner_desk", False, Status.RELEASED, True),
        ("partner_system", "B", "partner_desk", False, Status.RELEASED, False),
        ("citizen", None, "citizen", True, Status.PENDING_DECISION, False),
        ("citizen", None, "citizen", True, Status.RELEASED, True),
        ("citizen", None, "citizen", True, Status.REFUSED, True),
        ("citizen", None, "citizen", False, Status.RELEASED, False),
    ],
)
def test_who_reads_the_report(
    reader: str, org: str | None, channel: str, requester: bool, status: str, expected: bool
) -> None:
    lodged_with = "A" if channel == "partner_desk" else None
    assert (
        may_read_report(
            reader,  # type: ignore[arg-type]
            org=org,
            lodged_with=lodged_with,
            channel=channel,
            is_requester=requester,
            status=status,
        )
        is expected
    )


def test_a_citizen_request_is_decided_only_centrally() -> None:
    assert may_decide("central_officer", "meerpunt", None)
    assert not may_decide("partner_officer", "A", None)
    assert may_decide("partner_officer", "A", "A") and not may_decide("partner_officer", "B", "A")


def test_only_report_rows_can_be_withheld() -> None:
    violations = decision_violations(
        "release",
        "art10_6_e",
        "Veiligheid",
        ["ack"],
        known_entries={"row", "ack"},
        reportable_entries={"row"},
    )
    assert [v.code for v in violations] == ["withheld_entry_not_reportable"]
    assert decision_violations("release", "art10_6_e", "Veiligheid", ["row"], {"row", "ack"}, {"row"}) == []


def test_withholding_a_disclosure_withholds_its_corrections_and_acknowledgements() -> None:
    entries = [
        EntryLink("sent", "disclosure_sent", "m1", None),
        EntryLink("ack", "disclosure_received", "m1", None),
        EntryLink("fix", "correction_sent", "c1", "m1"),
        EntryLink("fix-ack", "disclosure_received", "c1", None),
        EntryLink("other", "disclosure_sent", "m2", None),
    ]
    assert withheld_closure(["sent"], entries) == {"sent", "ack", "fix", "fix-ack"}
    assert withheld_closure(["fix"], entries) == {"fix", "fix-ack"}


def test_overrides_with_a_waived_notice_are_candidates_for_withholding() -> None:
    waived = {"type": "override", "inform_subject": {"waived": True, "waiver_ground": "safety"}}
    entries = [
        {"id": "e1", "kind": "disclosure_sent", "legal_basis": waived},
        {
            "id": "e2",
            "kind": "disclosure_sent",
            "legal_basis": {"type": "override", "inform_subject": {"planned": True}},
        },
        {"id": "e3", "kind": "disclosure_sent", "legal_basis": {"type": "consent"}},
    ]
    assert [(c["entry_id"], c["waiver_ground"]) for c in withholding_candidates(entries)] == [
        ("e1", "safety")
    ]


@pytest.mark.parametrize(
    ("set_by", "lifter", "allowed"),
    [("A", "A", True), ("A", "B", False), ("A", None, True), (None, "A", False), (None, None, True)],
)
def test_a_restriction_is_lifted_by_its_organisation_or_centrally(
    set_by: str | None, lifter: str | None, allowed: bool
) -> None:
    assert may_lift_restriction(set_by, lifter) is allowed


@pytest.mark.parametrize("decision", ["release", "refuse"])
def test_a_ground_given_is_one_of_art_10_6(decision: str) -> None:
    violations = decision_violations(decision, "art10_6_z", "Veiligheid", [], known_entries=set())
    assert [(v.code, v.article) for v in violations] == [("refusal_ground_unknown", "10.6")]
    assert decision_violations("release", None, None, [], known_entries=set()) == []
