"""Pure rules of the right of access (art. 10) exercised for minors by representatives (art. 16).

No I/O and no clock: dates and ages are parameters.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from gateway.problems import RuleViolation


class Relationship(StrEnum):
    SELF = "self"
    PARENT_WITH_AUTHORITY = "parent_with_authority"
    GUARDIAN = "guardian"


REFUSAL_GROUNDS: dict[str, str] = {
    "art10_6_a": "de veiligheid van de Staat",
    "art10_6_b": "het voorkomen, opsporen en vervolgen van strafbare feiten",
    "art10_6_c": "gewichtige economische en financiële belangen van de Staat en andere openbare lichamen",
    "art10_6_d": "het toezicht op de naleving van wettelijke voorschriften ten behoeve van b en c",
    "art10_6_e": "de bescherming van de betrokkene of van de rechten en vrijheden van anderen",
}

Outcome = Literal["allowed", "needs_youth", "needs_representative", "forbidden", "age_unknown"]


@dataclass(frozen=True)
class Eligibility:
    outcome: Outcome
    article: str
    message: str


def eligibility(relationship: Relationship, age: int | None) -> Eligibility:
    """Who may exercise the rights for whom (art. 16 lid 1-2).

    Under 12 the legal representative acts alone; from 12 to 16 the youth and the representative act
    together; from 16 the youth acts alone.
    """
    if age is None:
        return Eligibility(
            "age_unknown", "16", "The subject's age is not known; a professional must verify it."
        )
    if relationship is Relationship.SELF:
        if age < 12:
            return Eligibility("forbidden", "16.1", "Under 12 the legal representative makes the request.")
        if age < 16:
            return Eligibility("needs_representative", "16.2", "From 12 to 16 the representative must join.")
        return Eligibility("allowed", "16.2", "From 16 the youth makes the request alone.")
    if age >= 16:
        return Eligibility("forbidden", "16.2", "From 16 the youth exercises the right alone.")
    if age >= 12:
        return Eligibility("needs_youth", "16.2", "From 12 to 16 the youth must join the request.")
    return Eligibility("allowed", "16.1", "Under 12 the legal representative acts alone.")


def due_date(received: dt.date) -> dt.date:
    """One calendar month after receipt (art. 10 lid 3): 31 January → 28 (or 29) February."""
    year, month = (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    day = min(received.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def is_overdue(due: dt.date, today: dt.date, decided: bool) -> bool:
    """Undecided after the due date (art. 10 lid 3 and 7)."""
    return not decided and today > due


def decision_violations(
    decision: str,
    ground: str | None,
    motivation: str | None,
    withheld_entries: Collection[str],
    known_entries: Collection[str],
) -> list[RuleViolation]:
    """A refusal needs an art. 10.6 ground and a motivation (art. 10 lid 6-7); so does withholding."""
    violations: list[RuleViolation] = []
    motivated = bool(motivation and motivation.strip())
    if decision == "refuse" or withheld_entries:
        if ground not in REFUSAL_GROUNDS:
            violations.append(
                RuleViolation("refusal_ground_missing", "10.6", "Name the ground: art10_6_a … art10_6_e.")
            )
        if not motivated:
            violations.append(
                RuleViolation(
                    "motivation_missing", "10.7", "A refusal or withholding must be motivated in writing."
                )
            )
    unknown = [entry for entry in withheld_entries if entry not in known_entries]
    if unknown:
        violations.append(
            RuleViolation(
                "withheld_entry_unknown", "10.6", f"Not entries about this subject: {', '.join(unknown[:5])}"
            )
        )
    return violations
