"""API shapes of the right of access (SPEC §6 `/v1/subject-access-requests*`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from audit.access.rules import Relationship
from gateway.contract import Bsn


class ProfessionalIn(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class AccessRequestIn(BaseModel):
    """SPEC §6 `{subject_bsn, relationship, contact?}`; the other fields are additive.

    A citizen may give `subject_birth_date`, but it never decides who may ask: the birth date on
    record does, and a claim that disagrees sends the request to a professional (art. 16, 10.2).
    A partner desk (a written request received on paper, art. 10.1-10.2) must name the professional
    who verified identity (`verified_by`) and the requester (`requester_name`, and `requester_bsn`
    when a representative asks); from 12 to 16 it names the second person who asked with them
    (`co_requester_name`, and `co_requester_bsn` when that is the representative, art. 16.2).
    """

    subject_bsn: Bsn
    relationship: Relationship
    contact: str | None = Field(default=None, max_length=500)
    subject_birth_date: dt.date | None = None
    requester_name: str | None = Field(default=None, min_length=1, max_length=200)
    requester_bsn: Bsn | None = None
    co_requester_name: str | None = Field(default=None, min_length=1, max_length=200)
    co_requester_bsn: Bsn | None = None
    co_requester_relationship: Literal["parent_with_authority", "guardian"] | None = None
    verified_by: ProfessionalIn | None = None


class VerificationIn(BaseModel):
    """A professional verified identity, age or gezag in person (art. 10.2).

    `subject_birth_date`: the birth date the professional read on an identity document.
    `representative_bsn` and `representative_relationship`: whose gezag was verified — the
    requester, or someone who confirmed the request as representative (art. 16.2). Without
    `representative_bsn` the verification is of the requester's gezag, if that is still open.
    """

    professional: ProfessionalIn
    note: str = Field(default="", max_length=2000)
    subject_birth_date: dt.date | None = None
    representative_bsn: Bsn | None = None
    representative_relationship: Literal["parent_with_authority", "guardian"] | None = None


class DecisionIn(BaseModel):
    decision: Literal["release", "refuse"]
    ground: str | None = None
    motivation: str | None = Field(default=None, max_length=10000)
    withheld_entries: list[str] = Field(default_factory=list, max_length=10000)
