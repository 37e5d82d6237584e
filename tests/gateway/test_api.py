"""Operational endpoints, the directory and the error shape, over real mTLS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlmodel import Session, select

from audit.models import RegisterEntry
from gateway.runtime import Runtime
from tests.support import JGZ, MUNICIPALITY, DevEnv, new_bsn


def test_healthz_and_readyz_answer_without_certificate(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["sequencer"]["stalled"] is False


def test_partner_directory_has_shape_and_keys(client_for: Callable[[str], httpx.Client]) -> None:
    body = client_for(MUNICIPALITY).get("/v1/partners").json()
    assert body["next_cursor"] is None
    partner = next(p for p in body["items"] if p["oin"] == MUNICIPALITY)
    assert set(partner) == {"oin", "name", "sector", "delivery", "encryption_key"}
    assert partner["sector"] == "municipality"
    assert partner["delivery"] == "pull"
    assert partner["encryption_key"]["kty"] == "RSA"
    assert "d" not in partner["encryption_key"]  # never a private part


def test_categories_mark_special_categories(client_for: Callable[[str], httpx.Client]) -> None:
    items = client_for(MUNICIPALITY).get("/v1/categories").json()["items"]
    special = {c["code"] for c in items if c["special"]}
    assert special == {"health", "mental_health", "justice"}
    assert len(items) == 15
    assert all(set(c) == {"code", "label", "special"} for c in items)


def test_metrics_count_requests_by_route_template(
    client_for: Callable[[str], httpx.Client], anonymous: httpx.Client
) -> None:
    client_for(MUNICIPALITY).get("/v1/categories")
    unknown = str(uuid.uuid4())
    assert client_for(MUNICIPALITY).get(f"/v1/disclosures/{unknown}").status_code == 404
    text = anonymous.get("/metrics").text
    assert 'meerpunt_http_requests_total{method="GET",route="/v1/categories",status="200"}' in text
    # A path with an id is counted under its template: ids (and BSNs in paths) never become labels.
    assert unknown not in text
    assert 'route="/v1/disclosures/{disclosure_id}",status="404"' in text
    assert (
        'meerpunt_http_request_duration_seconds_count{method="GET",route="/v1/categories",status="200"}'
        in text
    )


def test_metrics_do_not_grow_with_client_chosen_methods(anonymous: httpx.Client) -> None:
    # Made-up methods are refused by the HTTP parser; methods it knows but the API does not use
    # (WebDAV's) reach the app and are counted as OTHER.
    for method in ("AAA1", "AAA2", "PROPFIND", "MKCOL"):
        anonymous.request(method, "/healthz")
    text = anonymous.get("/metrics").text
    for method in ("AAA1", "AAA2", "PROPFIND", "MKCOL"):
        assert f'method="{method}"' not in text
    assert 'meerpunt_http_requests_total{method="OTHER",route="/healthz"' in text


def test_unknown_path_is_problem_json(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    # The same problem type as the domain's own "not found" answers.
    assert body["type"].endswith("/not-found")


def test_wrong_method_is_problem_json_with_allow(anonymous: httpx.Client) -> None:
    response = anonymous.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["type"].endswith("/method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_malformed_json_says_where(client_for: Callable[[str], httpx.Client]) -> None:
    response = client_for(MUNICIPALITY).post(
        "/v1/consent-decisions",
        content=b'{"subject_bsn": "1" "x"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"].endswith("/malformed-json")
    assert "not valid JSON" in body["detail"] and "character" in body["detail"]


def test_oversize_body_is_refused_before_reading(client_for: Callable[[str], httpx.Client]) -> None:
    client = client_for(MUNICIPALITY)
    response = client.post(
        "/v1/consent-decisions",
        content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "art. 5.2" in response.json()["detail"]


def test_oversize_streamed_body_is_refused_with_413(client_for: Callable[[str], httpx.Client]) -> None:
    """No Content-Length (chunked): the limit applies to what arrives, still as 413 problem+json."""
    chunk = b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:
        yield b"{"
        for _ in range(11):
            yield chunk
        yield b"}"

    response = client_for(MUNICIPALITY).post(
        "/v1/consent-decisions", content=body(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/payload-too-large")
    assert "5.2" in response.json()["detail"]


def test_bearer_routes_answer_401_with_a_challenge(anonymous: httpx.Client) -> None:
    missing = anonymous.post("/v1/audit/verify")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="meerpunt-gateway"'
    garbage = anonymous.post("/v1/audit/verify", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]


def test_benchmark_routes_are_absent_unless_turned_on(client_for: Callable[[str], httpx.Client]) -> None:
    response = client_for(MUNICIPALITY).post("/v1/_bench/baseline")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


def test_a_partner_call_on_a_route_open_to_anyone_continues_the_callers_trace(
    client_for: Callable[[str], httpx.Client], runtime: Runtime
) -> None:
    """docs/register.md: a partner's valid `traceparent` gives its trace id to the call's entries,
    also on routes that citizens and officers use too (here a partner desk lodging art. 10)."""
    bsn, trace = new_bsn(), "5bf92f3577b34da6a3ce929d0e0e4737"
    body = {
        "subject_bsn": bsn,
        "relationship": "self",
        "subject_birth_date": "1990-01-01",
        "requester_name": "J. Jansen",
        "verified_by": {"id": "d-1", "name": "Baliemedewerker", "role": "baliemedewerker"},
    }
    response = client_for(JGZ).post(
        "/v1/subject-access-requests", json=body, headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
    )
    assert response.status_code == 202, response.text
    with Session(runtime.engine) as session:
        entry = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.kind == "access_request_received",
                RegisterEntry.subject_hash == runtime.bsn_hash(bsn),
            )
        ).one()
    assert entry.trace_id == trace


def test_a_bearer_token_is_verified_once_per_call(
    anonymous: httpx.Client, dev_env: DevEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        verified.append(token)
        claims: dict[str, Any] = decode(token, *args, **kwargs)
        return claims

    monkeypatch.setattr(jwt, "decode", counting_decode)
    response = anonymous.get("/v1/audit/checkpoint", headers=dev_env.officer_headers("meerpunt"))
    assert response.status_code in (200, 404), response.text
    assert len(verified) == 1
