"""Benchmark-only routes: the baseline that `bench/exchange.py` compares `POST /v1/disclosures` with.

`POST /v1/_bench/baseline` takes the same path through the gateway as a disclosure (TLS, the
middleware, partner authentication from the client certificate, the request's unit of work) and
then does one plain INSERT, so the ratio of the two measures what the exchange itself adds.

The routes are not mounted (404, exactly like an unknown path) unless `Settings.benchmark_endpoints`
is on, which only the benchmark does (`MEERPUNT_BENCHMARK_ENDPOINTS`).
The table is created by the benchmark (`BASELINE_DDL`), not by a migration: it has no place in a
production schema.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from gateway.deps import PartnerDep, RuntimeDep, UnitOfWorkDep

BASELINE_TABLE = "bench_baseline"
BASELINE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} ("
    "id BIGSERIAL PRIMARY KEY, partner VARCHAR(20) NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
)
_INSERT = text("INSERT INTO bench_baseline (partner, created_at) VALUES (:partner, :created_at)")


# Mounted by `gateway.routes.include_all` only when the setting is on: no gate on each request,
# which would cost the baseline a dependency the real route lacks.
router = APIRouter(prefix="/v1/_bench", tags=["benchmark"], include_in_schema=False)


@router.post("/baseline", status_code=202)
async def baseline(caller: PartnerDep, unit_of_work: UnitOfWorkDep, runtime: RuntimeDep) -> JSONResponse:
    """One authenticated request, one INSERT, one commit: the floor under every exchange call.

    Its unit of work runs like the disclosure's (`UnitOfWorkDep`: one thread-pool hop), so the
    ratio compares the exchange's own work and not two ways of reaching the database.
    """

    def insert(session: Session) -> None:
        session.connection().execute(_INSERT, {"partner": caller.oin, "created_at": runtime.clock()})

    await unit_of_work.run(insert)
    return JSONResponse({"status": "accepted"}, status_code=202)
