"""Routes of the consent registry (SPEC §6): thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consent import service
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


@router.post("/v1/consents", status_code=201)
def register_consent(
    body: ConsentIn, partner: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> ConsentOut:
    """Register a toestemmingsverklaring obtained by the caller (art. 6, Bijlage VIII)."""
    return service.register_consent(session, runtime, partner.oin, body)


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
