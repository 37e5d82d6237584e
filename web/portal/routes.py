"""Portal pages (`/mijn`): thin handlers over the access-request services the API uses.

No BSN ever appears in a URL: the citizen's own comes from the session, a child's is posted in
the form body. Request ids are random UUIDs, and `audit.access.views.read` answers 404 for a
request this person may not see, exactly as the API does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from audit.access import followups as followups_service
from audit.access import verification, views
from audit.access.followup_rules import KINDS
from audit.access.letters import COMPLAINT_TEXT, DecisionLetter
from audit.access.report import open_report
from audit.access_report import RESPONSE_PERIOD_TEXT, RIGHTS, AccessReport
from gateway.deps import RuntimeDep, SessionDep
from gateway.runtime import Runtime
from web.pages import check_form, page, redirect, require_citizen
from web.portal import rules, service
from web.portal.pdf import render_report_pdf
from web.sessions import PageSession

router = APIRouter(prefix="/mijn", include_in_schema=False)

NAVIGATION = (("/mijn", "Start"), ("/mijn/verzoeken", "Mijn verzoeken"))
RequestId = Annotated[str, Path(max_length=36)]


def _partner_name(runtime: Runtime, oin: str | None) -> str | None:
    if not oin:
        return None
    partner = runtime.partners.get(oin)
    return partner.name if partner else oin


def portal_page(
    request: Request,
    runtime: Runtime,
    session: PageSession,
    template: str,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return page(
        request,
        template,
        status=status,
        session=session,
        title=title,
        navigation=NAVIGATION,
        navigation_label="Mijn Meerpunt",
        status_words=rules.status_words,
        followup_words=rules.FOLLOW_UP_STATUS_WORDS,
        partner_name=lambda oin: _partner_name(runtime, oin),
        **context,
    )


@router.get("", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, _citizen = require_citizen(request, db, runtime)
    return portal_page(request, runtime, session, "mijn/home.html", title="Mijn Meerpunt", rights=RIGHTS)


def _form_page(
    request: Request,
    runtime: Runtime,
    session: PageSession,
    for_child: bool,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return portal_page(
        request,
        runtime,
        session,
        "mijn/request_form.html",
        title="Inzage aanvragen voor mijn kind" if for_child else "Inzage aanvragen voor mijzelf",
        status=status,
        for_child=for_child,
        age_rules=rules.AGE_RULES,
        response_period=RESPONSE_PERIOD_TEXT,
        errors=errors or [],
        form=form or {},
    )


@router.get("/aanvragen", response_class=HTMLResponse)
def request_form(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    voor: Annotated[str, Query(pattern="^(mij|kind)$")] = "mij",
) -> Response:
    session, _citizen = require_citizen(request, db, runtime)
    return _form_page(request, runtime, session, voor == "kind")


@router.post("/aanvragen", response_class=HTMLResponse)
def lodge(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    voor: Annotated[str, Form(pattern="^(mij|kind)$")] = "mij",
    bsn: Annotated[str, Form(max_length=20)] = "",
    relationship: Annotated[str, Form(max_length=30)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    contact: Annotated[str, Form(max_length=500)] = "",
    understood: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    check_form(request, session, csrf_token)
    for_child = voor == "kind"
    # Echoed back on an error; the child's BSN is not (it is typed again, never stored in a page).
    echo = {"relationship": relationship, "birth_date": birth_date, "contact": contact}
    if understood != "ja":
        return _form_page(
            request,
            runtime,
            session,
            for_child,
            errors=["Zet een vinkje om te laten weten dat u de regels hierboven hebt gelezen."],
            form=echo,
            status=422,
        )
    try:
        created = service.lodge(
            db,
            runtime,
            citizen,
            service.RequestForm(for_child, bsn, relationship, birth_date, contact),
        )
    except service.LodgingRefused as refused:
        return _form_page(
            request, runtime, session, for_child, errors=refused.messages, form=echo, status=refused.status
        )
    return redirect(f"/mijn/verzoeken/{created['id']}?nieuw=1")


@router.get("/verzoeken", response_class=HTMLResponse)
def my_requests(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    vervolg: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    person = runtime.bsn_hash(citizen.bsn)
    items = [
        views.status_view(r, runtime, citizen) | {"about_me": r.subject_hash == person}
        for r in service.my_requests(db, runtime, citizen)
    ]
    return portal_page(
        request,
        runtime,
        session,
        "mijn/requests.html",
        title="Mijn verzoeken",
        items=items,
        followups=followups_service.mine(db, runtime, citizen),
        kinds=KINDS,
        follow_up_sent=vervolg == "1",
    )


@router.get("/verzoeken/{request_id}", response_class=HTMLResponse)
def one_request(
    request: Request,
    request_id: RequestId,
    db: SessionDep,
    runtime: RuntimeDep,
    nieuw: Annotated[str | None, Query(max_length=1)] = None,
    bevestigd: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    found = views.read(db, runtime, citizen, request_id)
    person = runtime.bsn_hash(citizen.bsn)
    view = views.status_view(found, runtime, citizen) | {"about_me": found.subject_hash == person}
    letter: DecisionLetter | None = None
    if found.status in ("refused", "rejected"):
        opened = open_report(db, runtime, citizen, request_id, form="portal")
        letter = opened if isinstance(opened, DecisionLetter) else None
    return portal_page(
        request,
        runtime,
        session,
        "mijn/request.html",
        title="Uw verzoek om inzage",
        item=view,
        handler=rules.handled_by(found.status, _partner_name(runtime, found.lodged_with)),
        letter=letter,
        complaint=COMPLAINT_TEXT,
        just_lodged=nieuw == "1",
        just_confirmed=bevestigd == "1",
        # From 12 to 16 the youth joins a parent's request (art. 16.2): a button, not an API call.
        may_confirm=found.needs == "youth"
        and person == found.subject_hash
        and found.co_requester_hash is None,
    )


def _report(db: Any, runtime: Runtime, citizen: Any, request_id: str, form: str) -> AccessReport | None:
    opened = open_report(db, runtime, citizen, request_id, form=form)
    return opened if isinstance(opened, AccessReport) else None


@router.get("/verzoeken/{request_id}/overzicht", response_class=HTMLResponse)
def report_page(request: Request, request_id: RequestId, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    report = _report(db, runtime, citizen, request_id, "portal")
    if report is None:  # not released (yet), or refused: the request's page says why
        return redirect(f"/mijn/verzoeken/{request_id}")
    return portal_page(
        request,
        runtime,
        session,
        "mijn/report.html",
        title="Overzicht van verstrekte gegevens",
        report=report,
        response_period=RESPONSE_PERIOD_TEXT,
        kinds=KINDS,
    )


@router.get("/verzoeken/{request_id}/overzicht.pdf")
def report_pdf(request: Request, request_id: RequestId, db: SessionDep, runtime: RuntimeDep) -> Response:
    _session, citizen = require_citizen(request, db, runtime)
    report = _report(db, runtime, citizen, request_id, "pdf")
    if report is None:
        return redirect(f"/mijn/verzoeken/{request_id}")
    return Response(
        render_report_pdf(report),
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="meerpunt-overzicht.pdf"',
            "Cache-Control": "no-store",
        },
    )


# -- follow-up rights from the report (art. 11-14) ------------------------------------------------


def _follow_up_page(
    request: Request,
    runtime: Runtime,
    session: PageSession,
    report: AccessReport,
    kind: str,
    entry_id: str | None,
    *,
    about_child: bool,
    errors: list[str] | None = None,
    explanation: str = "",
    status: int = 200,
) -> HTMLResponse:
    disclosure = next((d for d in report.disclosures if d.entry_id == entry_id), None)
    return portal_page(
        request,
        runtime,
        session,
        "mijn/follow_up.html",
        title=f"{KINDS[kind].title_nl} vragen",
        report=report,
        kind=KINDS[kind],
        disclosure=disclosure,
        about_child=about_child,
        errors=errors or [],
        explanation=explanation,
        status=status,
    )


KindParam = Annotated[str, Query(alias="soort", pattern="^(correction|objection|restriction|erasure)$")]


@router.get("/verzoeken/{request_id}/vervolg", response_class=HTMLResponse)
def follow_up_form(
    request: Request,
    request_id: RequestId,
    db: SessionDep,
    runtime: RuntimeDep,
    kind: KindParam,
    entry_id: Annotated[str | None, Query(alias="vastlegging", max_length=64)] = None,
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    report = _report(db, runtime, citizen, request_id, "portal")
    if report is None:
        return redirect(f"/mijn/verzoeken/{request_id}")
    about_child = runtime.bsn_hash(citizen.bsn) != views.read(db, runtime, citizen, request_id).subject_hash
    return _follow_up_page(request, runtime, session, report, kind, entry_id, about_child=about_child)


@router.post("/verzoeken/{request_id}/vervolg", response_class=HTMLResponse)
def follow_up(
    request: Request,
    request_id: RequestId,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(pattern="^(correction|objection|restriction|erasure)$")] = "correction",
    entry_id: Annotated[str, Form(max_length=64)] = "",
    explanation: Annotated[str, Form(max_length=5000)] = "",
    bsn: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    check_form(request, session, csrf_token)
    found = views.read(db, runtime, citizen, request_id)
    body = followups_service.FollowUpIn(
        kind=kind,
        explanation=explanation,
        entry_id=entry_id or None,
    )
    try:
        service.lodge_follow_up(db, runtime, citizen, found, body, bsn)
    except service.LodgingRefused as refused:
        report = _report(db, runtime, citizen, request_id, "portal")
        if report is None:
            return redirect(f"/mijn/verzoeken/{request_id}")
        return _follow_up_page(
            request,
            runtime,
            session,
            report,
            kind,
            entry_id or None,
            about_child=runtime.bsn_hash(citizen.bsn) != found.subject_hash,
            errors=refused.messages,
            explanation=explanation,
            status=refused.status,
        )
    return redirect("/mijn/verzoeken?vervolg=1")


# -- the second party of a 12-16 request joins it (art. 16.2) ------------------------------------


@router.post("/verzoeken/{request_id}/bevestigen")
def confirm_as_youth(
    request: Request,
    request_id: RequestId,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session, citizen = require_citizen(request, db, runtime)
    check_form(request, session, csrf_token)
    verification.confirm(db, runtime, citizen, request_id)
    return redirect(f"/mijn/verzoeken/{request_id}?bevestigd=1")


@router.get("/bevestigen", response_class=HTMLResponse)
def confirm_form(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, _citizen = require_citizen(request, db, runtime)
    return portal_page(
        request, runtime, session, "mijn/confirm.html", title="Verzoek van uw kind bevestigen", held=False
    )


@router.post("/bevestigen", response_class=HTMLResponse)
def confirm_as_representative(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    kenmerk: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The parent or guardian joins their 12-16-year-old's own request with its kenmerk; without
    evidence of gezag they are held as a candidate until a professional verifies (art. 10.2)."""
    session, citizen = require_citizen(request, db, runtime)
    check_form(request, session, csrf_token)
    status, _view = verification.confirm(db, runtime, citizen, kenmerk.strip()[:36])
    if status == 200:
        return redirect(f"/mijn/verzoeken/{kenmerk.strip()[:36]}?bevestigd=1")
    return portal_page(
        request, runtime, session, "mijn/confirm.html", title="Verzoek van uw kind bevestigen", held=True
    )
