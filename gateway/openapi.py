"""The OpenAPI document as an exact contract (NL API Design Rules 2.x, RFC 9457).

Partners generate their clients from this document, so it must list every status an operation can
answer and every constraint a request must meet. Hand-written per-route lists drift, so the error
responses are derived here, at build time, from what each route *depends on*:

* a partner dependency (client certificate) -> 401, 403 and the `mutualTLS` security scheme;
* an officer or citizen dependency (bearer token) -> 401, 403 and `openIdConnect`;
* a request body -> 400 (malformed JSON), 413, 415, 422; any other input -> 400, 422;
* a path parameter -> 404; every operation -> 405 (with `Allow`), 500, 503.

A route that raises a domain problem beyond these declares it next to itself with
`responses=problem_responses(409, …)`. Every response carries the `API-Version` header
(`/core/version-header`); every error is `application/problem+json` with the shared `Problem`
schema (`/core/error-handling/problem-details`). A route added later is documented the same way
without anyone remembering to.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.requests import Request

from gateway import deps
from gateway.problems import PROBLEM_JSON
from gateway.settings import Settings

#: The full version of the API (semver), sent as `API-Version` on every response
#: (`/core/version-header`); its major is the `/v1` of every path (`/core/uri-version`).
API_VERSION = "1.0.0"
API_PREFIX = "/v" + API_VERSION.split(".", 1)[0]
VERSION_HEADER = "API-Version"

_REASONS = {
    400: "The request is malformed (for example a body that is not JSON).",
    401: "No valid credentials: a partner's client certificate, or an officer's or citizen's token.",
    403: "The caller is authenticated but may not do this (or a rule of the Privacyreglement forbids it).",
    404: "No such resource, or not one the caller may see.",
    405: "The method is not allowed on this path; `Allow` lists the ones that are.",
    406: "None of the media types in `Accept` can be produced.",
    409: "The request conflicts with the resource's current state.",
    413: "The request body is larger than the gateway accepts.",
    415: "The request body's media type is not supported.",
    422: "The request does not match the contract or breaks a rule; `violations` name the article.",
    429: "Too many requests; retry after the time in `Retry-After`.",
    500: "The gateway could not complete the request; nothing was accepted.",
    503: "A dependency (database, sign-in provider, revocation list) is unavailable; retry later.",
}

_VERSION_HEADER_DOC = {
    "description": "The full version of the API that answered (NL API Design Rules /core/version-header).",
    "schema": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$", "example": API_VERSION},
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; rule violations name the article of the Privacyreglement.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Identifies the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The path of the request that failed."},
        "violations": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Violation"},
        },
    },
    # Some problems carry more (e.g. `consent_denied` lists each uncovered category).
    "additionalProperties": True,
}

VIOLATION_SCHEMA: dict[str, Any] = {
    "title": "Violation",
    "type": "object",
    "required": ["code", "article", "message"],
    "properties": {
        "code": {"type": "string"},
        "article": {"type": "string", "description": "Article of the Privacyreglement, or empty."},
        "message": {"type": "string"},
    },
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that raises these domain problems beyond the derived ones.

    `descriptions` may name a status as `s409="…"` to say when it happens.
    """
    return {
        status: {"description": descriptions.get(f"s{status}", _REASONS.get(status, "Problem."))}
        for status in statuses
    }


# ------------------------------------------------------------------ what a route depends on


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _has_input(dependant: Dependant) -> bool:
    if dependant.query_params or dependant.header_params or dependant.cookie_params:
        return True
    return any(_has_input(sub) for sub in dependant.dependencies)


def _security_of(calls: set[Callable[..., Any]]) -> list[dict[str, list[str]]]:
    security: list[dict[str, list[str]]] = []
    if deps.get_partner in calls or deps.get_any_principal in calls:
        security.append({"mutualTLS": []})
    if calls & {deps.get_officer, deps.get_citizen, deps.get_any_principal}:
        security.append({"openIdConnect": []})
    return security


def derived_statuses(route: Any) -> tuple[set[int], list[dict[str, list[str]]]]:
    """The problem statuses a route can answer because of what it depends on, and its security."""
    calls = set(_calls(route.dependant))
    security = _security_of(calls)
    statuses = {405, 500, 503}
    if security:
        statuses |= {401, 403}
    if route.body_field is not None:
        statuses |= {400, 413, 415, 422}
    if _has_input(route.dependant) or route.dependant.path_params:
        statuses |= {400, 422}
    if route.dependant.path_params:
        statuses.add(404)
    return statuses, security


