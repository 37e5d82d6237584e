"""Operational endpoints, the directory and the error shape, over real mTLS."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.support import MUNICIPALITY


def test_healthz_and_readyz_answer_without_certificate(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/readyz").json() == {"status": "ready"}


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
    text = anonymous.get("/metrics").text
    assert 'meerpunt_http_requests_total{method="GET",route="/v1/categories",status="200"}' in text
    assert "meerpunt_http_request_duration_seconds_bucket" in text


def test_unknown_path_is_problem_json(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


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
