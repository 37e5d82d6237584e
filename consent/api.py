"""Routes of the consent registry (SPEC §6): thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from consent import service
from consent.fhir_http import FHIR_REQUEST, FHIR_RESPONSE, FhirBodyRoute, consent_response
from consent.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentPage,
    DecisionIn,
    DecisionOut,
    WithdrawalIn,
    WithdrawalOut,
)
from gateway.contract import Cursor, bsn_schema
from gateway.deps import PartnerDep, RuntimeDep, SessionDep

router = APIRouter(tags=["consent"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "No valid partner client certificate"},
    403: {"description": "The certificate's organisation is not a Meerpunt partner"},
}


def register_consent(
    request: Request, body: ConsentIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> ConsentOut | Response:
    """Register a toestemmingsverklaring obtained by the caller (art. 6, Bijlage VIII).

    The body is JSON, or a FHIR R4 Consent with `Content-Type: application/fhir+json`; the answer
    is JSON, or FHIR with `Accept: application/fhir+json`.
    """
    return consent_response(request, service.register_consent(session, runtime, partner.oin, body), 201)


# Only this route reads a FHIR body (FhirBodyRoute); the others keep plain JSON.
router.add_api_route(
    "/v1/consents",
    register_consent,
    methods=["POST"],
    status_code=201,
    response_model=ConsentOut,
    openapi_extra=FHIR_REQUEST,
    responses={
        201: FHIR_RESPONSE,
        422: {"description": "The consent breaks a rule of art. 6 or Bijlage VIII (violations name it)"},
        **_ERRORS,
    },
    route_class_override=FhirBodyRoute,
)


@router.get(
    "/v1/consents/{consent_id}",
    response_model=ConsentOut,
    responses={
        200: FHIR_RESPONSE,
        404: {"description": "No consent with this id involves the caller"},
        409: {"description": "Registered before the subject's BSN was kept sealed: list by subject_bsn"},
        **_ERRORS,
    },
)
def get_consent(
    request: Request, consent_id: str, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> ConsentOut | Response:
    """One consent, for the partners involved in it: JSON, or FHIR R4 with `Accept: application/fhir+json`."""
    return consent_response(request, service.get_consent(session, runtime, partner.oin, consent_id))


@router.get("/v1/consents")
def list_consents(
    partner: PartnerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    subject_bsn: Annotated[str, Query(max_length=32, json_schema_extra=bsn_schema())],
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = service.PAGE_SIZE,
) -> ConsentPage:
    """Consents about a subject in which the caller takes part."""
    return service.list_for_subject(session, runtime, partner.oin, subject_bsn, cursor=cursor, limit=limit)


@router.post("/v1/consents/{consent_id}/withdrawal", status_code=201)
def withdraw_consent(
    consent_id: str, body: WithdrawalIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> WithdrawalOut:
    """Register a written withdrawal, effective from `received_at` (Bijlage VIII)."""
    return service.withdraw(session, runtime, partner.oin, consent_id, body)


@router.post("/v1/consent-decisions")
def decide(body: DecisionIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep) -> DecisionOut:
    """Dry run: would the subject's consent let the caller send these categories to this recipient now?"""
    return service.dry_run_decision(session, runtime, body, sender=partner.oin)
