"""Console pages (`/console`): thin handlers over the services the API uses."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.deps import RuntimeDep, SessionDep
from web.pages import page, require_officer

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, _officer = require_officer(request, db, runtime)
    return page(request, "console/home.html", title="Overzicht", session=session)
