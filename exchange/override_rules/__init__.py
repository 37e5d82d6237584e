"""Pure rules for disclosures without consent (art. 7 Privacyreglement Meerpunt).

Verstrekking zonder toestemming / veiligheidsdoorbraak (art. 7). A partner may disclose
without, or against a refused, consent only when all five conditions of art. 7.3 hold,
after internal consultation (art. 7.6), with the subject informed as soon as possible
unless that is validly waived (art. 7.4-7.5), and with the decision, its reasons and the
consulted officials on record (art. 7.7).

Everything here is a pure function over plain values: no I/O and no clock. The caller
passes the current time as ``at``. Inputs arrive loosely typed (as the client sent them:
a time is a string, a flag may be ``"yes"``) and are parsed here, so that one answer lists
*every* violation, each naming its article, and a professional under pressure can fix the
request in one go instead of one error at a time.

One module per part: `types` (grounds, conditions, violation codes, 409 types, the claim),
`values` (reading times, text and names), `claim` (`validate_override`, art. 7.1, 7.3-7.7),
`statutory` (`validate_statutory`, art. 5.1) and `follow_up` (vier-ogen, informing, review).
Import from `exchange.override_rules`: it re-exports every public name.
"""

from __future__ import annotations

from exchange.override_rules.claim import (
    DEFAULT_CONSULTATION_MAX_AGE,
    MIN_EXPLANATION_CHARS,
    validate_override,
)
from exchange.override_rules.follow_up import (
    SENT,
    approval_conflict,
    approval_status_at,
    approval_violations,
    inform_conflict,
    is_obligation_overdue,
    review_conflict,
    review_violations,
    subject_informed_violations,
)
from exchange.override_rules.statutory import (
    DEFAULT_STATUTORY_GROUNDS,
    STATUTORY_MIN_JUSTIFICATION_CHARS,
    validate_statutory,
)
from exchange.override_rules.types import (
    CONDITIONS,
    CONFLICT_DETAILS,
    ConflictSlug,
    Consulted,
    OverrideClaim,
    OverrideGround,
    RefusalDiscussion,
    Violation,
    ViolationCode,
    WaiverGround,
)
from exchange.override_rules.values import CLOCK_SKEW, parse_moment

__all__ = [
    "CLOCK_SKEW",
    "CONDITIONS",
    "CONFLICT_DETAILS",
    "DEFAULT_CONSULTATION_MAX_AGE",
    "DEFAULT_STATUTORY_GROUNDS",
    "MIN_EXPLANATION_CHARS",
    "SENT",
    "STATUTORY_MIN_JUSTIFICATION_CHARS",
    "ConflictSlug",
    "Consulted",
    "OverrideClaim",
    "OverrideGround",
    "RefusalDiscussion",
    "Violation",
    "ViolationCode",
    "WaiverGround",
    "approval_conflict",
    "approval_status_at",
    "approval_violations",
    "inform_conflict",
    "is_obligation_overdue",
    "parse_moment",
    "review_conflict",
    "review_violations",
    "subject_informed_violations",
    "validate_override",
    "validate_statutory",
]
