"""Server-side sessions of the people's pages: create, find (with idle and absolute timeouts), end.

The browser holds only a random token in a `__Host-` cookie (Secure, HttpOnly, SameSite=Lax, path
/): no claims, no BSN. The row holds the token's SHA-256, the person, a CSRF token and the times.
Ending a session (sign-out, timeout) is final: the row is marked ended, never revived.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

from gateway.principals import CitizenPrincipal, OfficerPrincipal, ProfessionalPrincipal
from gateway.runtime import Runtime
from web.models import WebSearch, WebSession

SESSION_COOKIE = "__Host-meerpunt_session"
#: Writing `last_seen_at` on every page view would make each view a write; a minute's precision
#: is plenty for a 15-minute idle timeout.
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class PageSession:
    """The signed-in person as the pages see them."""

    id_hash: str
    kind: str
    csrf_token: str
    officer: OfficerPrincipal | None
    citizen: CitizenPrincipal | None
    issuer: str
    expires_at: dt.datetime
    professional: ProfessionalPrincipal | None = None

    @property
    def display_name(self) -> str:
        if self.officer is not None:
            return self.officer.name or self.officer.subject
        if self.professional is not None:
            return self.professional.name or self.professional.subject
        return "Burger"

    def csrf_ok(self, submitted: str | None) -> bool:
        # Constant time: the token is a secret the attacker's page tries to guess.
        return submitted is not None and hmac.compare_digest(submitted.encode(), self.csrf_token.encode())


class BsnSeal:
    """AES-GCM with a key derived from the BSN hash key: the session row never holds a plain BSN."""

    def __init__(self, runtime: Runtime) -> None:
        self._aead = AESGCM(runtime.bsn_hash.derive_key("web-session-bsn"))

    def seal(self, bsn: str, session_hash: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, bsn.encode("ascii"), session_hash.encode("ascii"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, session_hash: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return self._aead.decrypt(raw[:12], raw[12:], session_hash.encode("ascii")).decode("ascii")


def start_session(
    db: Session,
    runtime: Runtime,
    person: OfficerPrincipal | CitizenPrincipal | ProfessionalPrincipal,
    *,
    issuer: str,
    acr: str | None = None,
) -> str:
    """Create a session for `person`; returns the cookie value (shown once, stored as a hash)."""
    now = runtime.clock()
    token = secrets.token_urlsafe(32)
    id_hash = token_hash(token)
    settings = runtime.settings
    row = WebSession(
        id_hash=id_hash,
        kind={OfficerPrincipal: "officer", ProfessionalPrincipal: "professional"}.get(
            type(person), "citizen"
        ),
        issuer=issuer,
        subject=person.subject[:200],
        acr=acr,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
    )
    if isinstance(person, OfficerPrincipal | ProfessionalPrincipal):
        row.org, row.name = person.org, (person.name or None)
    else:
        row.bsn_sealed = BsnSeal(runtime).seal(person.bsn, id_hash)
        row.bsn_hash = runtime.bsn_hash(person.bsn)
    db.add(row)
    db.flush()
    purge_ended(db, runtime)
    return token


def find_session(db: Session, runtime: Runtime, token: str | None) -> PageSession | None:
    """The live session behind a cookie value, or None (unknown, ended, idle or past its end)."""
    if not token or len(token) > 100:
        return None
    row = db.get(WebSession, token_hash(token))
    if row is None or row.ended_at is not None:
        return None
    now = runtime.clock()
    idle = dt.timedelta(minutes=runtime.settings.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        end_session(db, runtime, row.id_hash)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.execute(
            sa.update(WebSession)
            .where(WebSession.id_hash == row.id_hash)  # type: ignore[arg-type]
            .values(last_seen_at=now)
        )
    officer = citizen = professional = None
    if row.kind == "officer":
        officer = OfficerPrincipal(subject=row.subject, org=row.org or "", name=row.name)
    elif row.kind == "professional":
        professional = ProfessionalPrincipal(subject=row.subject, org=row.org or "", name=row.name)
    else:
        assert row.bsn_sealed is not None
        citizen = CitizenPrincipal(
            subject=row.subject, bsn=BsnSeal(runtime).open(row.bsn_sealed, row.id_hash)
        )
    return PageSession(
        id_hash=row.id_hash,
        kind=row.kind,
        csrf_token=row.csrf_token,
        officer=officer,
        citizen=citizen,
        professional=professional,
        issuer=row.issuer,
        expires_at=row.expires_at,
    )


def end_session(db: Session, runtime: Runtime, id_hash: str) -> None:
    db.execute(
        sa.update(WebSession)
        .where(WebSession.id_hash == id_hash, WebSession.ended_at.is_(None))  # type: ignore[arg-type,union-attr]
        .values(ended_at=runtime.clock())
    )


def purge_ended(db: Session, runtime: Runtime, *, keep: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete sessions that ended or expired more than `keep` ago, and searches older than any
    session can be: housekeeping done at each sign-in, so the tables stay small without a worker."""
    cutoff = runtime.clock() - keep
    search_cutoff = cutoff - dt.timedelta(hours=runtime.settings.session_absolute_hours)
    db.execute(sa.delete(WebSearch).where(WebSearch.created_at < search_cutoff))  # type: ignore[arg-type]
    result = db.execute(
        sa.delete(WebSession).where(
            sa.or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)  # type: ignore[arg-type,operator]
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
