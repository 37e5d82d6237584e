"""Operational endpoints and the directory: health, readiness, metrics, partners, categories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from exchange.override_metrics import registry_for
from gateway.deps import PartnerDep, RuntimeDep
from gateway.readiness import readiness

router = APIRouter()


@router.get("/healthz", tags=["operations"], include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], include_in_schema=False)
def readyz(runtime: RuntimeDep) -> dict[str, Any]:
    """Readiness: the database answers and the register sequencer keeps up; a load balancer stops
    routing here when either fails (gateway/readiness.py)."""
    return readiness(runtime)


@router.get("/metrics", tags=["operations"], include_in_schema=False)
def metrics(runtime: RuntimeDep) -> Response:
    # Process counters, then the metrics computed from the database at scrape time.
    body = generate_latest() + generate_latest(registry_for(runtime))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/partners", tags=["directory"])
def list_partners(_partner: PartnerDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The partner directory, with each partner's public encryption key (JWK) for end-to-end JWE."""
    return {"items": [partner.public_view() for partner in runtime.partners], "next_cursor": None}


@router.get("/v1/categories", tags=["directory"])
def list_categories(_partner: PartnerDep, runtime: RuntimeDep) -> dict[str, Any]:
    return {"items": [category.public_view() for category in runtime.categories], "next_cursor": None}
