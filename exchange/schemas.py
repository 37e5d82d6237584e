"""API shapes of the exchange (SPEC §6: disclosures, information requests, inbox)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from gateway.contract import Bsn, CategoryCode, Oin, categories


class Professional(BaseModel):
    """The acting beroepskracht (art. 18.3): stored with every register entry."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class SubjectRef(BaseModel):
    bsn: Bsn


# The override body is typed loosely on purpose: a time is a string, a flag any JSON value. The
# art. 7 rules (exchange/override_rules/) parse and check them, so that one problem lists every
# missing or invalid element with its article; a type error here would hide all the others.
# Flags are still strict: only the JSON boolean true affirms anything (no "yes" or 1 coercion).
StrictFlag = Annotated[object, WithJsonSchema({"type": "boolean"})]
MomentText = Annotated[str | None, WithJsonSchema({"type": "string", "format": "date-time"})]


class ConsultedIn(BaseModel):
    """A consulted official (art. 7.6): name, role and when (RFC 3339 with offset)."""

    name: str | None = None
    role: str | None = None
    consulted_at: MomentText = None


class InformSubjectIn(BaseModel):
    """Informing the subject (art. 7.4): planned, or waived on an art. 7.5 ground with an explanation."""

    planned: StrictFlag = None
    waived: StrictFlag = None
    waiver_ground: str | None = None
    explanation: str | None = None


class RefusalDiscussionIn(BaseModel):
    """Art. 7.1: the refusal was discussed (`held`, with a `summary`) or not (`waived`, art. 7.5)."""

    held: StrictFlag = None
    summary: str | None = Field(default=None, max_length=10000)
    waived: StrictFlag = None
    ground: str | None = Field(default=None, max_length=80)
    explanation: str | None = Field(default=None, max_length=10000)


class LegalBasisIn(BaseModel):
    """`consent` (default), `override` (art. 7) or `statutory` (a configured statutory ground)."""

    type: Literal["consent", "override", "statutory"] = "consent"
    ground: str | None = None
    justification: str | None = None
    conditions: dict[str, Any] = Field(default_factory=dict)
    consulted: list[ConsultedIn] = Field(default_factory=list)
    inform_subject: InformSubjectIn | None = None
    refusal_discussion: RefusalDiscussionIn | None = None


class DisclosureIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recipient: Oin
    subject: SubjectRef
    categories: list[CategoryCode] = categories(50)
    reason: str = Field(default="", max_length=5000)
    description: str = Field(default="", max_length=20000)
    professional: Professional
    in_reply_to: str | None = Field(default=None, max_length=36)
    legal_basis: LegalBasisIn = Field(default_factory=LegalBasisIn)
    payload: Any = None
    payload_jwe: str | None = None


class InformationRequestIn(BaseModel):
    holder: Oin
    subject: SubjectRef
    categories: list[CategoryCode] = categories(50)
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
