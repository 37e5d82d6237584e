"""Unit tests for `rules.validate_withdrawal` (Bijlage VIII: withdrawable in writing at any time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consent.rules import CLOCK_SKEW, validate_withdrawal

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GIVEN = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
SHA = "ef" * 32


def codes(**overrides: Any) -> set[str]:
    arguments: dict[str, Any] = {
        "received_at": NOW - timedelta(days=1),
        "given_at": GIVEN,
        "grant_ids": None,
        "known_grant_ids": {"g1", "g2"},
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
            known_grant_ids=(),
            evidence_sha256=SHA,
            now=NOW,
        )
