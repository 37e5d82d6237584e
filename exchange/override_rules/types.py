"""The vocabulary of the override path (art. 7): grounds, conditions, codes, 409 types, the claim.

The API, the docs check and every rule module share these registries, so a ground, condition or
violation code is defined once. The dataclasses hold the claim as the client sent it, unparsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class OverrideGround(StrEnum):
    """Ground for disclosing without consent (art. 7.3 and art. 7.5)."""

    ART7_3_REFUSED_CONSENT = "art7_3_refused_consent"
    """Consent was asked and refused; disclosed anyway (art. 7.3)."""
    ART7_5_NOT_ASKED_SAFETY = "art7_5_not_asked_safety"
    """Consent was not asked because of someone's safety (art. 7.5, first bullet)."""
    ART7_5_NOT_ASKED_CONTACT_LOSS = "art7_5_not_asked_contact_loss"
    """Consent was not asked for fear of losing contact with the family (art. 7.5, second bullet)."""


class WaiverGround(StrEnum):
    """Ground for not informing the subject, or for not discussing a refusal (art. 7.5)."""

    SAFETY = "safety"
    """Informing would endanger the person, the professional or someone else."""
    CONTACT_LOSS = "contact_loss"
    """Informing would make the person break off contact that is needed to protect them."""


class ViolationCode(StrEnum):
    """Every violation code the override path can answer with (the API and docs rely on them)."""

    OVERRIDE_GROUND_INVALID = "override_ground_invalid"
    JUSTIFICATION_INSUFFICIENT = "justification_insufficient"
    CONDITION_MISSING = "condition_missing"
    CONDITION_NOT_AFFIRMED = "condition_not_affirmed"
    CONDITION_UNKNOWN = "condition_unknown"
    CONSULTATION_MISSING = "consultation_missing"
    CONSULTATION_INCOMPLETE = "consultation_incomplete"
    CONSULTED_AT_INVALID = "consulted_at_invalid"
    CONSULTED_SELF = "consulted_self"
    INFORM_SUBJECT_MISSING = "inform_subject_missing"
    INFORM_SUBJECT_INVALID = "inform_subject_invalid"
    WAIVER_GROUND_INVALID = "waiver_ground_invalid"
    WAIVER_EXPLANATION_MISSING = "waiver_explanation_missing"
    REFUSAL_DISCUSSION_INVALID = "refusal_discussion_invalid"
    REFUSAL_DISCUSSION_NOT_APPLICABLE = "refusal_discussion_not_applicable"
    REFUSAL_DISCUSSION_SUMMARY_MISSING = "refusal_discussion_summary_missing"
    REFUSAL_DISCUSSION_GROUND_INVALID = "refusal_discussion_ground_invalid"
    REFUSAL_DISCUSSION_EXPLANATION_MISSING = "refusal_discussion_explanation_missing"
    STATUTORY_GROUND_INVALID = "statutory_ground_invalid"
    FOUR_EYES_SAME_PROFESSIONAL = "four_eyes_same_professional"
    FOUR_EYES_OTHER_PARTNER = "four_eyes_other_partner"
    INFORMED_AT_INVALID = "informed_at_invalid"
    INFORMED_HOW_MISSING = "informed_how_missing"
    INFORMED_BY_MISSING = "informed_by_missing"
    NOTE_MISSING = "note_missing"


class ConflictSlug(StrEnum):
    """Why a follow-up action does not fit the override's state: the 409 problem types."""

    NOT_AWAITING_APPROVAL = "override-not-awaiting-approval"
    """Approve: the override is not (or no longer) held for a second approval."""
    HOLD_EXPIRED = "override-hold-expired"
    """Approve: the hold expired before anyone approved; nothing was sent."""
    NOT_SENT = "override-not-sent"
    """Review or subject-informed: the override is still held or expired, so nothing was disclosed."""
    ALREADY_REVIEWED = "override-already-reviewed"
    """Review: a verdict is on record; it is final."""
    NOT_AN_OVERRIDE = "not-an-override"
    """Subject-informed: a statutory disclosure opens no duty to inform under art. 7.4."""
    INFORM_WAIVED = "override-inform-waived"
    """Subject-informed: informing was waived (art. 7.5) at the decision; there is nothing to close."""
    ALREADY_INFORMED = "already-informed"
    """Subject-informed: the subject was already recorded as informed."""


CONFLICT_DETAILS: dict[ConflictSlug, str] = {
    ConflictSlug.NOT_AWAITING_APPROVAL: "This override is not (or no longer) awaiting approval.",
    ConflictSlug.HOLD_EXPIRED: (
        "The hold expired before approval; nothing was sent. Send again if still needed."
    ),
    ConflictSlug.NOT_SENT: "The override is held for a second approval or expired; nothing was sent.",
    ConflictSlug.ALREADY_REVIEWED: "This override was already reviewed; a verdict is final.",
    ConflictSlug.NOT_AN_OVERRIDE: "Only overrides carry an obligation to inform (art. 7.4).",
    ConflictSlug.INFORM_WAIVED: (
        "Informing the subject was waived at the decision (art. 7.5); there is no obligation to close."
    ),
    ConflictSlug.ALREADY_INFORMED: "The subject was already recorded as informed.",
}
"""The `detail` of each 409 answer."""

CONDITIONS: tuple[str, ...] = (
    "urgent_safety_need",
    "own_care_insufficient",
    "other_party_needed",
    "disclosure_necessary",
    "law_permits",
)
"""The five conditions of art. 7.3, in the order of the regulation's bullets."""


@dataclass(frozen=True)
class Violation:
    """One broken rule, naming the article it comes from."""

    code: str
    article: str
    message: str


@dataclass(frozen=True)
class Consulted:
    """A functionaris consulted before the decision (art. 7.6), as the client stated it.

    ``consulted_at`` is an RFC 3339 string with an offset (or an aware datetime).
    """

    name: object
    role: object
    consulted_at: object


@dataclass(frozen=True)
class RefusalDiscussion:
    """Art. 7.1: the refusal was discussed (``held``), or that was skipped (``waived``, art. 7.5)."""

    held: object = None
    summary: object = None
    waived: object = None
    ground: object = None
    explanation: object = None


@dataclass(frozen=True)
class OverrideClaim:
    """What the sender states when disclosing without consent (art. 7.3-7.7)."""

    ground: object
    justification: object
    conditions: Mapping[str, object]
    consulted: Sequence[Consulted]
    inform_planned: object
    inform_waived: object
    waiver_ground: object
    waiver_explanation: object
    refusal_discussion: RefusalDiscussion | None = None
