"""Tables of the consent registry: statements, their yes/no grants, withdrawals and restrictions.

Subjects are stored only as the keyed BSN hash (SPEC §8). The decision reads every row of one
subject with a single indexed query (`repository.decision_facts`), so `subject_hash` is indexed on
each table the decision reads; withdrawals carry a copy of their consent's `subject_hash` for that
reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.sqltypes import JSONColumn, UTCDateTime


class Consent(SQLModel, table=True):
    """Toestemmingsverklaring (art. 6 lid 4, Bijlage VIII): one signed or noted statement."""

    __tablename__ = "consent"
    __table_args__ = (sa.Index("ix_consent_subject_hash", "subject_hash"),)

    id: str = Field(primary_key=True, max_length=36)
    subject_hash: str = Field(max_length=64)
    subject_birth_date: dt.date
    obtained_by: str = Field(max_length=20)
    obtained_on_behalf_of: str | None = Field(default=None, max_length=20)
    form: str = Field(max_length=10)
    evidence_sha256: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    explicit: bool
    given_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    valid_until: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    signatories: list[dict[str, Any]] = Field(sa_column=sa.Column(JSONColumn, nullable=False))
    other_parent_statement: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    subject_incapable: bool = False
    legal_representation: bool = False
    #: One parent alone has authority (art. 6 lid 7); added by consent_0002.
    sole_authority: bool = False
    #: SHA-256 of the written authorisation of an authorised representative (art. 6 lid 8).
    authorisation_evidence_sha256: str | None = Field(default=None, max_length=64)
    professional: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONColumn))
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    #: The subject's BSN sealed under the key-encryption key (`consent.sealing`), so that
    #: `GET /v1/consents/{id}` can name the patient (FHIR) without a plain BSN in the database.
    #: Null for consents registered before consent_0004.
    subject_bsn_sealed: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))


class ConsentGrant(SQLModel, table=True):
    """One line of the form: this recipient, these categories, this purpose, ja/nee (Bijlage VIII)."""

    __tablename__ = "consent_grant"
    __table_args__ = (
        sa.Index("ix_consent_grant_consent_id", "consent_id"),
        sa.Index("ix_consent_grant_recipient", "recipient"),
    )

    id: str = Field(primary_key=True, max_length=36)
    consent_id: str = Field(foreign_key="consent.id", max_length=36)
    #: Line number on the form, so a statement reads back in the order it was signed.
    position: int
    recipient: str = Field(max_length=20)
    categories: list[str] = Field(sa_column=sa.Column(JSONColumn, nullable=False))
    purpose: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    granted: bool


class ConsentWithdrawal(SQLModel, table=True):
    """Intrekking (Bijlage VIII): received in writing, effective from `received_at`, never an edit.

    `grant_ids` NULL withdraws the whole statement; otherwise only the listed grants.
    """

    __tablename__ = "consent_withdrawal"
    __table_args__ = (
        sa.Index("ix_consent_withdrawal_consent_id", "consent_id"),
        sa.Index("ix_consent_withdrawal_subject_hash", "subject_hash"),
    )

    id: str = Field(primary_key=True, max_length=36)
    consent_id: str = Field(foreign_key="consent.id", max_length=36)
    subject_hash: str = Field(max_length=64)
    received_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    grant_ids: list[str] | None = Field(default=None, sa_column=sa.Column(JSONColumn))
    evidence_sha256: str = Field(max_length=64)
    registered_by: str = Field(max_length=20)
    professional: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONColumn))
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class SubjectRestriction(SQLModel, table=True):
    """Beperking van de verwerking (art. 14): no consent-based disclosure while active."""

    __tablename__ = "subject_restriction"
    __table_args__ = (sa.Index("ix_subject_restriction_subject_hash", "subject_hash"),)

    id: str = Field(primary_key=True, max_length=36)
    subject_hash: str = Field(max_length=64)
    starts_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    ends_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ground: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    set_by: str = Field(max_length=200)
    #: The officer's organisation (OIN); None for the central Meerpunt officer (art. 14, 18.3).
    set_by_org: str | None = Field(default=None, max_length=200)
    lifted_by: str | None = Field(default=None, max_length=200)


#: The tables this context owns (its Alembic branch creates exactly these).
CONSENT_TABLES = frozenset({"consent", "consent_grant", "consent_withdrawal", "subject_restriction"})
