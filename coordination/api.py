"""Routes of the coordination register (1Huishouden-1Plan-1Regisseur): thin handlers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from coordination import messages, service
from coordination.schemas import (
    Checklist,
    EndIn,
    HandoverIn,
    HouseholdIn,
    HouseholdList,
    HouseholdOut,
    NoticeAccepted,
    NoticeIn,
    NoticeOverview,
    PlanVersionIn,
    PlanVersionList,
    PlanVersionOut,
)
from gateway.deps import PartnerDep, RuntimeDep, SessionDep
from gateway.errors import problem_response

router = APIRouter(prefix="/v1/coordination", tags=["coordination"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid client certificate", **_PROBLEM},
    403: {"description": "Unknown partner, or not the coordinator", **_PROBLEM},
    404: {"description": "No such household in which you are involved", **_PROBLEM},
    422: {"description": "A coordination rule is broken (violations name the paragraph)", **_PROBLEM},
}
_SEND: dict[int | str, dict[str, Any]] = {
    **_COMMON,
    400: {"description": "Idempotency-Key missing", **_PROBLEM},
    403: {"description": "consent_denied: no consent grant to the recipient (art. 6.1)", **_PROBLEM},
    409: {"description": "Idempotency-Key reused for another body, or a concurrent change", **_PROBLEM},
}


@router.post("/households", status_code=201, response_model=HouseholdOut, responses=_COMMON)
def designate(
    body: HouseholdIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> HouseholdOut:
    """Vaststellen coördinator van hulp (Spoorboekje 10.2-10.3): household, coordinator, partners."""
    return service.designate(session, runtime, caller, body)


@router.get("/households", response_model=HouseholdList, responses=_COMMON)
def list_households(
    caller: PartnerDep, session: SessionDep, runtime: RuntimeDep, subject_bsn: str | None = None
) -> HouseholdList:
    """Households in which the caller is involved (optionally those of one child)."""
    return service.list_households(session, runtime, caller, subject_bsn)


@router.get("/households/{household_id}", response_model=HouseholdOut, responses=_COMMON)
def household(
    household_id: str, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> HouseholdOut:
    """The household with the history the consent lets the caller see (art. 6.1)."""
    return service.view(session, runtime, caller, household_id)


@router.post(
    "/households/{household_id}/handover",
    response_model=HouseholdOut,
    responses={**_COMMON, 409: {"description": "Changed meanwhile", **_PROBLEM}},
)
def hand_over(
    household_id: str, body: HandoverIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> HouseholdOut:
    return service.hand_over(session, runtime, caller, household_id, body)


@router.post(
    "/households/{household_id}/end",
    response_model=HouseholdOut,
    responses={**_COMMON, 409: {"description": "Already ended", **_PROBLEM}},
)
def end(
    household_id: str, body: EndIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> HouseholdOut:
    return service.end(session, runtime, caller, household_id, body)


@router.post(
    "/households/{household_id}/notices", status_code=202, response_model=NoticeAccepted, responses=_SEND
)
def send_notice(
    request: Request,
    household_id: str,
    body: NoticeIn,
    caller: PartnerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Melding aan de coördinator (Spoorboekje 10.2): 202, 403 `consent_denied` or 422 `no_coordinator`."""
    accepted, problem = messages.send_notice(session, runtime, caller, household_id, body, idempotency_key)
    if problem is not None:
        # Returned, not raised: the refused attempt's register entry must still commit.
        return problem_response(problem, request)
    assert accepted is not None
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get("/households/{household_id}/notices", response_model=NoticeOverview, responses=_COMMON)
def notices(
    household_id: str, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> NoticeOverview:
    """For the coordinator: notices received and which partners have not reported start or end."""
    return messages.notice_overview(session, runtime, caller, household_id)


@router.post(
    "/households/{household_id}/plan-versions",
    status_code=202,
    response_model=PlanVersionOut,
    responses=_SEND,
)
def send_plan_version(
    household_id: str,
    body: PlanVersionIn,
    caller: PartnerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> PlanVersionOut:
    """A new gezinsplan version, a `family_plan` disclosure to every involved partner the consent covers."""
    return messages.send_plan_version(session, runtime, caller, household_id, body, idempotency_key)


@router.get("/households/{household_id}/plan-versions", response_model=PlanVersionList, responses=_COMMON)
def plan_versions(
    household_id: str, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> PlanVersionList:
    return messages.list_plan_versions(session, runtime, caller, household_id)


@router.get("/households/{household_id}/checklist", response_model=Checklist, responses=_COMMON)
def checklist(household_id: str, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep) -> Checklist:
    """Bijlage VI (Checklist 1H1P1R), read-only, derived from the events."""
    return service.checklist(session, runtime, caller, household_id)
