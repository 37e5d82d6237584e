"""HTTP side of the FHIR form of consents (SPEC §9): content negotiation, nothing else.

A FHIR Consent posted with `Content-Type: application/fhir+json` is read into the same `ConsentIn`
the JSON form gives *before* FastAPI validates the body, so the route, the service and the art. 6
rules are one and the same for both forms (FastAPI's documented custom `APIRoute` pattern).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from consent.fhir import FHIR_JSON, FhirConsentInvalid, fhir_json, from_fhir, out_to_fhir
from consent.schemas import ConsentOut
from gateway.problems import Problem, RuleViolation

#: OpenAPI: the FHIR request and response forms, next to the generated JSON ones.
FHIR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A FHIR R4 Consent resource (docs/consent.md, 'Consent as FHIR').",
    "properties": {"resourceType": {"const": "Consent"}},
    "required": ["resourceType"],
}
FHIR_REQUEST: dict[str, Any] = {"requestBody": {"content": {FHIR_JSON: {"schema": FHIR_SCHEMA}}}}
FHIR_RESPONSE: dict[str, Any] = {"content": {FHIR_JSON: {"schema": FHIR_SCHEMA}}}


class FhirConsentRefused(Problem):
    status, slug, title = 422, "fhir-consent-invalid", "The FHIR Consent cannot be read"


def is_fhir(media_type: str | None) -> bool:
    return (media_type or "").split(";")[0].strip().lower() == FHIR_JSON


def wants_fhir(request: Request) -> bool:
    """Accept names application/fhir+json (the JSON form stays the default, SPEC §9)."""
    accepted = [part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")]
    return FHIR_JSON in accepted


def consent_response(request: Request, consent: ConsentOut, status_code: int = 200) -> ConsentOut | Response:
    if wants_fhir(request):
        return Response(fhir_json(out_to_fhir(consent)), status_code=status_code, media_type=FHIR_JSON)
    return consent


class FhirBodyRoute(APIRoute):
    """Reads an `application/fhir+json` body as the route's JSON body before validation."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if is_fhir(request.headers.get("content-type")):
                request = await _as_json_request(request)
            return await handler(request)

        return route


async def _as_json_request(request: Request) -> Request:
    raw = await request.body()
    try:
        document = json.loads(raw)
    except ValueError:
        raise FhirConsentRefused(
            "The body is not valid JSON.",
            violations=[RuleViolation("fhir_malformed", "", "The body is not valid JSON.")],
        ) from None
    try:
        statement = from_fhir(document)
    except FhirConsentInvalid as exc:
        raise FhirConsentRefused(
            str(exc), violations=[RuleViolation(code, "", message) for code, message in exc.problems]
        ) from None
    body = statement.model_dump_json(exclude_none=True).encode()
    headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {**request.scope, "headers": headers}
    rewritten = Request(scope, request.receive)
    rewritten._body = body  # the body was already read from the stream; hand the JSON form on
    return rewritten
