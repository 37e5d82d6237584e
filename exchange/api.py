"""Routes of the exchange: thin handlers that parse, call one service function and answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from exchange import inbox, overrides, requests, sending
from exchange.schemas import AcknowledgementIn, DeclineIn, DisclosureIn, InformationRequestIn
from gateway.contract import Cursor, IdempotencyKey
from gateway.deps import PartnerDep, RuntimeDep, SessionDep, UnitOfWorkDep
from gateway.errors import problem_response

router = APIRouter(prefix="/v1", tags=["exchange"])


@router.post("/disclosures", status_code=202)
async def send_disclosure(
    request: Request,
    body: DisclosureIn,
    caller: PartnerDep,
    unit_of_work: UnitOfWorkDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Verstrekking (art. 6, 8.1): 202 with a signed receipt, or 403 `consent_denied`."""
    result = await unit_of_work.run(
        lambda session: sending.send_disclosure(session, runtime, caller, body, idempotency_key)
    )
    if result.problem is not None:
        # Returned, not raised: the refused attempt's register entry must still commit.
        return problem_response(result.problem, request)
    return JSONResponse(result.body, status_code=result.status_code, headers=result.headers)


@router.get("/disclosures/{disclosure_id}")
def disclosure_status(
    disclosure_id: str, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return overrides.disclosure_status(session, runtime, caller, disclosure_id)


@router.post("/information-requests", status_code=202)
def create_information_request(
    body: InformationRequestIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Opvragen (art. 6.3), optionally with the consent obtained on the holder's behalf."""
    return requests.create_request(session, runtime, caller, body)


@router.post("/information-requests/{request_id}/decline")
def decline_information_request(
    request_id: str, body: DeclineIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return requests.decline_request(session, runtime, caller, request_id, body)


@router.get("/inbox")
def list_inbox(
    caller: PartnerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    return inbox.list_inbox(session, runtime, caller, cursor, limit)


@router.post("/inbox/{message_id}/ack")
def acknowledge(
    message_id: str,
    caller: PartnerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    body: AcknowledgementIn | None = None,
) -> dict[str, Any]:
    """Ontvangst (art. 8.2): writes the recipient-side register entry."""
    professional = body.professional.model_dump() if body and body.professional else None
    return inbox.acknowledge_message(session, runtime, caller, message_id, professional)
