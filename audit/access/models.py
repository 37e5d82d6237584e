"""The table of subject-access requests (kennisnemingsverzoeken, art. 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from audit.access.rules import Status as AccessRequestStatus
from gateway.sqltypes import JSONColumn, UTCDateTime

__all__ = ["AccessRequestStatus", "RightsRequest", "SubjectAccessRequest"]


class SubjectAccessRequest(SQLModel, table=True):
    __tablename__ = "subject_access_request"

    id: str = Field(primary_key=True, max_length=36)
    subject_hash: str = Field(max_length=64, index=True)
    subject_label: str = Field(max_length=20)
    subject_birth_date: dt.date | None = None
    #: Where the birth date art. 16 was applied with came from: record | verified | desk.
    birth_date_source: str | None = Field(default=None, max_length=20)
    relationship: str = Field(max_length=30)
    channel: str = Field(max_length=20)  # citizen | partner_desk
    requester_hash: str | None = Field(default=None, max_length=64, index=True)
    requester_subject: str | None = Field(default=None, max_length=200)
    #: Written requests (partner desk): who asked, as the verifying professional recorded it.
    requester_name: str | None = Field(default=None, max_length=200)
    co_requester_hash: str | None = Field(default=None, max_length=64, index=True)
    co_requester_name: str | None = Field(default=None, max_length=200)
    co_requester_relationship: str | None = Field(default=None, max_length=30)
    co_requester_evidence: str | None = Field(default=None, max_length=40)
    #: Keyed hashes of people who confirmed as representative without evidence of gezag: none of
    #: them joins the request until a professional's verification names them (art. 10.2, 16.2).
    co_requester_candidates: list[str] | None = Field(
        default=None, sa_column=sa.Column(JSONColumn, nullable=True)
    )
    needs: str | None = Field(default=None, max_length=30)  # youth | representative | verification
    representation_evidence: str | None = Field(default=None, max_length=40)
    lodged_with: str | None = Field(default=None, max_length=20, index=True)
    verified_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONColumn, nullable=True))
    #: Every verification by a professional: partner, professional, whom and what was verified.
    verifications: list[dict[str, Any]] | None = Field(
        default=None, sa_column=sa.Column(JSONColumn, nullable=True)
    )
    contact: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status: str = Field(max_length=30, index=True)
    received_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    due_date: dt.date
    decision: str | None = Field(default=None, max_length=10)
    ground: str | None = Field(default=None, max_length=20)
    motivation: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    withheld_entries: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONColumn, nullable=False))
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    #: Why art. 16 does not allow the request (status `rejected`): {code, article, message}.
    rejection: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONColumn, nullable=True))


class RightsRequest(SQLModel, table=True):
    """A follow-up right a citizen asked for after reading the report: correctie (art. 11) of one
    disclosure, bezwaar (art. 13), beperking (art. 14) or verwijdering (art. 12).

    Officers act on it with the existing endpoints (the sender's correction, the subject's
    restriction or erasure) and record the outcome here; the citizen follows its status.
    """

    __tablename__ = "rights_request"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=20)  # correction | objection | restriction | erasure
    access_request_id: str = Field(max_length=36, index=True)
    subject_hash: str = Field(max_length=64, index=True)
    subject_label: str = Field(max_length=20)
    #: The subject's BSN, AES-GCM sealed (bound to this row's id): the officer needs it for the
    #: existing `/v1/subjects/{bsn}/…` endpoints; the table never holds it in plain text.
    subject_bsn_sealed: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    requester_hash: str = Field(max_length=64, index=True)
    #: The register entry and disclosure the correction is about, and the partner that sent it.
    entry_id: str | None = Field(default=None, max_length=64)
    disclosure_id: str | None = Field(default=None, max_length=64)
    sender: str | None = Field(default=None, max_length=20, index=True)
    explanation: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(max_length=20, index=True)  # received | handled | declined
    received_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    due_date: dt.date
    handled_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    handled_by: str | None = Field(default=None, max_length=200)
    outcome_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
