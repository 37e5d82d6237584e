"""Pure checks of a send or request before consent is even asked (art. 5.2, 8.1; SPEC §6).

Each returns every violation at once, naming its article, so a partner's system can show the
professional everything to fix in one go.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from consent.bsn import is_valid_bsn
from exchange.crypto import looks_like_compact_jwe
from gateway.problems import RuleViolation


@dataclass(frozen=True)
class SendFacts:
    sender: str
    recipient: str
    bsn: str
    categories: Sequence[str]
    reason: str
    description: str
    payload: object  # the JSON `payload` as sent; None when absent
    payload_jwe: str | None


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
    violations += check_payload(facts.payload, facts.payload_jwe)
    return violations


def is_empty_payload(payload: object) -> bool:
    """An empty object, array or (blank) string: nothing that could be the data a send names."""
    if isinstance(payload, dict | list):
        return not payload
    return isinstance(payload, str) and not payload.strip()


def check_payload(payload: object, payload_jwe: str | None) -> list[RuleViolation]:
    """A disclosure or correction carries the data it names, once (art. 5.2: a payload-less
    disclosure is refused).

    Exactly one of `payload` (JSON, encrypted by the gateway) or `payload_jwe` (encrypted end to end
    by the sender, art. 19) and it is not empty; the JWE must at least have the compact shape.
    """
    if payload is not None and payload_jwe is not None:
        return [
            RuleViolation(
                "payload_ambiguous", "5.2", "Send either `payload` (JSON) or `payload_jwe`, not both."
            )
        ]
    if payload is None and payload_jwe is None:
        return [RuleViolation("payload_missing", "5.2", "Send `payload` (JSON) or `payload_jwe`.")]
    if is_empty_payload(payload if payload_jwe is None else payload_jwe):
        return [
            RuleViolation("payload_empty", "5.2", "The payload is empty: send the data the disclosure names.")
        ]
    if payload_jwe is not None and not looks_like_compact_jwe(payload_jwe):
        return [RuleViolation("payload_jwe_malformed", "19", "payload_jwe is not a compact JWE.")]
    return []
