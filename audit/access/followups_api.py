"""Routes of the follow-up rights (additive, `/v1/rights-requests`): the officers' worklist and
the outcome. Citizens lodge them from the portal (`/mijn`); officers act with the existing
correction, restriction and erasure endpoints, then record the outcome here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from audit.access import followups
from gateway.deps import OfficerDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/rights-requests", tags=["rights"])


@router.get("")
def worklist(
    officer: OfficerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Correction, objection, restriction and erasure requests (art. 11-14), oldest first."""
    return followups.list_for_officer(session, runtime, officer, status, cursor=cursor, limit=limit)


@router.post("/{request_id}/outcome")
def outcome(
    request_id: str, body: followups.OutcomeIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """`handled` or `declined`, with a note the citizen's status reflects; 409 when already closed."""
    return followups.decide(session, runtime, officer, request_id, body)
