"""The FastAPI application factory (SPEC §3: gateway/ is the HTTP shell around the domain packages)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from gateway import errors, openapi, routes
from gateway.middleware import (
    AnsweredErrorMiddleware,
    BodyLimitMiddleware,
    MetricsMiddleware,
    VersionHeaderMiddleware,
)
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings
from gateway.workers import background_workers, stop_workers
from web.security import SecurityHeadersMiddleware

log = logging.getLogger("meerpunt.gateway")


def create_app(settings: Settings, runtime: Runtime | None = None) -> Any:
    """Build the ASGI app. Settings come from the caller (CLI or tests), never from import time."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_runtime = runtime is None
        app.state.runtime = runtime or build_runtime(settings)
        tasks: list[asyncio.Task[None]] = []
        if settings.background_workers:
            tasks = [asyncio.create_task(worker(app.state.runtime)) for worker in background_workers()]
        try:
            yield
        finally:
            # After SIGTERM uvicorn has let the requests in flight finish (or the grace period
            # end); now the workers finish their current step, then the pool is closed.
            await stop_workers(tasks)
            if own_runtime:
                app.state.runtime.dispose()
                log.info("database pool closed")

    app = FastAPI(
        title="Meerpunt Gateway",
        version=openapi.API_VERSION,
        summary="Secure exchange of case information between the Meerpunt partners.",
        lifespan=lifespan,
        # The document is served by gateway.openapi (JSON and YAML, at / and under /v1); no
        # Swagger UI: it loads its scripts from a CDN the gateway's CSP does not allow.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime
    errors.install(app)
    routes.include_all(app, settings)
    openapi.install(app, settings)
    inner = AnsweredErrorMiddleware(BodyLimitMiddleware(app, settings.max_body_bytes))
    return VersionHeaderMiddleware(
        MetricsMiddleware(SecurityHeadersMiddleware(inner, settings)), openapi.API_VERSION
    )
