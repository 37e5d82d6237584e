"""Routes of the register: `/v1/register*` (SPEC §6) and `/v1/audit/*` (tree heads, proofs, verify)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from audit import evidence, logboek_service, register
from audit.models import MAX_POSITION
from audit.register import RegisterQuery
from audit.service import bind_traceparent, professional_from_headers
from gateway.contract import BsnQuery, CategoryQuery, Cursor, OinQuery, Rfc3339, professional_header
from gateway.deps import OfficerDep, PrincipalDep, RuntimeDep, SessionDep
from gateway.openapi import problem_responses
from gateway.problems import RuleBroken, RuleViolation


async def call_trace(traceparent: Annotated[str | None, Header()] = None) -> None:
    """The caller's W3C `traceparent`, if valid, becomes the trace id of this call's register entries.

    An async dependency on purpose: it runs in the request's own context, which the handler (run in
    the thread pool) inherits.
    """
    bind_traceparent(traceparent)


router = APIRouter(dependencies=[Depends(call_trace)])


def register_query(
    subject_bsn: BsnQuery = None,
    partner: OinQuery = None,
    category: CategoryQuery = None,
    legal_basis: Annotated[str | None, Query(max_length=20)] = None,
    kind: str | None = None,
    occurred_from: Annotated[Rfc3339 | None, Query(alias="from")] = None,
    occurred_to: Annotated[Rfc3339 | None, Query(alias="to")] = None,
    sender: OinQuery = None,
    recipient: OinQuery = None,
) -> RegisterQuery:
    return RegisterQuery(
        subject_bsn, partner, category, legal_basis, kind, occurred_from, occurred_to, sender, recipient
    )


RegisterQueryDep = Annotated[RegisterQuery, Depends(register_query)]


async def acting_professional(
    professional_id: Annotated[str | None, professional_header("Id", "id")] = None,
    professional_name: Annotated[str | None, professional_header("Name", "name")] = None,
    professional_role: Annotated[str | None, professional_header("Role", "role")] = None,
) -> dict[str, str] | None:
    """The professional a partner system reads for (art. 18.3), from optional headers; recorded
    with the register entry of the read."""
    try:
        return professional_from_headers(professional_id, professional_name, professional_role)
    except ValueError as exc:
        raise RuleBroken(
            "The acting professional's headers are not valid.",
            violations=[RuleViolation("invalid_professional", "18.3", str(exc))],
        ) from None


ProfessionalDep = Annotated[dict[str, str] | None, Depends(acting_professional)]


@router.get("/v1/register", tags=["register"])
def list_register(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    query: RegisterQueryDep,
    professional: ProfessionalDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Register entries of the caller's organisation (central officer: all), in tree order."""
    return register.list_register(
        session, runtime, viewer, query, cursor=cursor, limit=limit, professional=professional
    )


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


@router.get("/v1/register/export.csv", tags=["register"], response_class=CsvResponse)
def export_register(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    query: RegisterQueryDep,
    professional: ProfessionalDep,
) -> StreamingResponse:
    """The same entries as CSV, streamed."""
    chunks = register.export_register(session, runtime, viewer, query, professional=professional)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get("/v1/audit/checkpoint", tags=["audit"], responses=problem_responses(404))
