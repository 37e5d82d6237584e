"""Pure consent rules of the Privacyreglement Meerpunt (art. 2, 6, 7, 14, Bijlage VIII).

Functional core: no I/O, no clock, no database. Every moment is a parameter and
every datetime is timezone-aware (UTC by convention). Services gather the facts,
call these functions and apply the outcome.

One module per part of the rules, each importing only the ones above it:
`types` (the enums and facts), `moments` (ages, dates, the one-year validity), `text` (names,
notes, hashes), `signatories` (art. 6 lid 5-9), `statement` (the statement as registered),
`decision` (may this be disclosed, art. 14 restrictions), `status` (where a statement stands)
and `withdrawal` (intrekking). Import from `consent.rules`: it re-exports every public name.
"""

from __future__ import annotations

from consent.rules.decision import decide, may_lift_restriction, may_rely_on, restriction_active
from consent.rules.moments import (
    CLOCK_SKEW,
    EARLIEST_MOMENT,
    LOCAL_TZ,
    age_on,
    effective_valid_until,
    in_supported_range,
    local_date,
)
from consent.rules.signatories import validate_signatories
from consent.rules.statement import validate_consent_statement
from consent.rules.status import consent_status
from consent.rules.types import (
    PERMIT_REASON,
    CategoryDecision,
    ConsentFacts,
    ConsentForm,
    ConsentStatus,
    Decision,
    DecisionRequest,
    DenyReason,
    GrantFacts,
    GrantSpec,
    RestrictionFacts,
    Signatory,
    SignatoryRole,
    Violation,
    WithdrawalFacts,
)
from consent.rules.withdrawal import validate_withdrawal, withdrawal_scope

__all__ = [
    "CLOCK_SKEW",
    "EARLIEST_MOMENT",
    "LOCAL_TZ",
    "PERMIT_REASON",
    "CategoryDecision",
    "ConsentFacts",
    "ConsentForm",
    "ConsentStatus",
    "Decision",
    "DecisionRequest",
    "DenyReason",
    "GrantFacts",
    "GrantSpec",
    "RestrictionFacts",
    "Signatory",
    "SignatoryRole",
    "Violation",
    "WithdrawalFacts",
    "age_on",
    "consent_status",
    "decide",
    "effective_valid_until",
    "in_supported_range",
    "local_date",
    "may_lift_restriction",
    "may_rely_on",
    "restriction_active",
    "validate_consent_statement",
    "validate_signatories",
    "validate_withdrawal",
    "withdrawal_scope",
]
