"""Which routers make up the API; each bounded context owns its own `api.py`."""

from __future__ import annotations

from fastapi import FastAPI

from consent import api as consent_api
from exchange import api as exchange_api
from exchange import overrides_api
from gateway import api as gateway_api


def include_all(app: FastAPI) -> None:
    app.include_router(gateway_api.router)
    app.include_router(consent_api.router)
    app.include_router(exchange_api.router)
    app.include_router(overrides_api.router)
