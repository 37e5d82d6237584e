"""API shapes of the consent registry (SPEC §6: `/v1/consents*`, `/v1/consent-decisions`).

Requests are checked here only for shape. The rules of the Privacyreglement (BSN 11-check,
signatories, evidence, validity, known partners and categories) are checked by the service, so a
partner gets every violation of a statement in one answer, each naming its article.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from consent.rules import ConsentForm, ConsentStatus, SignatoryRole
from gateway.contract import Bsn, CategoryCode, Oin, categories

_SHORT = 200
_TEXT = 10_000
_OIN = 20
_MAX_ITEMS = 100


def _lowercase(value: str) -> str:
    return value.lower()


#: A SHA-256 in hex, accepted in either case and kept in lowercase: one document, one spelling
#: (the rules check the format and name the article when it is wrong).
Sha256 = Annotated[str, Field(max_length=128), AfterValidator(_lowercase)]


class _Request(BaseModel):
    # A misspelt optional field (e.g. `other_parent_statment`) must not be silently dropped:
    # the consent would be judged without it.
    model_config = ConfigDict(extra="forbid")


class SubjectIn(_Request):
    """De betrokkene: BSN (checked by the service) and birth date (decides who must sign)."""

    bsn: Bsn
    birth_date: dt.date


class SignatoryIn(_Request):
    role: SignatoryRole
    name: str = Field(max_length=_SHORT)
    #: Optional, additive: the signatory's BSN, stored only as a keyed hash. It is how a parent's
    #: later access request on behalf of the child is recognised (art. 16).
    bsn: str | None = Field(default=None, max_length=20)


class GrantIn(_Request):
    """One yes/no line of the consent form (Bijlage VIII)."""

    recipient: Oin
    categories: list[CategoryCode] = categories(_MAX_ITEMS)
    purpose: str = Field(max_length=_TEXT)
    granted: bool


class Professional(_Request):
    """The acting professional (beroepskracht, art. 18.3)."""

    id: str = Field(min_length=1, max_length=_SHORT)
    name: str = Field(min_length=1, max_length=_SHORT)
    role: str = Field(min_length=1, max_length=_SHORT)


class ConsentIn(_Request):
    """Body of `POST /v1/consents`."""

    subject: SubjectIn
    form: ConsentForm
    evidence_sha256: Sha256 | None = None
    note: str | None = Field(default=None, max_length=_TEXT)
    explicit: bool = False
    given_at: AwareDatetime
    valid_until: AwareDatetime | None = None
    signatories: list[SignatoryIn] = Field(max_length=20)
    other_parent_statement: str | None = Field(default=None, max_length=_TEXT)
    subject_incapable: bool = False
    legal_representation: bool = False
    #: Additive: the one parent who signed alone has authority (gezag) alone, so art. 6 lid 7's
    #: second parent is not required ("als beide ouders het gezag hebben").
    sole_authority: bool = False
    #: Additive, optional: SHA-256 of the written authorisation (schriftelijke volmacht, art. 6
    #: lid 8) of an `authorised_representative`.
    authorisation_evidence_sha256: Sha256 | None = None
    obtained_on_behalf_of: Oin | None = None
    grants: list[GrantIn] = Field(max_length=_MAX_ITEMS)
    professional: Professional | None = None


class WithdrawalIn(_Request):
    """Body of `POST /v1/consents/{id}/withdrawal`.

    No `grants` withdraws the whole statement, or for a partner that is only a recipient its own
    "Ja" lines (`rules.withdrawal_scope`).
    """

    received_at: AwareDatetime
    grants: list[str] | None = Field(default=None, max_length=_MAX_ITEMS)
    evidence_sha256: Sha256
    professional: Professional | None = None


class DecisionIn(_Request):
    """Body of `POST /v1/consent-decisions` (dry run)."""

    subject_bsn: Bsn
    recipient: Oin
    categories: list[CategoryCode] = Field(min_length=1, max_length=_MAX_ITEMS)


# ------------------------------------------------------------------ responses


class SubjectOut(BaseModel):
    bsn: str
    birth_date: dt.date


class SignatoryOut(BaseModel):
    role: SignatoryRole
    name: str


class GrantOut(BaseModel):
    id: str
    recipient: str
    categories: list[str]
    purpose: str
    granted: bool
    #: When a withdrawal covering this grant was received (null while not withdrawn).
    withdrawn_at: dt.datetime | None = None


class WithdrawalOut(BaseModel):
    id: str
    consent_id: str
    received_at: dt.datetime
    grants: list[str] | None
    evidence_sha256: str
    registered_by: str
    created_at: dt.datetime


class ConsentOut(BaseModel):
    """A registered consent as the caller may see it."""

    id: str
    subject: SubjectOut
    status: ConsentStatus
    obtained_by: str
    obtained_on_behalf_of: str | None
    form: ConsentForm
    evidence_sha256: str | None
    note: str | None
    explicit: bool
    given_at: dt.datetime
    valid_until: dt.datetime
    signatories: list[SignatoryOut]
    other_parent_statement: str | None
    subject_incapable: bool
    legal_representation: bool
    sole_authority: bool = False
    authorisation_evidence_sha256: str | None = None
    grants: list[GrantOut]
    withdrawals: list[WithdrawalOut]
    professional: Professional | None
    created_at: dt.datetime


class ConsentPage(BaseModel):
    items: list[ConsentOut]
    next_cursor: str | None


class CategoryDecisionOut(BaseModel):
    category: str
    decision: Literal["permit", "deny"]
    consent_id: str | None
    reason: str


class DecisionOut(BaseModel):
    decision: Literal["permit", "deny"]
    per_category: list[CategoryDecisionOut]
    at: dt.datetime
