"""Override review (art. 7.7): the queue, one override with its justification, the verdict form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from exchange import overrides
from exchange.overrides import ReviewIn
from gateway.deps import RuntimeDep, SessionDep
from gateway.problems import RuleBroken
from web.console import labels
from web.console.common import console_page
from web.pages import check_form, redirect, require_officer

router = APIRouter()
QUEUES = ("pending_review", "overdue", "awaiting_approval", "reviewed", "expired", "all")
QueueParam = Annotated[str, Query(pattern="^(" + "|".join(QUEUES) + ")$")]


@router.get("/overrides", response_class=HTMLResponse)
def queue(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    status: QueueParam = "pending_review",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    session, officer = require_officer(request, db, runtime)
    listing = overrides.list_overrides(db, runtime, officer, status, cursor, 50)  # type: ignore[arg-type]
    return console_page(
        request,
        runtime,
        session,
        "console/overrides.html",
        title="Verstrekkingen zonder toestemming",
        items=listing["items"],
        next_cursor=listing["next_cursor"],
        queue=status,
        queues=QUEUES,
    )


def _detail(request: Request, db: Any, runtime: Any, override_id: str, **extra: Any) -> Response:
    session, officer = require_officer(request, db, runtime)
    item = overrides.override_detail(db, runtime, officer, override_id)
    return console_page(
        request,
        runtime,
        session,
        "console/override.html",
        title="Verstrekking zonder toestemming",
        item=item,
        **extra,
    )


@router.get("/overrides/{override_id}", response_class=HTMLResponse)
def detail(request: Request, override_id: str, db: SessionDep, runtime: RuntimeDep) -> Response:
    return _detail(request, db, runtime, override_id[:36], errors=[], note="")


@router.post("/overrides/{override_id}/review", response_class=HTMLResponse)
def review(
    request: Request,
    override_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    verdict: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    session, officer = require_officer(request, db, runtime)
    check_form(request, session, csrf_token)
    if verdict not in labels.VERDICTS:
        return _detail(
            request, db, runtime, override_id[:36], errors=["Kies of de verstrekking terecht was."], note=note
        )
    try:
        overrides.review(db, runtime, officer, override_id[:36], ReviewIn(verdict=verdict, note=note))
    except RuleBroken as refused:
        return _detail(
            request, db, runtime, override_id[:36], errors=[v.message for v in refused.violations], note=note
        )
    return redirect(f"/console/overrides/{override_id[:36]}?reviewed=1")
