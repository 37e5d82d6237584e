"""Information requests (art. 6.3): the attached consent, declining, acknowledging (issue 4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from tests.exchange.test_disclosures import (
    consent_body,
    disclosure_body,
    entries,
    inbox_item,
    register_consent,
    send,
)
from tests.support import JGZ, SCHOOL, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]
COORDINATOR = {"id": "z-1", "name": "Zorgcoördinator", "role": "zorgcoördinator"}
NURSE = {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"}


def ask(school: httpx.Client, bsn: str, categories: list[str], **extra: Any) -> httpx.Response:
    """The school asks JGZ about a child."""
    body = {
        "holder": JGZ,
        "subject": {"bsn": bsn},
        "categories": categories,
        "purpose": "Zorgoverleg over verzuim",
        "professional": COORDINATOR,
        **extra,
    }
    return school.post("/v1/information-requests", json=body)


def consent_on_behalf_of_jgz(school: httpx.Client, bsn: str, categories: list[str]) -> str:
    consent = consent_body(bsn, SCHOOL, categories)
    consent["obtained_on_behalf_of"] = JGZ
    return register_consent(school, consent)


def decline(client: httpx.Client, request_id: str, **body: Any) -> httpx.Response:
    return client.post(
        f"/v1/information-requests/{request_id}/decline", json={"reason": "Geen toestemming", **body}
    )


# ------------------------------------------------------------------------ the attached consent


def test_a_consent_that_does_not_cover_the_request_is_refused(client_for: Client) -> None:
    """Art. 6.3: a withdrawn consent granting only `contact` cannot carry a request for `health`."""
    bsn = new_bsn()
    school = client_for(SCHOOL)
    consent_id = consent_on_behalf_of_jgz(school, bsn, ["contact"])
    received = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    withdrawal = school.post(
        f"/v1/consents/{consent_id}/withdrawal", json={"received_at": received, "evidence_sha256": "cd" * 32}
    )
    assert withdrawal.status_code in (200, 201), withdrawal.text

    for categories, reason in ((["health"], "category_not_covered"), (["contact"], "withdrawn")):
        response = ask(school, bsn, categories, consent_id=consent_id)
        assert response.status_code == 422, response.text
        [violation] = response.json()["violations"]
        assert (violation["code"], violation["article"]) == ("consent_does_not_cover", "6.3")
        assert reason in violation["message"]


def test_a_consent_must_grant_the_requester_every_requested_category(client_for: Client) -> None:
    bsn = new_bsn()
    school = client_for(SCHOOL)
    consent_id = consent_on_behalf_of_jgz(school, bsn, ["help_request"])
    partly = ask(school, bsn, ["help_request", "education"], consent_id=consent_id)
    assert partly.status_code == 422
    assert ["education" in v["message"] for v in partly.json()["violations"]] == [True]
    assert ask(school, bsn, ["help_request"], consent_id=consent_id).status_code == 202


def test_every_fault_of_a_request_is_named_at_once(client_for: Client) -> None:
    bsn = new_bsn()
    school = client_for(SCHOOL)
    consent_id = consent_on_behalf_of_jgz(school, bsn, ["help_request"])
    response = ask(school, bsn, ["education"], consent_id=consent_id, purpose=" ")
    assert response.status_code == 422
    assert sorted(v["code"] for v in response.json()["violations"]) == [
        "consent_does_not_cover",
        "purpose_missing",
    ]


# ---------------------------------------------------------------------- decline and acknowledge


def test_a_declined_request_cannot_be_acknowledged_or_answered_or_declined_again(
    client_for: Client, engine: Engine
) -> None:
    bsn = new_bsn()
    school, jgz = client_for(SCHOOL), client_for(JGZ)
    request_id = ask(school, bsn, ["health"]).json()["id"]
    assert decline(jgz, request_id).status_code == 200

    acknowledged = jgz.post(f"/v1/inbox/{request_id}/ack")
    assert acknowledged.status_code == 409
    assert acknowledged.json()["type"].endswith("request-declined")
    assert school.get(f"/v1/disclosures/{request_id}").json()["status"] == "declined"
    answer = send(jgz, disclosure_body(bsn, SCHOOL, ["health"], in_reply_to=request_id))
    assert answer.status_code == 422
    assert [v["code"] for v in answer.json()["violations"]] == ["request_declined"]
    assert decline(jgz, request_id).status_code == 409
    assert len(entries(engine, disclosure_id=request_id, kind="information_request_declined")) == 1


def test_a_request_acknowledged_first_can_still_be_declined_once(client_for: Client, engine: Engine) -> None:
    bsn = new_bsn()
    school, jgz = client_for(SCHOOL), client_for(JGZ)
    request_id = ask(school, bsn, ["health"]).json()["id"]
    first = jgz.post(f"/v1/inbox/{request_id}/ack", json={"professional": NURSE})
    assert first.status_code == 200 and first.json()["already_acknowledged"] is False
    declined = decline(jgz, request_id, professional=NURSE)
    assert declined.status_code == 200
    again = jgz.post(f"/v1/inbox/{request_id}/ack")
    assert again.status_code == 200
    assert again.json()["already_acknowledged"] is True
    assert again.json()["status"] == "declined"  # the decline stands
    [received] = entries(engine, disclosure_id=request_id, kind="information_request_received")
    assert received.content["professional"] == NURSE
    [declined_entry] = entries(engine, disclosure_id=request_id, kind="information_request_declined")
    assert declined_entry.content["professional"] == NURSE
    assert entries(engine, disclosure_id=request_id, kind="disclosure_received") == []

    notice = inbox_item(school, declined.json()["notice_id"])
    assert notice["professional"] == NURSE
    assert school.post(f"/v1/inbox/{notice['id']}/ack").status_code == 200
    assert len(entries(engine, disclosure_id=notice["id"], kind="notice_received")) == 1


def test_an_erased_request_can_no_longer_be_declined(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    request_id = ask(client_for(SCHOOL), bsn, ["health"]).json()["id"]
    erased = anonymous.post(
        f"/v1/subjects/{bsn}/erasure",
        json={"ground": "art12_1_a"},
        headers=dev_env.officer_headers("meerpunt"),
    )
    assert erased.status_code == 200 and erased.json()["messages_withdrawn"] == 1
    response = decline(client_for(JGZ), request_id)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("request-closed")
    assert "erased" in response.json()["detail"]
