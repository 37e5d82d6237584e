"""Access requests (art. 10): the worklist with due dates, one request, the decision, a preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from audit.access import decision, views
from audit.access.html import render_report_html
from audit.access.letters import DecisionLetter, StatusPage, render_letter_html, render_status_html
from audit.access.report import open_report
from audit.access.schemas import DecisionIn
from gateway.deps import RuntimeDep, SessionDep
from gateway.problems import RuleBroken
from web.console import labels
from web.console.common import console_page
from web.pages import check_form, redirect, require_officer

router = APIRouter()
LISTS = {
    "open": "Open",
    "overdue": "Te laat",
    "released": "Vrijgegeven",
    "refused": "Geweigerd",
    "all": "Alle",
}
#: The report keeps its own self-contained style (art. 10.4: printable, works offline).
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
}


@router.get("/access-requests", response_class=HTMLResponse)
def worklist(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    show: Annotated[str, Query(alias="list", pattern="^(open|overdue|released|refused|all)$")] = "open",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    session, officer = require_officer(request, db, runtime)
    status = None if show == "all" else show
    listing = views.list_for_officer(db, runtime, officer, status, cursor=cursor, limit=100)
    return console_page(
        request,
        runtime,
        session,
        "console/access_requests.html",
        title="Inzageverzoeken",
        items=listing["items"],
        next_cursor=listing["next_cursor"],
        show=show,
        lists=LISTS,
    )


def _detail(request: Request, db: Any, runtime: Any, request_id: str, **extra: Any) -> Response:
    session, officer = require_officer(request, db, runtime)
    found = views.read(db, runtime, officer, request_id)
    view = decision.officer_view(db, runtime, officer, found)
    return console_page(
        request,
        runtime,
        session,
        "console/access_request.html",
        title="Inzageverzoek",
        item=view,
        grounds=labels.GROUNDS_10_6,
        **({"errors": [], "form": {}} | extra),
    )


@router.get("/access-requests/{request_id}", response_class=HTMLResponse)
def detail(request: Request, request_id: str, db: SessionDep, runtime: RuntimeDep) -> Response:
    return _detail(request, db, runtime, request_id[:36])


@router.post("/access-requests/{request_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    request_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    choice: Annotated[str, Form(alias="decision", max_length=10)] = "",
    ground: Annotated[str, Form(max_length=20)] = "",
    motivation: Annotated[str, Form(max_length=10000)] = "",
    withheld: Annotated[list[str] | None, Form(max_length=1000)] = None,
) -> Response:
    session, officer = require_officer(request, db, runtime)
    check_form(request, session, csrf_token)
    form = {"decision": choice, "ground": ground, "motivation": motivation, "withheld": withheld or []}
    if choice not in ("release", "refuse"):
        return _detail(
            request, db, runtime, request_id[:36], errors=["Kies: vrijgeven of weigeren."], form=form
        )
    body = DecisionIn(
        decision=choice,
        ground=ground or None,
        motivation=motivation.strip() or None,
        withheld_entries=[w[:36] for w in (withheld or [])],
    )
    try:
        decision.decide(db, runtime, officer, request_id[:36], body)
    except RuleBroken as refused:
        errors = [f"{v.message} (art. {v.article})" for v in refused.violations]
        return _detail(request, db, runtime, request_id[:36], errors=errors, form=form)
    return redirect(f"/console/access-requests/{request_id[:36]}")


@router.get("/access-requests/{request_id}/preview", response_class=HTMLResponse)
def preview(request: Request, request_id: str, db: SessionDep, runtime: RuntimeDep) -> Response:
    """The report as the citizen would get it if released now, or the letter of a refusal: the
    API's `open_report`, so who may read it (art. 10.4, 18.3) and its registration are the API's."""
    _session, officer = require_officer(request, db, runtime)
    found = open_report(db, runtime, officer, request_id[:36], form="console_preview")
    if isinstance(found, StatusPage):
        return HTMLResponse(render_status_html(found), status_code=409, headers=REPORT_HEADERS)
    html = render_letter_html(found) if isinstance(found, DecisionLetter) else render_report_html(found)
    return HTMLResponse(html, headers=REPORT_HEADERS)