def checkpoint(viewer: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The latest signed tree head and the key that signed it."""
    return evidence.current_checkpoint(session, runtime, viewer)


@router.post("/v1/audit/checkpoint", tags=["audit"])
def sign_checkpoint(officer: OfficerDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Sequence what is pending and sign a tree head now (central privacy officer)."""
    return evidence.on_demand_checkpoint(session, runtime, officer)


@router.get("/v1/audit/keys", tags=["audit"])
def keys(viewer: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Every public key that signed the register's checkpoints (JWKS), the current one first."""
    return evidence.verification_keys(runtime, viewer)


@router.get("/v1/audit/proof/{entry_id}", tags=["audit"])
def proof(
    entry_id: str,
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    professional: ProfessionalDep,
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
) -> dict[str, Any]:
    """Inclusion proof (RFC 9162 §2.1.3) of an entry against the latest signed tree head, or the
    signed tree head of `tree_size`."""
    return evidence.inclusion(
        session, runtime, viewer, entry_id, tree_size=tree_size, professional=professional
    )


@router.get("/v1/audit/consistency", tags=["audit"], responses=problem_responses(404))
def consistency(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    from_size: Annotated[int, Query(alias="from", ge=0, le=MAX_POSITION)],
    to_size: Annotated[int | None, Query(alias="to", ge=0, le=MAX_POSITION)] = None,
) -> dict[str, Any]:
    """Consistency proof (RFC 9162 §2.1.4) between two signed tree sizes (`to`: the latest)."""
    return evidence.consistency(session, runtime, viewer, from_size=from_size, to_size=to_size)


class VerifyIn(BaseModel):
    """Optional: checkpoints the officer kept outside the gateway, which the register must extend."""

    trusted_checkpoints: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=100
    )


@router.post("/v1/audit/verify", tags=["audit"])
def verify(
    officer: OfficerDep, session: SessionDep, runtime: RuntimeDep, body: VerifyIn | None = None
) -> dict[str, Any]:
    """Verify the whole register (privacy officers): every leaf, the tree, every signed head."""
    trusted = body.trusted_checkpoints if body is not None else []
    return evidence.verification(session, runtime, officer, trusted_checkpoints=trusted)


class LogAttribute(BaseModel):
    key: str
    value: str


class LogResource(BaseModel):
    attributes: list[LogAttribute]


class ForeignOperation(BaseModel):
    """The other organisation's action of the same exchange (from its `traceparent`)."""

    trace_id: str
    span_id: str
    entity: str


class LogRecord(BaseModel):
    """Logregel of the Logboek Dataverwerkingen interface (docs/register.md)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    status_code: str
    name: str
    start_time: str
    end_time: str
    foreign_operation: ForeignOperation | None = None
    resource: LogResource
    attributes: list[LogAttribute]


class LogPage(BaseModel):
    items: list[LogRecord]
    next_cursor: str | None


_REGISTER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No partner certificate or bearer token"},
    403: {"description": "Citizens read the register through an access request (art. 10)"},
    422: {"description": "The filter is not valid (violations name it)"},
}


@router.get("/v1/register/logboek", tags=["register"], response_model=LogPage, responses=_REGISTER_ERRORS)
def logboek_export(
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    query: RegisterQueryDep,
    professional: ProfessionalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The register as Logboek Dataverwerkingen log lines (Logius standard), same scope and filters."""
    return logboek_service.log_page(
        session, runtime, viewer, query, cursor=cursor, limit=limit, professional=professional
    )


@router.get(
    "/v1/register/logboek/otlp",
    tags=["register"],
    responses={
        200: {
            "description": "OTLP/JSON ExportTraceServiceRequest; next cursor in Meerpunt-Next-Cursor",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_REGISTER_ERRORS,
    },
)
def logboek_export_otlp(
    response: Response,
    viewer: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    query: RegisterQueryDep,
    professional: ProfessionalDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The same page as OTLP/JSON traces (the transport the standard recommends)."""
    page = logboek_service.log_page(
        session, runtime, viewer, query, cursor=cursor, limit=limit, professional=professional
    )
    if page["next_cursor"] is not None:
        response.headers["Meerpunt-Next-Cursor"] = page["next_cursor"]
    return logboek_service.otlp_page(page)


class ProcessingActivityOut(BaseModel):
    id: str
    active: bool
    latestVersion: int  # noqa: N815 - the standard's register interface names it so


class PersonalDataOut(BaseModel):
    categories: list[str]
    retentionPeriod: str  # noqa: N815


class ProcessingActivityVersionOut(BaseModel):
    name: str
    version: int
    purpose: str
    legalBasis: list[str]  # noqa: N815
    processingOptions: list[str]  # noqa: N815
    dataSubjects: list[str]  # noqa: N815
    personalData: PersonalDataOut  # noqa: N815


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"description": "No partner certificate or bearer token"},
    404: {"description": "No such processing activity (version)"},
}


@router.get(
    "/v1/processing-activities/{activity_id}",
    tags=["register"],
    response_model=ProcessingActivityOut,
    responses=_NOT_FOUND,
)
def processing_activity(activity_id: str, viewer: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """A processing activity (AVG art. 30) named by `dpl.core.processing_activity_id`."""
    return logboek_service.activity(runtime, activity_id)


@router.get(
    "/v1/processing-activities/{activity_id}/versions/{version}",
    tags=["register"],
    response_model=ProcessingActivityVersionOut,
    responses=_NOT_FOUND,
)
def processing_activity_version(
    activity_id: str, version: int, viewer: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """One version of a processing activity, as the log lines made under it reference it."""
    return logboek_service.activity_version(runtime, activity_id, version)
