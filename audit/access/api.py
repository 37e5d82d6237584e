"""Routes of the right of access (SPEC §6 `/v1/subject-access-requests*`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse

from audit.access import decision, metrics, service, verification, views
from audit.access.html import render_report_html
from audit.access.letters import (
    DecisionLetter,
    StatusPage,
    letter_to_json,
    render_letter_html,
    render_status_html,
)
from audit.access.report import open_report
from audit.access.schemas import AccessRequestIn, DecisionIn, VerificationIn
from audit.access_report import report_to_json
from gateway.contract import Cursor
from gateway.deps import CitizenDep, OfficerDep, PartnerDep, PrincipalDep, RuntimeDep, SessionDep
from gateway.principals import OfficerPrincipal
from gateway.problems import Conflict


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Requests by status and overdue are counted from the database at scrape time.
    with metrics.bound(app.state.runtime):
        yield


router = APIRouter(prefix="/v1/subject-access-requests", tags=["subject access"], lifespan=_lifespan)
_HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


@router.post("", status_code=202)
def lodge(
    body: AccessRequestIn, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Kennisnemingsverzoek (art. 10): 202 with `id`, `status` and `due_date` (received + 1 month)."""
    return service.lodge(session, runtime, principal, body)


@router.get("")
def list_requests(
    officer: OfficerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    status: str | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Officers' worklist; `status=overdue` lists requests past their due date (art. 10.3)."""
    return views.list_for_officer(session, runtime, officer, status, cursor=cursor, limit=limit)


@router.get("/{request_id}")
def get_request(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    request = views.read(session, runtime, principal, request_id)
    if isinstance(principal, OfficerPrincipal):
        return decision.officer_view(session, runtime, principal, request)
    return views.status_view(request, runtime, principal)


@router.post("/{request_id}/confirmation")
def confirm(request_id: str, citizen: CitizenDep, session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """The youth (12-16) or the representative joins the request (art. 16.2); 202 while a
    representative without evidence of gezag waits for a professional's verification."""
    status, view = verification.confirm(session, runtime, citizen, request_id)
    return JSONResponse(view, status_code=status)


@router.post("/{request_id}/verification")
def verify(
    request_id: str, body: VerificationIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return verification.verify(session, runtime, partner, request_id, body)


@router.post("/{request_id}/decision")
def decide(
    request_id: str, body: DecisionIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return decision.decide(session, runtime, officer, request_id, body)


@router.get("/{request_id}/report")
def report_json(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The structured, machine-readable report (art. 10.4, portability art. 15), or the written
    refusal (art. 10.7); 409 while the request is open."""
    found = open_report(session, runtime, principal, request_id, form="json")
    if isinstance(found, StatusPage):
        raise Conflict(
            "The report is not released yet.",
            slug="report-not-released",
            extra={"status": found.status, "due_date": found.due_date.isoformat()},
        )
    if isinstance(found, DecisionLetter):
        return letter_to_json(found)
    return report_to_json(found)


@router.get("/{request_id}/report.html", response_class=HTMLResponse)
def report_html(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The Dutch report a parent can read and print; the refusal letter; or (409) a Dutch page
    saying where the request stands."""
    found = open_report(session, runtime, principal, request_id, form="html")
    if isinstance(found, StatusPage):
        return HTMLResponse(render_status_html(found), status_code=409, headers=_HTML_HEADERS)
    html = render_letter_html(found) if isinstance(found, DecisionLetter) else render_report_html(found)
    return HTMLResponse(html, headers=_HTML_HEADERS)
