"""One exception handler renders every error as RFC 9457 problem+json."""

from __future__ import annotations

import errno
import logging
import traceback
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from exchange.crypto import PayloadUnavailable
from gateway.problems import PROBLEM_BASE, PROBLEM_JSON, PayloadTooLarge, Problem

log = logging.getLogger("meerpunt.gateway")


def redacted_traceback(exc: BaseException) -> str:
    """The exception chain as type names and stack frames, without any exception's text.

    An exception's text can carry personal data: PostgreSQL's DETAIL quotes the failing row
    ("Failing row contains (…, <description>, …)") even with the engine's `hide_parameters`,
    and a validation error quotes its input. The frames (file, line, source line) and a
    database error's SQLSTATE are what an operator needs to find the fault.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        parts.append(f"Traceback (most recent call last):\n{frames}{_describe(current)}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\nwhich was raised while handling, or because of:\n".join(reversed(parts))


class RedactingFormatter(logging.Formatter):
    """Log formatter for every process of the gateway: tracebacks without exception texts.

    Installed on the root handler by the CLI (`serve`, its workers, `deliver`), so an exception
    logged anywhere — by the gateway, SQLAlchemy's pool or uvicorn — goes through
    `redacted_traceback`, not only the ones the gateway logs itself.
    """

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        _type, value, _tb = ei
        return redacted_traceback(value) if value is not None else ""


def configure_logging(level: str = "INFO") -> None:
    """Root logging for the gateway's processes, with `RedactingFormatter`."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _describe(exc: BaseException) -> str:
    module = type(exc).__module__
    name = type(exc).__qualname__ if module == "builtins" else f"{module}.{type(exc).__qualname__}"
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    if isinstance(exc, OSError) and exc.errno is not None:
        code = errno.errorcode.get(exc.errno, str(exc.errno))
    return f"{name} (text withheld{f'; code {code}' if code else ''})"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        loc = error.get("loc", ())
        position = loc[-1] if loc else "?"
        reason = (error.get("ctx") or {}).get("error", "decode error")
        return f"The body is not valid JSON: {reason} at character {position}."
    return f"{_location(error.get('loc', ()))}: {error.get('msg', 'invalid')}"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    malformed = any(error.get("type") == "json_invalid" for error in errors)
    violations = [
        {"code": str(error.get("type", "invalid")), "article": "", "message": _message(error)}
        for error in errors
    ]
    status = 400 if malformed else 422
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + ("malformed-json" if malformed else "invalid-request"),
        "title": "Malformed JSON" if malformed else "The request does not match the API contract",
        "status": status,
        "detail": "; ".join(v["message"] for v in violations[:10]),
        "instance": request.url.path,
        "violations": violations,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


#: Framework errors (routing, body parsing) get the same problem types as the domain's own.
_HTTP_PROBLEMS = {
    400: ("bad-request", "Bad request", None),
    404: ("not-found", "Not found", "No resource at this path."),
    405: ("method-not-allowed", "Method not allowed", None),
    413: ("payload-too-large", PayloadTooLarge.title, None),
}


def allowed_methods(request: Request) -> str:
    """Every method *some* route answers on this path.

    Starlette's 405 names only the methods of the first route whose path matched, so a path served
    by two routes (`POST` and `DELETE /v1/subjects/{bsn}/restriction`) would advertise one of them,
    and disagree with the API document.
    """
    methods: set[str] = set()
    path = request.url.path
    for route in iter_route_contexts(request.app.router.routes):
        if isinstance(route.original_route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    slug, title, detail = _HTTP_PROBLEMS.get(exc.status_code, (str(exc.status_code), "HTTP error", None))
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": exc.status_code,
        "detail": detail or str(exc.detail),
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Never echo or log the exception's text: it may contain a payload or a BSN.
    # The route template, not the raw path: paths such as /v1/subjects/{bsn}/… carry BSNs.
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.error("unhandled error on %s %s\n%s", request.method, route, redacted_traceback(exc))
    body = {
        "type": PROBLEM_BASE + "internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "The gateway could not complete the request; nothing was accepted.",
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON)


async def _on_payload_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A stored payload this request needs cannot be opened (a KEK missing from the configuration,
    a damaged row): the operator's problem, named as such, and limited to this one message."""
    assert isinstance(exc, PayloadUnavailable)
    log.error("%s %s: %s", request.method, getattr(request.scope.get("route"), "path", "unmatched"), exc)
    body = {
        "type": PROBLEM_BASE + "payload-unavailable",
        "title": "Stored payload unavailable",
        "status": 503,
        "detail": "The gateway cannot open the stored payload of this message (key-encryption key "
        f"{exc.kek_id!r}); the operator has been alerted. Nothing was changed.",
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


#: Seconds a client is asked to wait after a 503 for an unreachable database.
DATABASE_RETRY_AFTER_SECONDS = 5

#: Errors that mean "the database cannot be used right now" (down, restarting, connection cut,
#: pool exhausted), not "this request is wrong": the client may retry.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After while PostgreSQL restarts or fails over, never a 500.

    Nothing half-done stays behind: the unit of work rolled back (or the commit itself failed, in
    which case the transaction either committed whole or not at all). A client that sends the
    disclosure again with the same Idempotency-Key gets the original answer if it was accepted.
    """
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.warning("database unavailable on %s %s: %s", request.method, route, _describe(exc))
    body = {
        "type": PROBLEM_BASE + "database-unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": "The gateway's database cannot be reached right now. Try again after the "
        "Retry-After delay; send a disclosure again with the same Idempotency-Key, so that it is "
        "accepted once.",
        "instance": request.url.path,
    }
    return JSONResponse(
        body,
        status_code=503,
        media_type=PROBLEM_JSON,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _on_database_unavailable)
    app.add_exception_handler(PayloadUnavailable, _on_payload_unavailable)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
