"""HTTP behaviour of the coordination register over mTLS: retries, scoping and refusals."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.models import CoordinationEvent
from exchange.models import Message
from tests.e2e.test_coordination_flow import COORDINATOR, PRO, consent
from tests.support import JGZ, SCHOOL, DevEnv, idempotency_key, new_bsn

Client = Callable[[str], httpx.Client]


def household(jgh: httpx.Client, *bsns: str) -> str:
    response = jgh.post(
        "/v1/coordination/households",
        json={
            "children": [{"bsn": bsn} for bsn in bsns],
            "involved": [JGZ, SCHOOL],
            "coordinator": {"form": "partner", "partner": COORDINATOR},
            "professional": PRO,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_retried_notice_is_sent_and_listed_once(client_for: Client, engine: Engine) -> None:
    jgh, jgz = client_for(COORDINATOR), client_for(JGZ)
    bsn = new_bsn()
    consent(jgz, bsn, {COORDINATOR: ["care_progress"]})
    hid = household(jgh, bsn)
    body = {"type": "help_started", "subject": {"bsn": bsn}, "professional": PRO}
    key = idempotency_key()
    path = f"/v1/coordination/households/{hid}/notices"
    first = jgz.post(path, json=body, headers={"Idempotency-Key": key})
    again = jgz.post(path, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202, again.text
    assert first.json()["id"] == again.json()["id"]
    other = jgz.post(path, json={**body, "note": "anders"}, headers={"Idempotency-Key": key})
    assert other.status_code == 409
    with Session(engine) as session:
        assert (
            len(session.exec(select(CoordinationEvent).where(CoordinationEvent.household_id == hid)).all())
            == 2
        )
        message = session.exec(select(Message).where(Message.id == first.json()["id"])).one()
        assert message.kind == "notice" and message.categories == ["care_progress"]
    assert len(jgh.get(path).json()["items"]) == 1
    assert jgz.post(path, json=body).status_code == 400  # no Idempotency-Key


def test_notices_about_someone_outside_the_household_or_from_outsiders_are_refused(
    client_for: Client,
) -> None:
    jgh, jgz = client_for(COORDINATOR), client_for(JGZ)
    bsn, stranger = new_bsn(), new_bsn()
    consent(jgz, stranger, {COORDINATOR: ["care_progress"]})
    hid = household(jgh, bsn)
    path = f"/v1/coordination/households/{hid}/notices"
    outside = jgz.post(
        path,
        json={"type": "help_started", "subject": {"bsn": stranger}, "professional": PRO},
        headers={"Idempotency-Key": idempotency_key()},
    )
    assert outside.status_code == 422
    assert outside.json()["violations"][0]["code"] == "not_in_household"
    unknown = jgz.post(
        "/v1/coordination/households/00000000-0000-0000-0000-000000000000/notices",
        json={"type": "help_started", "subject": {"bsn": bsn}, "professional": PRO},
        headers={"Idempotency-Key": idempotency_key()},
    )
    assert unknown.status_code == 404
    bad_type = jgz.post(
        path,
        json={"type": "help_paused", "subject": {"bsn": bsn}, "professional": PRO},
        headers={"Idempotency-Key": idempotency_key()},
    )
    assert bad_type.status_code == 422


def test_a_retried_plan_version_is_one_version_and_uncovered_partners_are_listed(client_for: Client) -> None:
    jgh = client_for(COORDINATOR)
    bsn = new_bsn()
    consent(jgh, bsn, {JGZ: ["family_plan"]})  # the school is not covered
    hid = household(jgh, bsn)
    body = {"children": [{"bsn": bsn}], "payload": {"doelen": ["Rust"]}, "professional": PRO}
    key = idempotency_key()
    path = f"/v1/coordination/households/{hid}/plan-versions"
    first = jgh.post(path, json=body, headers={"Idempotency-Key": key})
    again = jgh.post(path, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json()
    deliveries = {d["recipient"]: d for d in first.json()["deliveries"]}
    assert deliveries[JGZ]["status"] == "accepted"
    assert deliveries[SCHOOL]["status"] == "not_sent" and "art. 6.1" in deliveries[SCHOOL]["reason"]
    assert [v["version"] for v in jgh.get(path).json()["items"]] == [1]
    empty = jgh.post(path, json={**body, "payload": {}}, headers={"Idempotency-Key": idempotency_key()})
    assert empty.status_code == 422


def test_the_routes_are_in_the_api_document_with_their_problems(anonymous: httpx.Client) -> None:
    document = anonymous.get("/openapi.json").json()
    # The document's server is /v1 and its paths are relative to it (ADR: major version in the URI).
    assert document["servers"][0]["url"].endswith("/v1")
    notices = document["paths"]["/coordination/households/{household_id}/notices"]["post"]
    assert {"202", "403", "404", "409", "422"} <= set(notices["responses"])
    assert "application/problem+json" in notices["responses"]["403"]["content"]
    assert "NoticeAccepted" in str(notices["responses"]["202"])


def test_two_simultaneous_hand_overs_change_the_coordinator_once(client_for: Client, dev_env: DevEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import partner_client

    jgh = client_for(COORDINATOR)
    hid = household(jgh, new_bsn())
    path = f"/v1/coordination/households/{hid}/handover"
    base_url = str(jgh.base_url)

    def hand_over(to: str) -> int:
        with partner_client(dev_env, base_url, COORDINATOR) as client:
            body = {"coordinator": {"form": "partner", "partner": to}, "professional": PRO}
            return client.post(path, json=body).status_code

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(hand_over, [JGZ, SCHOOL]))
    # The loser either lost the conditional UPDATE (409) or found it no longer coordinates (403).
    assert outcomes[0] == 200 and outcomes[1] in (403, 409), outcomes
    events = jgh.get(f"/v1/coordination/households/{hid}").json()["events"]
    assert [e["kind"] for e in events] == ["designated", "handed_over"]
