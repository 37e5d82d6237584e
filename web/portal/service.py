"""The portal's use cases over the access-request services the API uses (art. 10, 16).

Lodging goes through `audit.access.service.lodge` (same rules, same register entry), reading
through `audit.access.views.read` and `audit.access.report.open_report` (same scoping, every read
of a report registered). What is the portal's own: the list of a citizen's requests, the rate
limit per person, and the Dutch wording of a refusal to lodge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from audit.access import followups
from audit.access import service as access_service
from audit.access.models import SubjectAccessRequest
from audit.access.rules import Relationship
from audit.access.schemas import AccessRequestIn
from gateway.principals import CitizenPrincipal
from gateway.problems import Problem
from gateway.runtime import Runtime
from web.portal import rules

__all__ = ["LodgingRefused", "RequestForm", "lodge", "lodge_follow_up", "my_requests"]


class LodgingRefused(Exception):
    """The form cannot be lodged; `messages` say why in Dutch, next to the fields."""

    def __init__(self, messages: Sequence[str], status: int = 422) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)
        self.status = status


@dataclass(frozen=True)
class RequestForm:
    """What the citizen filled in; their own BSN comes from the session, never from the form."""

    for_child: bool
    child_bsn: str
    relationship: str
    birth_date: str
    contact: str


def _mine(runtime: Runtime, citizen: CitizenPrincipal) -> Any:
    person = runtime.bsn_hash(citizen.bsn)
    return sa.or_(
        col(SubjectAccessRequest.requester_hash) == person,
        col(SubjectAccessRequest.co_requester_hash) == person,
        # A parent's request for a 12-16-year-old waits for the youth, who may join it (art. 16.2).
        sa.and_(col(SubjectAccessRequest.subject_hash) == person, col(SubjectAccessRequest.needs) == "youth"),
    )


def my_requests(session: Session, runtime: Runtime, citizen: CitizenPrincipal) -> list[SubjectAccessRequest]:
    """The citizen's own requests and those for their children, newest first.

    A request for a child is only ever lodged by its representative, so the child's request is
    in this list exactly when this person asked; it opens fully (the report) only once a
    professional verified gezag, which `open_report` decides, not this list.
    """
    query = (
        select(SubjectAccessRequest)
        .where(_mine(runtime, citizen))
        .order_by(col(SubjectAccessRequest.received_at).desc(), col(SubjectAccessRequest.id))
        .limit(200)
    )
    return list(session.exec(query).all())


def _lodged_recently(session: Session, runtime: Runtime, citizen: CitizenPrincipal, now: dt.datetime) -> int:
    person = runtime.bsn_hash(citizen.bsn)
    since = rules.window_start(now)
    query = select(func.count()).where(
        col(SubjectAccessRequest.requester_hash) == person, col(SubjectAccessRequest.received_at) >= since
    )
    return int(session.exec(query).one()) + followups.recent_count(session, person, since)


def _parse_birth_date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise LodgingRefused(["Vul de geboortedatum in als dag, maand en jaar."]) from exc


_ARTICLE_NL = {
    "16.1": "Een kind jonger dan 12 jaar kan dit niet zelf aanvragen. De ouder met gezag of de voogd "
    "vraagt het aan (artikel 16 lid 1).",
    "16.2": "Vanaf 16 jaar vraagt de jongere het overzicht zelf aan. Een ouder of voogd kan dat dan niet "
    "meer namens de jongere doen (artikel 16 lid 2).",
}


def _dutch(problem: Problem) -> list[str]:
    messages = []
    for violation in problem.violations:
        if violation.code == "invalid_bsn":
            messages.append("Dit burgerservicenummer klopt niet. Kijk het nog eens na (9 cijfers).")
        elif violation.code == "relationship_invalid":
            messages.append("Vul het burgerservicenummer van uw kind in, niet uw eigen nummer.")
        elif violation.article in _ARTICLE_NL:
            messages.append(_ARTICLE_NL[violation.article])
    if not messages:
        messages.append("Dit verzoek kunnen wij zo niet aannemen.")
    return messages


def _rate_limited(session: Session, runtime: Runtime, citizen: CitizenPrincipal) -> None:
    if not rules.lodging_allowed(_lodged_recently(session, runtime, citizen, runtime.clock())):
        raise LodgingRefused(
            [
                "U heeft vandaag al veel verzoeken gedaan. Probeer het morgen opnieuw, of neem contact op "
                "met een Meerpuntpartner."
            ],
            status=429,
        )


def lodge(session: Session, runtime: Runtime, citizen: CitizenPrincipal, form: RequestForm) -> dict[str, Any]:
    """Lodge through the API's service; refuse past the rate limit, in Dutch."""
    _rate_limited(session, runtime, citizen)
    child_bsn = "".join(form.child_bsn.split())
    if form.for_child:
        if not child_bsn:
            raise LodgingRefused(["Vul het burgerservicenummer van uw kind in."])
        if form.relationship not in (Relationship.PARENT_WITH_AUTHORITY, Relationship.GUARDIAN):
            raise LodgingRefused(["Kies of u ouder met gezag of voogd bent."])
    body = AccessRequestIn(
        subject_bsn=child_bsn if form.for_child else citizen.bsn,
        relationship=Relationship(form.relationship) if form.for_child else Relationship.SELF,
        contact=form.contact.strip()[:500] or None,
        subject_birth_date=_parse_birth_date(form.birth_date),
    )
    try:
        return access_service.lodge(session, runtime, citizen, body)
    except Problem as problem:
        if problem.status == 403 and problem.slug == "not-your-data":
            raise LodgingRefused(["U kunt alleen voor uzelf of voor uw eigen kind vragen."], 403) from None
        raise LodgingRefused(_dutch(problem)) from None


_FOLLOW_UP_NL = {
    "explanation_missing": "Schrijf in een paar zinnen wat u vraagt en waarom.",
    "disclosure_unknown": "Kies de verstrekking die u wilt laten verbeteren vanuit uw overzicht.",
}


def lodge_follow_up(
    session: Session,
    runtime: Runtime,
    citizen: CitizenPrincipal,
    access_request: SubjectAccessRequest,
    body: followups.FollowUpIn,
    child_bsn: str,
) -> None:
    """A follow-up right from the report (art. 11-14), through `audit.access.followups`.

    For one's own report the BSN is the session's; for a child's, the parent types the child's
    BSN again (the gateway keeps only its keyed hash), which must match the report's subject.
    """
    _rate_limited(session, runtime, citizen)
    if runtime.bsn_hash(citizen.bsn) == access_request.subject_hash:
        subject_bsn = citizen.bsn
    else:
        subject_bsn = "".join(child_bsn.split())
        if runtime.bsn_hash(subject_bsn) != access_request.subject_hash:
            raise LodgingRefused(["Dit is niet het burgerservicenummer van het kind uit dit overzicht."])
    try:
        followups.lodge(session, runtime, citizen, access_request.id, subject_bsn, body)
    except Problem as problem:
        messages = [_FOLLOW_UP_NL[v.code] for v in problem.violations if v.code in _FOLLOW_UP_NL]
        raise LodgingRefused(messages or ["Dit verzoek kunnen wij zo niet aannemen."]) from None
