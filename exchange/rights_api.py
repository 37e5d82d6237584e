"""Routes for the data-subject rights the gateway serves: correction (art. 11.4), restriction
(art. 14) and erasure (art. 12). Thin handlers: parse, call one use case, answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from exchange import corrections, subjects
from exchange.schemas import CorrectionIn
from exchange.subjects import ErasureIn, LiftIn, RestrictionIn
from gateway.deps import OfficerDep, PartnerDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["rights"])


@router.post("/disclosures/{disclosure_id}/corrections", status_code=202)
def correct_disclosure(
    disclosure_id: str, body: CorrectionIn, caller: PartnerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Correctie (art. 11.4): forwarded to every earlier recipient of the corrected data."""
    return corrections.send_correction(session, runtime, caller, disclosure_id, body)


@router.post("/subjects/{bsn}/restriction", status_code=201)
def restrict_subject(
    bsn: str, body: RestrictionIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Beperking (art. 14): consent-based disclosures about the subject are refused until lifted."""
    return subjects.restrict(session, runtime, officer, bsn, body)


@router.delete("/subjects/{bsn}/restriction")
def lift_restriction(
    bsn: str,
    officer: OfficerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    note: Annotated[str | None, Query(max_length=10000)] = None,
    body: LiftIn | None = None,
) -> dict[str, Any]:
    """Opheffing van de beperking (art. 14); the note goes in the body or the query."""
    lift = body or LiftIn(note=note or "")
    return subjects.lift(session, runtime, officer, bsn, lift)


@router.post("/subjects/{bsn}/erasure")
def erase_subject(
    bsn: str, body: ErasureIn, officer: OfficerDep, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Wissing (art. 12): crypto-shreds the subject's stored payloads; the register keeps its entries."""
    return subjects.erase(session, runtime, officer, bsn, body)
