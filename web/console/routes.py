"""Console pages (`/console`): thin handlers over the services the API uses (SPEC §9).

The overview: figures as server-rendered SVG charts with a table each, and the register's
integrity (latest checkpoint, last full verification, a button to verify now).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from audit import evidence, overview
from audit.access.stats import access_figures
from audit.service import record_read
from audit.statistics import LEGAL_BASES, disclosures_per_week
from consent.rules import LOCAL_TZ
from exchange.override_stats import override_figures
from gateway.deps import RuntimeDep, SessionDep
from gateway.problems import Problem
from gateway.runtime import Runtime
from web.console import access_pages, labels, override_pages, register_pages, rights_pages
from web.console.charts import stacked_bars
from web.console.common import console_page
from web.pages import check_form, require_officer
from web.templating import date_nl

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(register_pages.router)
router.include_router(override_pages.router)
router.include_router(access_pages.router)
router.include_router(rights_pages.router)


@router.get("", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
    return _overview(request, db, runtime, verification_result=None)


def _overview(
    request: Request, db: Session, runtime: Runtime, verification_result: dict[str, Any] | None
) -> Response:
    session, officer = require_officer(request, db, runtime)
    now = runtime.clock()
    weeks = disclosures_per_week(db, officer, now)
    per_week = stacked_bars(
        "Verstrekkingen per week",
        "Aantal verstrekte gegevens per week, verdeeld naar grondslag, de laatste twaalf weken.",
        [f"{w.week_start.day}/{w.week_start.month}" for w in weeks],
        [labels.LEGAL_BASIS[b] for b in LEGAL_BASES],
        [[w.counts[b] for b in LEGAL_BASES] for w in weeks],
    )
    figures = override_figures(db, officer)
    pairs = sorted(figures.by_partner_and_ground.items(), key=lambda item: (-item[1], item[0]))
    grounds = list(labels.OVERRIDE_GROUNDS)
    partners = sorted({partner for partner, _ in figures.by_partner_and_ground})
    overrides_chart = stacked_bars(
        "Verstrekkingen zonder toestemming per partner",
        "Aantal verstrekkingen zonder toestemming (art. 7) per partner, verdeeld naar grond.",
        [labels.org_name(runtime, p) for p in partners],
        [labels.OVERRIDE_GROUNDS[g] for g in grounds],
        [[figures.by_partner_and_ground.get((p, g), 0) for g in grounds] for p in partners],
    )
    access = access_figures(db, officer, now.astimezone(LOCAL_TZ).date())
    state = overview.integrity(db, runtime, officer)
    # The overview shows figures from the register and the override queue: a registered read.
    record_read(
        db,
        officer,
        at=now,
        action="overview",
        returned=sum(w.total for w in weeks) + figures.total,
        details={"weeks": len(weeks)},
    )
    checkpoint = state["checkpoint"]
    return console_page(
        request,
        runtime,
        session,
        "console/overview.html",
        title="Overzicht",
        weeks=weeks,
        per_week=per_week,
        overrides_chart=overrides_chart,
        override_pairs=pairs,
        figures=figures,
        access=access,
        checkpoint=checkpoint,
        checkpoint_age=overview.age_text_nl(checkpoint["age_seconds"]) if checkpoint else None,
        verification=state["verification"],
        verification_result=verification_result,
        legal_bases=LEGAL_BASES,
        first_week=date_nl(weeks[0].week_start) if weeks else "",
    )


@router.post("/verify", response_class=HTMLResponse)
def verify_now(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """Verify the whole register now (art. 8: the register is intact) and show the outcome."""
    session, officer = require_officer(request, db, runtime)
    check_form(request, session, csrf_token)
    try:
        result = evidence.verification(db, runtime, officer, trusted_checkpoints=[])
    except Problem as busy:
        if busy.status != 409:
            raise
        result = {"ok": None, "busy": True}
    return _overview(request, db, runtime, verification_result=result)
