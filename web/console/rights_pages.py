"""Citizens' follow-up requests (art. 11 correction, art. 12 erasure, art. 14 objection and
restriction) in the officers' console: the worklist and the outcome form. Officers act on a
request with the existing endpoints (corrections, restriction, erasure) and record the outcome
here; the citizen sees it on "Mijn verzoeken"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from audit.access import followups
from gateway.deps import RuntimeDep, SessionDep
from web.console.common import console_page
from web.pages import check_form, redirect, require_officer

router = APIRouter()
LISTS = {"received": "Open", "handled": "Afgehandeld", "declined": "Afgewezen", "all": "Alle"}
KINDS = {
    "correction": "Correctie (art. 11)",
    "objection": "Bezwaar (art. 14)",
    "restriction": "Beperking (art. 14)",
    "erasure": "Wissen (art. 12)",
}


@router.get("/rights-requests", response_class=HTMLResponse)
def worklist(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    show: Annotated[str, Query(alias="list", pattern="^(received|handled|declined|all)$")] = "received",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    errors_for: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    session, officer = require_officer(request, db, runtime)
    listing = followups.list_for_officer(
        db, runtime, officer, None if show == "all" else show, cursor=cursor, limit=100
    )
    return console_page(
        request,
        runtime,
        session,
        "console/rights_requests.html",
        title="Verzoeken van burgers",
        items=listing["items"],
        next_cursor=listing["next_cursor"],
        show=show,
        lists=LISTS,
        kinds=KINDS,
        errors_for=errors_for,
    )


@router.post("/rights-requests/{request_id}/outcome", response_class=HTMLResponse)
def outcome(
    request: Request,
    request_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    status: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    session, officer = require_officer(request, db, runtime)
    check_form(request, session, csrf_token)
    if status not in ("handled", "declined") or not note.strip():
        return redirect(f"/console/rights-requests?errors_for={request_id[:36]}")
    followups.decide(
        db,
        runtime,
        officer,
        request_id[:36],
        followups.OutcomeIn(status=status, note=note.strip()),
    )
    return redirect("/console/rights-requests")
