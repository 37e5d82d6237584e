"""Unit tests for `rules.validate_withdrawal` (Bijlage VIII: withdrawable in writing at any time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from consent.rules import CLOCK_SKEW, GrantFacts, validate_withdrawal, withdrawal_scope

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GIVEN = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
SHA = "ef" * 32
G1 = GrantFacts("g1", "A", frozenset({"contact"}), True)
G2 = GrantFacts("g2", "B", frozenset({"health"}), True)
NO = GrantFacts("g3", "A", frozenset({"housing"}), False)


def codes(**overrides: Any) -> set[str]:
    arguments: dict[str, Any] = {
        "received_at": NOW - timedelta(days=1),
        "given_at": GIVEN,
        "grant_ids": None,
        "visible": [G1, G2, NO],
        "sees_whole_form": True,
        "evidence_sha256": SHA,
        "now": NOW,
    }
    arguments.update(overrides)
    violations = validate_withdrawal(**arguments)
    assert all(v.article == "Bijlage VIII" for v in violations)
    return {v.code for v in violations}


def test_whole_and_partial_withdrawals_are_valid() -> None:
    assert codes() == set()
    assert codes(grant_ids=["g1"]) == set()
    assert codes(grant_ids=["g1", "g2", "g1"]) == set()
    assert codes(received_at=GIVEN) == set()  # the very moment it was given
    assert codes(received_at=NOW + CLOCK_SKEW) == set()  # within the allowed clock skew


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"evidence_sha256": ""}, {"withdrawal_evidence_invalid"}),
        ({"evidence_sha256": SHA.upper()}, {"withdrawal_evidence_invalid"}),
        ({"received_at": NOW + CLOCK_SKEW + timedelta(microseconds=1)}, {"received_at_in_future"}),
        ({"received_at": GIVEN - timedelta(microseconds=1)}, {"received_before_given"}),
        ({"grant_ids": []}, {"withdrawal_grants_empty"}),
        ({"grant_ids": ["g1", "g9"]}, {"unknown_grant"}),
        (
            {"evidence_sha256": "x", "grant_ids": ["g9"], "received_at": NOW + timedelta(days=1)},
            {"withdrawal_evidence_invalid", "unknown_grant", "received_at_in_future"},
        ),
        # A "Nee" holds no consent to withdraw.
        ({"grant_ids": ["g3"]}, {"refusal_not_withdrawable"}),
        ({"grant_ids": ["g1", "g3"]}, {"refusal_not_withdrawable"}),
        # A recipient-only partner sees its own lines only: the others are unknown to it ...
        ({"visible": [G1], "sees_whole_form": False, "grant_ids": ["g2"]}, {"unknown_grant"}),
        ({"visible": [G1], "sees_whole_form": False, "grant_ids": ["g1"]}, set()),
        ({"visible": [G1], "sees_whole_form": False}, set()),
        # ... and when its lines are all refusals, there is nothing it can withdraw.
        ({"visible": [NO], "sees_whole_form": False}, {"nothing_to_withdraw"}),
        # Dates out of range are refused, not computed with.
        ({"received_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))}, {"received_before_given"}),
        (
            {"received_at": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-1)))},
            {"received_at_in_future"},
        ),
    ],
)
def test_invalid_withdrawals_name_every_violation(overrides: dict[str, Any], expected: set[str]) -> None:
    assert codes(**overrides) == expected


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_withdrawal(
            received_at=datetime(2025, 6, 1),
            given_at=GIVEN,
            grant_ids=None,
            visible=(),
            sees_whole_form=True,
            evidence_sha256=SHA,
            now=NOW,
        )


def test_recipient_only_message_says_who_registers_the_rest() -> None:
    [violation] = validate_withdrawal(
        received_at=NOW,
        given_at=GIVEN,
        grant_ids=["g2"],
        visible=[G1],
        sees_whole_form=False,
        evidence_sha256=SHA,
        now=NOW,
    )
    assert violation.code == "unknown_grant"
    assert "only a recipient" in violation.message


@pytest.mark.parametrize(
    ("requested", "visible", "whole", "expected"),
    [
        (None, [G1, G2, NO], True, None),  # obtainer or on-behalf party: the whole statement
        (["g1"], [G1, G2, NO], True, frozenset({"g1"})),
        (None, [G1, NO], False, frozenset({"g1"})),  # recipient only: its own "Ja" lines
        (["g1", "g1"], [G1], False, frozenset({"g1"})),
    ],
)
def test_withdrawal_scope(
    requested: list[str] | None, visible: list[GrantFacts], whole: bool, expected: frozenset[str] | None
) -> None:
    assert withdrawal_scope(requested=requested, visible=visible, sees_whole_form=whole) == expected
