"""Pure-ASGI middleware: body-size limit and Prometheus request metrics.

Written as plain ASGI callables (not `BaseHTTPMiddleware`) because they sit on every request and
must not add a task and a queue per call.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException

from gateway.problems import PROBLEM_JSON, PayloadTooLarge, Problem, ShuttingDown

Scope = dict[str, Any]
Message = dict[str, Any]

REQUESTS = Counter(
    "meerpunt_http_requests_total",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "meerpunt_http_request_duration_seconds",
    "HTTP request latency by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)


async def _send_problem(send: Any, problem: Problem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before reading them (declared or streamed length)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _problem(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body exceeds the limit of {self.max_bytes} bytes "
            "(art. 5.2: send only what is necessary).",
            slug="payload-too-large",
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _send_problem(send, self._problem())
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException: FastAPI's body parser turns any other error raised while
                    # reading into a generic 400, and re-raises this one to the problem handler.
                    raise _TooLarge(self._problem().detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await _send_problem(send, self._problem())


class _TooLarge(HTTPException):
    """A streamed body (no Content-Length, or a false one) that grew past the limit."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


#: Any other method is counted as OTHER: the method is client input, and every distinct label value
#: would be a new time series on an unauthenticated endpoint.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Count requests and observe latency per route *template* (never per raw path: ids are unbounded).

    Every label is drawn from a closed set (route templates, known methods, status codes), so
    neither the series nor the caches below can grow with what clients send.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        # Labelled children, looked up once per label set: `labels()` takes a lock and validates
        # its arguments on every call, and this runs on every request.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, template: str, method: str, status: int, seconds: float) -> None:
        key = (template, method if method in _METHODS else "OTHER", status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(status))
            children = self._children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self._observe(template, scope.get("method", ""), status, time.perf_counter() - started)


class AnsweredErrorMiddleware:
    """Ends an unexpected error at the app once its response has begun.

    Starlette re-raises every unhandled exception after `gateway.errors` has handled it, so that
    "the server can log it". The gateway has logged it already (method, route and the frames, but
    not the exception's text: `gateway.errors.redacted_traceback`), and what the server would do
    next is harmful: uvicorn logs the exception's full text (a database error quotes the failing
    row), and then closes the connection, which on uvloop's TLS transport can drop the 500
    response still in its buffer. A response that failed half-way (a streamed CSV export) is
    ended the same way: uvicorn closes a response the app left incomplete, without a traceback.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            await send(message)
            if message["type"] == "http.response.start":
                started = True

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running when the shutdown grace period ends; it
            # would answer a plain-text 500. Say what happened and what to do instead. A handler
            # running in a thread may still commit after this, so "send it again" relies on the
            # Idempotency-Key, which returns the original outcome if it did.
            if not started:
                await _send_problem(
                    send,
                    ShuttingDown(
                        "The gateway stopped before this request was finished. It may not have "
                        "been processed: send it again (with the same Idempotency-Key).",
                        headers={"Retry-After": "1"},
                    ),
                )
            raise
        except Exception:
            if not started:
                raise


class VersionHeaderMiddleware:
    """`API-Version: <full version>` on every response, errors and refusals by middleware included
    (NL API Design Rules /core/version-header)."""

    def __init__(self, app: Any, version: str) -> None:
        self.app = app
        self._header = (b"api-version", version.encode())

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def versioned_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, versioned_send)
