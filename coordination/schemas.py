"""API shapes of the coordination register (SPEC §9 additions: coordination of help)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from exchange.schemas import Professional, SubjectRef

NoticeType = Literal["help_started", "help_ended", "help_broken_off", "repeated_no_show", "referred"]


class CoordinatorIn(BaseModel):
    """Who coordinates (§10.3): a partner, the family itself, or a process coordinator (≤ six months)."""

    form: Literal["partner", "family", "process_coordinator"]
    partner: str | None = Field(default=None, max_length=20)
    until: dt.datetime | None = None


class HouseholdIn(BaseModel):
    """Designate a coordinator for a household (§10.2: "vast te stellen wie de coördinatie op zich neemt")."""

    model_config = ConfigDict(extra="forbid")

    children: list[SubjectRef] = Field(min_length=1, max_length=20)
    involved: list[str] = Field(default_factory=list, max_length=50)
    coordinator: CoordinatorIn
    reason: str = Field(default="", max_length=5000)
    professional: Professional


class HandoverIn(BaseModel):
    coordinator: CoordinatorIn
    reason: str = Field(default="", max_length=5000)
    professional: Professional


class EndIn(BaseModel):
    reason: str = Field(default="", max_length=5000)
    professional: Professional


class NoticeIn(BaseModel):
    """A notice to the coordinator (§10.2 "Elkaar informeren"); header `Idempotency-Key`."""

    model_config = ConfigDict(extra="forbid")

    type: NoticeType
    subject: SubjectRef
    professional: Professional
    note: str | None = Field(default=None, max_length=20000)
    effects: str | None = Field(default=None, max_length=20000)
    cause: str | None = Field(default=None, max_length=20000)
    likely_causes: str | None = Field(default=None, max_length=20000)
    referred_to: str | None = Field(default=None, max_length=500)


class PlanVersionIn(BaseModel):
    """A version of the gezinsplan: a document (`payload`, JSON) sent to every involved partner."""

    model_config = ConfigDict(extra="forbid")

    #: The household's children the plan concerns (the coordination register keeps no BSNs).
    children: list[SubjectRef] = Field(min_length=1, max_length=20)
    payload: Any
    description: str = Field(default="Gezinsplan", max_length=20000)
    professional: Professional


class CoordinatorOut(BaseModel):
    form: str | None
    partner: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    #: The partner notices go to now (None: eigen regie, ended or expired).
    active_partner: str | None


class EventOut(BaseModel):
    id: str
    kind: str
    occurred_at: dt.datetime
    actor: str
    form: str | None = None
    coordinator: str | None = None
    recipient: str | None = None
    child: int | None = None
    notice_type: str | None = None
    plan_version: int | None = None
    message_id: str | None = None
    register_entry: str | None = None
    #: True when the event is a notice the viewer may not see the content of (art. 6.1).
    withheld: bool = False
    withheld_reason: str | None = None


class HouseholdOut(BaseModel):
    id: str
    created_at: dt.datetime
    created_by: str
    children: list[int]
    involved: list[str]
    coordinator: CoordinatorOut
    plan_version: int
    events: list[EventOut]


class HouseholdList(BaseModel):
    items: list[HouseholdOut]
    next_cursor: str | None = None


class NoticeAccepted(BaseModel):
    id: str
    status: str
    register_entry: str | None
    receipt: str | None
    trace_id: str | None = None
    notice_type: str
    coordinator: str


class ReceivedNotice(BaseModel):
    id: str
    sender: str
    notice_type: str
    child: int | None
    occurred_at: dt.datetime
    status: str | None


class ReportStatusOut(BaseModel):
    partner: str
    started: bool
    ended: bool


class NoticeOverview(BaseModel):
    """What the coordinator received and whom it must chase (§10.2)."""

    items: list[ReceivedNotice]
    next_cursor: str | None = None
    reports: list[ReportStatusOut]
    not_reported_start: list[str]
    not_reported_end: list[str]


class PlanDelivery(BaseModel):
    recipient: str
    child: int
    disclosure_id: str | None = None
    register_entry: str | None = None
    status: str
    reason: str | None = None


class PlanVersionOut(BaseModel):
    version: int
    sender: str
    created_at: dt.datetime
    deliveries: list[PlanDelivery]


class PlanVersionList(BaseModel):
    items: list[PlanVersionOut]
    next_cursor: str | None = None


class ChecklistStep(BaseModel):
    step: str
    text: str
    done: bool | None
    evidence: str


class Checklist(BaseModel):
    household: str
    items: list[ChecklistStep]
