"""Which routers make up the API; each bounded context owns its own `api.py`."""

from __future__ import annotations

from fastapi import FastAPI

from audit import api as audit_api
from audit.access import api as access_api
from consent import api as consent_api
from exchange import api as exchange_api
from exchange import overrides_api, rights_api
from gateway import api as gateway_api
from gateway import bench_api
from gateway.settings import Settings


def include_all(app: FastAPI, settings: Settings) -> None:
    app.include_router(gateway_api.router)
    app.include_router(consent_api.router)
    app.include_router(exchange_api.router)
    app.include_router(overrides_api.router)
    app.include_router(rights_api.router)
    app.include_router(access_api.router)
    app.include_router(audit_api.router)
    if settings.benchmark_endpoints:  # never mounted in normal operation
        app.include_router(bench_api.router)
