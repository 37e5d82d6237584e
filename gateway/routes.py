"""Which routers make up the API; each bounded context owns its own `api.py`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from audit import api as audit_api
from audit.access import api as access_api
from audit.access import followups_api
from consent import api as consent_api
from coordination import api as coordination_api
from exchange import api as exchange_api
from exchange import overrides_api, rights_api
from gateway import api as gateway_api
from gateway import bench_api
from gateway.settings import Settings
from web import auth_routes, home, pickup
from web import pages as web_pages
from web.console import routes as console_routes
from web.portal import routes as portal_routes
from web.templating import STATIC_DIR


def include_all(app: FastAPI, settings: Settings) -> None:
    app.include_router(gateway_api.router)
    app.include_router(consent_api.router)
    app.include_router(exchange_api.router)
    app.include_router(overrides_api.router)
    app.include_router(rights_api.router)
    app.include_router(access_api.router)
    app.include_router(followups_api.router)
    app.include_router(audit_api.router)
    app.include_router(coordination_api.router)
    # People's pages (SPEC §9): HTML, Dutch, outside the API document.
    web_pages.install(app)
    app.include_router(home.router)
    app.include_router(auth_routes.router)
    app.include_router(console_routes.router)
    app.include_router(portal_routes.router)
    app.include_router(pickup.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.benchmark_endpoints:  # never mounted in normal operation
        app.include_router(bench_api.router)
