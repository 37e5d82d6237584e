"""Pure checks of a send or request before consent is even asked (art. 5.2, 8.1; SPEC §6).

Each returns every violation at once, naming its article, so a partner's system can show the
professional everything to fix in one go.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from consent.bsn import is_valid_bsn
from gateway.problems import RuleViolation


@dataclass(frozen=True)
class SendFacts:
    sender: str
    recipient: str
    bsn: str
    categories: Sequence[str]
    reason: str
    description: str
    has_payload: bool
    has_payload_jwe: bool
    payload_jwe_well_formed: bool


def check_parties(
    sender: str, recipient: str, known_partners: Collection[str], *, role: str
) -> list[RuleViolation]:
    """Disclosures go only to another registered Meerpunt partner (art. 6.1: "een partij")."""
    if recipient == sender:
        return [
            RuleViolation(f"{role}_is_sender", "6.1", f"A partner cannot send to itself ({role} = sender).")
        ]
    if recipient not in known_partners:
        return [
            RuleViolation(
                f"unknown_{role}", "6.1", f"{role} {recipient!r} is not a registered Meerpunt partner."
            )
        ]
    return []


def check_subject(bsn: str) -> list[RuleViolation]:
    """The subject is identified by a valid BSN (11-check): a typo must not disclose about someone else."""
    if not is_valid_bsn(bsn):
        return [RuleViolation("invalid_bsn", "5.3", "subject.bsn is not a valid BSN (9 digits, 11-check).")]
    return []


def check_categories(categories: Sequence[str], known: Collection[str]) -> list[RuleViolation]:
    """Only declared categories of the taxonomy may be sent (art. 5.2: only what is necessary)."""
    if not categories:
        return [RuleViolation("categories_missing", "5.2", "Name at least one data category.")]
    violations = [
        RuleViolation(
            "unknown_category", "5.2", f"Category {code!r} is not in the taxonomy (GET /v1/categories)."
        )
        for code in categories
        if code not in known
    ]
    if len(set(categories)) != len(categories):
        violations.append(RuleViolation("duplicate_category", "5.2", "A category is listed twice."))
    return violations


def check_send(
    facts: SendFacts, known_partners: Collection[str], known_categories: Collection[str]
) -> list[RuleViolation]:
    """All checks of a disclosure body (art. 5.2 and 8.1)."""
    violations = check_parties(facts.sender, facts.recipient, known_partners, role="recipient")
    violations += check_subject(facts.bsn)
    violations += check_categories(facts.categories, known_categories)
    if not facts.reason.strip():
        violations.append(RuleViolation("reason_missing", "8.1", "State the reason for the disclosure."))
    if not facts.description.strip():
        violations.append(
            RuleViolation("description_missing", "8.1", "Describe which personal data are disclosed.")
        )
    if facts.has_payload == facts.has_payload_jwe:
        violations.append(
            RuleViolation("payload_missing", "5.2", "Send exactly one of `payload` (JSON) or `payload_jwe`.")
        )
    elif facts.has_payload_jwe and not facts.payload_jwe_well_formed:
        violations.append(RuleViolation("payload_jwe_malformed", "19", "payload_jwe is not a compact JWE."))
    return violations
