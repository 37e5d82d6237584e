"""Tables of the people's pages: sign-ins under way and server-side sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.sqltypes import JSONColumn, UTCDateTime


class WebSignIn(SQLModel, table=True):
    """An authorization request sent to the provider and not yet answered (at most minutes old).

    Looked up by a hash of `state`; bound to the browser that started it by a hash of a cookie
    value, so a callback URL planted in another browser signs nobody in (login CSRF).
    """

    __tablename__ = "web_sign_in"

    state_hash: str = Field(primary_key=True, max_length=64)
    browser_hash: str = Field(max_length=64)
    issuer: str = Field(max_length=500)
    user_group: str = Field(max_length=13)  # officers | citizens | professionals
    code_verifier: str = Field(max_length=128)
    nonce: str = Field(max_length=64)
    return_to: str = Field(max_length=500)
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class WebSearch(SQLModel, table=True):
    """A register search an officer submitted: the filter lives here, the URL carries only the id.

    The subject is kept as its keyed hash (SPEC §8): a BSN never reaches a URL, a browser history
    or an access log. A search belongs to the session that made it.
    """

    __tablename__ = "web_search"

    id: str = Field(primary_key=True, max_length=43)
    session_hash: str = Field(max_length=64, index=True)
    filters: dict[str, Any] = Field(sa_column=sa.Column(JSONColumn, nullable=False))
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class WebSession(SQLModel, table=True):
    """A signed-in person's session. The cookie holds a random token; only its hash is stored, so
    a copy of this table hands out no live session. The citizen's BSN is kept sealed (AES-GCM),
    with a keyed hash for look-ups, never in plain text (SPEC §8)."""

    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=12)  # officer | citizen | professional
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=200)
    org: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    bsn_sealed: str | None = Field(default=None, max_length=200)
    bsn_hash: str | None = Field(default=None, max_length=64, index=True)
    acr: str | None = Field(default=None, max_length=200)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_seen_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    ended_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
