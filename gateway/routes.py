"""Which routers make up the API; each bounded context owns its own `api.py`."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import api as gateway_api


def include_all(app: FastAPI) -> None:
    app.include_router(gateway_api.router)
