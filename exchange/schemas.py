"""API shapes of the exchange (SPEC §6: disclosures, information requests, inbox)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Professional(BaseModel):
    """The acting beroepskracht (art. 18.3): stored with every register entry."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class SubjectRef(BaseModel):
    bsn: str = Field(max_length=20)


class ConsultedIn(BaseModel):
    name: str = ""
    role: str = ""
    consulted_at: dt.datetime | None = None


class InformSubjectIn(BaseModel):
    planned: bool = False
    waived: bool = False
    waiver_ground: str | None = None
    explanation: str | None = None


class LegalBasisIn(BaseModel):
    """`consent` (default), `override` (art. 7) or `statutory` (a configured statutory ground)."""

    type: Literal["consent", "override", "statutory"] = "consent"
    ground: str | None = None
    justification: str | None = None
    conditions: dict[str, Any] = Field(default_factory=dict)
    consulted: list[ConsultedIn] = Field(default_factory=list)
    inform_subject: InformSubjectIn | None = None


class DisclosureIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recipient: str = Field(max_length=20)
    subject: SubjectRef
    categories: list[str] = Field(max_length=50)
    reason: str = Field(default="", max_length=5000)
    description: str = Field(default="", max_length=20000)
    professional: Professional
    in_reply_to: str | None = Field(default=None, max_length=36)
    legal_basis: LegalBasisIn = Field(default_factory=LegalBasisIn)
    payload: Any = None
    payload_jwe: str | None = None


class InformationRequestIn(BaseModel):
    holder: str = Field(max_length=20)
    subject: SubjectRef
    categories: list[str] = Field(max_length=50)
    purpose: str = Field(default="", max_length=5000)
    professional: Professional
    consent_id: str | None = Field(default=None, max_length=36)


class DeclineIn(BaseModel):
    reason: str = Field(default="", max_length=5000)
    professional: Professional | None = None


class CorrectionIn(BaseModel):
    description: str = Field(default="", max_length=20000)
    professional: Professional
    payload: Any = None
    payload_jwe: str | None = None
    categories: list[str] | None = None
    subject: SubjectRef | None = None


class AcknowledgementIn(BaseModel):
    professional: Professional | None = None
