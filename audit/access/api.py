"""Routes of the right of access (SPEC §6 `/v1/subject-access-requests*`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from audit.access import service
from audit.access.report import build_access_report, report_available
from audit.access.service import AccessRequestIn, DecisionIn, VerificationIn
from audit.access_report import render_html, report_to_json
from gateway.deps import CitizenDep, OfficerDep, PartnerDep, PrincipalDep, RuntimeDep, SessionDep
from gateway.principals import OfficerPrincipal, Principal
from gateway.problems import Conflict, Forbidden
from gateway.runtime import Runtime

router = APIRouter(prefix="/v1/subject-access-requests", tags=["subject access"])


@router.post("", status_code=202)
def lodge(
    body: AccessRequestIn, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Kennisnemingsverzoek (art. 10): 202 with `id`, `status` and `due_date` (received + 1 month)."""
    return service.lodge(session, runtime, principal, body)


@router.get("")
def list_requests(
    officer: OfficerDep, session: SessionDep, runtime: RuntimeDep, status: str | None = None
) -> dict[str, Any]:
    """Officers' worklist; `status=overdue` lists requests past their due date (art. 10.3)."""
    return service.list_for_officer(session, runtime, officer, status)


@router.get("/{request_id}")
def get_request(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return service.status_view(service.read(session, runtime, principal, request_id), runtime)


@router.post("/{request_id}/confirmation")
def confirm(request_id: str, citizen: CitizenDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The youth (12-16) or the representative joins the request (art. 16.2)."""
    return service.confirm(session, runtime, citizen, request_id)


@router.post("/{request_id}/verification")
def verify(
    request_id: str, body: VerificationIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return service.verify(session, runtime, partner, request_id, body)


@router.post("/{request_id}/decision")
def decide(
    request_id: str, body: DecisionIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return service.decide(session, runtime, officer, request_id, body)


def _report(session: Session, runtime: Runtime, principal: Principal, request_id: str) -> Any:
    request = service.read(session, runtime, principal, request_id)
    if not report_available(request) and not isinstance(principal, OfficerPrincipal):
        if request.status == "refused":
            raise Forbidden(f"The request was refused: {request.motivation}", slug="access-refused")
        raise Conflict(
            "The report is not released yet.",
            slug="report-not-released",
            extra={"status": request.status, "due_date": request.due_date.isoformat()},
        )
    return build_access_report(session, runtime, request)


@router.get("/{request_id}/report")
def report_json(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The structured, machine-readable report (art. 10.4, portability art. 15)."""
    return report_to_json(_report(session, runtime, principal, request_id))


@router.get("/{request_id}/report.html", response_class=HTMLResponse)
def report_html(
    request_id: str, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The Dutch report a parent can read and print."""
    html = render_html(_report(session, runtime, principal, request_id))
    return HTMLResponse(
        html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    )
