"""Routes for override follow-up (art. 7): review queue, vier-ogen approval, informing the subject."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from exchange import override_hold, overrides
from exchange.override_hold import ApprovalIn
from exchange.overrides import ReviewIn, StatusFilter, SubjectInformedIn
from gateway.contract import Cursor
from gateway.deps import OfficerDep, PartnerDep, PrincipalDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/overrides", tags=["overrides"])


@router.get("")
def list_overrides(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    status: StatusFilter = "pending_review",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The review queue, scoped like the register: own organisation's overrides; central sees all."""
    return overrides.list_overrides(session, runtime, viewer, status, cursor, limit)


@router.post("/{override_id}/approve")
def approve_override(
    override_id: str, body: ApprovalIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return override_hold.approve(session, runtime, caller, override_id, body)


@router.post("/{override_id}/subject-informed")
def subject_informed(
    override_id: str, body: SubjectInformedIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return overrides.subject_informed(session, runtime, caller, override_id, body)


@router.post("/{override_id}/review")
def review_override(
    override_id: str, body: ReviewIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return overrides.review(session, runtime, officer, override_id, body)