# ------------------------------------------------------------------ the document


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _document_operation(operation: dict[str, Any], route: Any) -> None:
    statuses, security = derived_statuses(route)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": _REASONS.get(status, "Problem.")})
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            response["content"] = _problem_content()
        headers = response.setdefault("headers", {})
        headers[VERSION_HEADER] = {"$ref": f"#/components/headers/{VERSION_HEADER}"}
        if code == "405":
            headers["Allow"] = {
                "description": "The methods this path allows.",
                "schema": {"type": "string"},
                "required": True,
            }
        if code == "401" and security == [{"openIdConnect": []}]:
            headers["WWW-Authenticate"] = {
                "description": "The Bearer challenge (RFC 6750).",
                "schema": {"type": "string"},
            }
    operation["responses"] = dict(sorted(responses.items()))
    if security:
        operation["security"] = security


def _strip_prefix(path: str) -> str:
    return path[len(API_PREFIX) :] or "/"


def openid_configuration_url(settings: Settings) -> str:
    """The discovery URL of the (first) configured issuer; a syntactically valid placeholder when
    none is configured, so the document stays valid OpenAPI."""
    issuer = settings.token_issuers[0].issuer if settings.token_issuers else "https://meerpunt.invalid/oidc"
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def build_document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document: FastAPI's, completed by the derivation above.

    Paths are written relative to the server URL `/v1` (`/core/uri-version`); routes outside it
    are not part of the API and must be `include_in_schema=False`.
    """
    routes = [r for r in api_routes(app) if r.path.startswith(API_PREFIX + "/")]
    base = get_openapi(
        title=app.title,
        version=API_VERSION,
        summary=app.summary,
        description=app.description,
        routes=routes,
        contact={
            "name": "Meerpunt Gateway beheer",
            "url": "https://meerpunt.invalid/gateway",
            "email": "gateway@meerpunt.invalid",
        },
        servers=[{"url": API_PREFIX, "description": "This gateway, major version 1 of the API."}],
    )
    paths: dict[str, Any] = {}
    by_path: dict[str, list[Any]] = {}
    for route in routes:
        by_path.setdefault(route.path_format, []).append(route)
    for path, item in base.get("paths", {}).items():
        for method, operation in item.items():
            match = [r for r in by_path.get(path, []) if method.upper() in (r.methods or ())]
            if match:
                _document_operation(operation, match[0])
        paths[_strip_prefix(path)] = item
    base["paths"] = paths
    components = base.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["Violation"] = copy.deepcopy(VIOLATION_SCHEMA)
    components["headers"] = {VERSION_HEADER: copy.deepcopy(_VERSION_HEADER_DOC)}
    components["securitySchemes"] = {
        "mutualTLS": {
            "type": "mutualTLS",
            "description": "A client certificate of a Meerpunt partner carrying its OIN (art. 19; SPEC §5).",
        },
        "openIdConnect": {
            "type": "openIdConnect",
            "openIdConnectUrl": openid_configuration_url(settings),
            "description": "Bearer tokens of privacy officers and citizens (SPEC §5, §9).",
        },
    }
    return base


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the document at `/openapi.json`, `/openapi.yaml` and under `/v1` (`/core/publish-openapi`)."""
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(build_document(app, settings))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]

    async def as_json(_request: Request) -> Response:
        return JSONResponse(openapi(), headers={"Access-Control-Allow-Origin": "*"})

    async def as_yaml(_request: Request) -> Response:
        # Through JSON first: YAML gets plain types only (no OrderedDict tags).
        text = yaml.safe_dump(json.loads(json.dumps(openapi())), sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml", headers={"Access-Control-Allow-Origin": "*"})

    for path, endpoint in (
        ("/openapi.json", as_json),
        (API_PREFIX + "/openapi.json", as_json),
        ("/openapi.yaml", as_yaml),
        (API_PREFIX + "/openapi.yaml", as_yaml),
    ):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)


def api_routes(app: FastAPI) -> list[Any]:
    """The API routes meant for the document, as FastAPI's route contexts (an `APIRoute` seen
    through the routers that include it: prefixed path, combined dependencies). A test checks they
    all live under `/v1`."""
    return [
        context
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
    ]
