"""The vocabulary of the consent rules: roles, forms, reasons, statuses and the facts they reason over.

Plain enums and frozen dataclasses, no behaviour beyond `Decision`'s summaries. They live apart
so that every rule module, the repository and the API schemas share one definition of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

PERMIT_REASON = "consent"


class SignatoryRole(StrEnum):
    """Who signed a consent statement (art. 6 lid 5-9)."""

    PARENT_WITH_AUTHORITY = "parent_with_authority"
    GUARDIAN = "guardian"
    YOUTH = "youth"
    AUTHORISED_REPRESENTATIVE = "authorised_representative"
    CURATOR = "curator"
    MENTOR = "mentor"
    FOSTER_PARENT = "foster_parent"


class ConsentForm(StrEnum):
    """Schriftelijke or mondelinge toestemming (art. 6 lid 4)."""

    WRITTEN = "written"
    ORAL = "oral"


class DenyReason(StrEnum):
    """Why a category may not be disclosed."""

    NO_CONSENT = "no_consent"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RECIPIENT_NOT_COVERED = "recipient_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"
    NOT_EXPLICIT = "not_explicit"
    RESTRICTED = "restricted"
    NOT_YET_VALID = "not_yet_valid"


class ConsentStatus(StrEnum):
    """Where a statement stands at a moment (Bijlage VIII: one year, withdrawable at any time)."""

    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    PARTIALLY_WITHDRAWN = "partially_withdrawn"


@dataclass(frozen=True)
class Violation:
    """A broken rule: machine code, the article (e.g. "6.7", "Bijlage VIII") and what is missing."""

    code: str
    article: str
    message: str


@dataclass(frozen=True)
class Signatory:
    role: SignatoryRole
    name: str


@dataclass(frozen=True)
class GrantSpec:
    """One yes/no line of the consent form: recipient, data, purpose (Bijlage VIII)."""

    recipient: str
    categories: frozenset[str]
    purpose: str
    granted: bool


@dataclass(frozen=True)
class GrantFacts:
    grant_id: str
    recipient: str
    categories: frozenset[str]
    granted: bool


@dataclass(frozen=True)
class ConsentFacts:
    """A statement as the decision sees it; `obtained_by`/`obtained_on_behalf_of` decide who may use it."""

    consent_id: str
    form: ConsentForm
    explicit: bool
    given_at: datetime
    valid_until: datetime
    grants: tuple[GrantFacts, ...]
    obtained_by: str
    obtained_on_behalf_of: str | None


@dataclass(frozen=True)
class WithdrawalFacts:
    """Intrekking; ``grant_ids=None`` withdraws the whole consent."""

    consent_id: str
    received_at: datetime
    grant_ids: frozenset[str] | None


@dataclass(frozen=True)
class RestrictionFacts:
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True)
class DecisionRequest:
    """May `sender` disclose these categories to `recipient`?

    `sender=None` asks about the registry as a whole, whoever obtained the consent; only tests and
    overviews do that. Every disclosure and dry run names its sender (art. 6 lid 1, 3).
    """

    recipient: str
    categories: tuple[str, ...]
    sender: str | None = None


@dataclass(frozen=True)
class CategoryDecision:
    """Outcome for one category; ``reason`` is "consent" or a DenyReason value."""

    category: str
    decision: Literal["permit", "deny"]
    consent_id: str | None
    reason: str


@dataclass(frozen=True)
class Decision:
    """Besluit over een verstrekking (art. 6 lid 1): one outcome per requested category."""

    per_category: tuple[CategoryDecision, ...]

    @property
    def permitted(self) -> bool:
        """True only if at least one category was asked and every one is permitted."""
        return bool(self.per_category) and all(c.decision == "permit" for c in self.per_category)

    @property
    def decision(self) -> Literal["permit", "deny"]:
        """Either "permit" (every category covered, art. 6 lid 1) or "deny"."""
        return "permit" if self.permitted else "deny"

    @property
    def consent_ids(self) -> tuple[str, ...]:
        """Distinct consent ids named by the per-category outcomes, in order."""
        ids = (c.consent_id for c in self.per_category if c.consent_id is not None)
        return tuple(dict.fromkeys(ids))
