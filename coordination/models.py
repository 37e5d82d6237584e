"""Tables of the coordination register (1Huishouden-1Plan-1Regisseur, Spoorboekje §10.2-10.3).

A household (*huishouden*) has children (by keyed BSN hash only), involved partners, at most one
current coordinator and an append-only list of events: designation, hand-over, end, notices and
family-plan versions. The art. 8 register keeps the legally relevant record; these tables are the
working view partners' systems query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.sqltypes import BigIntPK, JSONColumn, UTCDateTime


def _tz(nullable: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable)


class CoordinationForm:
    """Vormen van coördinatie van hulp (§10.3)."""

    PARTNER = "partner"  # regie bij een (jeugd)hulpaanbieder, casusregie, gedwongen regie
    FAMILY = "family"  # eigen regie
    PROCESS_COORDINATOR = "process_coordinator"  # procescoördinatie, at most six months


class EventKind:
    DESIGNATED = "designated"
    HANDED_OVER = "handed_over"
    ENDED = "ended"
    NOTICE = "notice"
    PLAN_VERSION = "plan_version"


class Household(SQLModel, table=True):
    """Eén huishouden met zijn huidige coördinator van hulp (§10.2)."""

    __tablename__ = "coordination_household"

    id: str = Field(primary_key=True, max_length=36)
    created_at: dt.datetime = Field(sa_column=_tz())
    created_by: str = Field(max_length=20)
    #: None once coordination has ended.
    form: str | None = Field(default=None, max_length=30)
    coordinator: str | None = Field(default=None, max_length=20, index=True)
    coordinator_since: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    coordinator_until: dt.datetime | None = Field(default=None, sa_column=_tz(nullable=True))
    #: Bumped by every change of coordinator: a conditional UPDATE on it settles a race.
    revision: int = 1
    plan_version: int = 0


class HouseholdChild(SQLModel, table=True):
    """A child of the household: only the keyed BSN hash, and its position (1, 2, …)."""

    __tablename__ = "coordination_child"

    household_id: str = Field(primary_key=True, max_length=36)
    position: int = Field(primary_key=True)
    subject_hash: str = Field(max_length=64, index=True)


class Participant(SQLModel, table=True):
    """A partner involved in the household's help (betrokken partij, §10.2)."""

    __tablename__ = "coordination_participant"

    household_id: str = Field(primary_key=True, max_length=36)
    partner: str = Field(primary_key=True, max_length=20, index=True)
    added_at: dt.datetime = Field(sa_column=_tz())


class CoordinationEvent(SQLModel, table=True):
    """One event of the household's history (append-only)."""

    __tablename__ = "coordination_event"
    __table_args__ = (sa.Index("ix_coordination_event_household", "household_id", "seq"),)

    seq: int | None = Field(default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True))
    id: str = Field(max_length=36, unique=True)
    household_id: str = Field(max_length=36)
    kind: str = Field(max_length=30)
    occurred_at: dt.datetime = Field(sa_column=_tz())
    actor: str = Field(max_length=20)
    form: str | None = Field(default=None, max_length=30)
    coordinator: str | None = Field(default=None, max_length=20)
    recipient: str | None = Field(default=None, max_length=20)
    child_position: int | None = None
    notice_type: str | None = Field(default=None, max_length=30)
    plan_version: int | None = None
    message_id: str | None = Field(default=None, max_length=36)
    register_entry_id: str | None = Field(default=None, max_length=36)
    idempotency_key: str | None = Field(default=None, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONColumn, nullable=False))
