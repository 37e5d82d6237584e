"""Routes of the register: `/v1/register*` (SPEC §6) and `/v1/audit/*` (tree heads, proofs, verify)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from audit import register
from audit.register import RegisterQuery
from audit.verify import verify_register
from gateway.deps import OfficerDep, PrincipalDep, RuntimeDep, SessionDep

router = APIRouter()


def register_query(
    subject_bsn: str | None = None,
    partner: str | None = None,
    category: str | None = None,
    legal_basis: Annotated[str | None, Query(max_length=20)] = None,
    kind: str | None = None,
    occurred_from: Annotated[dt.datetime | None, Query(alias="from")] = None,
    occurred_to: Annotated[dt.datetime | None, Query(alias="to")] = None,
) -> RegisterQuery:
    return RegisterQuery(subject_bsn, partner, category, legal_basis, kind, occurred_from, occurred_to)


RegisterQueryDep = Annotated[RegisterQuery, Depends(register_query)]


@router.get("/v1/register", tags=["register"])
def list_register(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    query: RegisterQueryDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Register entries of the caller's organisation (central officer: all), oldest first."""
    return register.list_register(session, runtime, viewer, query, cursor=cursor, limit=limit)


@router.get("/v1/register/export.csv", tags=["register"])
def export_register(
    viewer: PrincipalDep, session: SessionDep, runtime: RuntimeDep, query: RegisterQueryDep
) -> StreamingResponse:
    """The same entries as CSV, streamed."""
    chunks = register.export_register(session, runtime, viewer, query)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get("/v1/audit/checkpoint", tags=["audit"])
def checkpoint(viewer: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The latest signed tree head and the key that signed it."""
    return register.current_checkpoint(session, runtime, viewer)


@router.get("/v1/audit/proof/{entry_id}", tags=["audit"])
def proof(entry_id: str, viewer: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Inclusion proof (RFC 9162 §2.1.3) of an entry against the latest signed tree head."""
    return register.inclusion(session, runtime, viewer, entry_id)


@router.post("/v1/audit/verify", tags=["audit"])
def verify(_officer: OfficerDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Verify the whole register (privacy officers): every leaf, the tree, every signed head."""
    return verify_register(runtime).as_dict()
