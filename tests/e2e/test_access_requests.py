"""Citizens' right of access (art. 10, 16) end to end with tokens and certificates from `init`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from audit.access.rules import Relationship, due_date, eligibility
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.exchange.test_overrides import override_basis
from tests.support import JGZ, SCHOOL, YOUTH_CARE, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]
DESK = {"id": "d-1", "name": "Baliemedewerker JGZ", "role": "baliemedewerker"}


def birth_date(years: int, days: int = 0) -> str:
    today = dt.date.today()
    return (today.replace(year=today.year - years) - dt.timedelta(days=days)).isoformat()


def lodge(anonymous: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return anonymous.post("/v1/subject-access-requests", json=body, headers=headers)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 15), dt.date(2026, 4, 15)),
        (dt.date(2026, 12, 31), dt.date(2027, 1, 31)),
        (dt.date(2026, 8, 31), dt.date(2026, 9, 30)),
    ],
)
def test_due_date_is_one_calendar_month(received: dt.date, due: dt.date) -> None:
    assert due_date(received) == due


@pytest.mark.parametrize(
    ("relationship", "age", "outcome"),
    [
        (Relationship.SELF, 11, "forbidden"),
        (Relationship.SELF, 12, "needs_representative"),
        (Relationship.SELF, 15, "needs_representative"),
        (Relationship.SELF, 16, "allowed"),
        (Relationship.PARENT_WITH_AUTHORITY, 8, "allowed"),
        (Relationship.GUARDIAN, 11, "allowed"),
        (Relationship.PARENT_WITH_AUTHORITY, 12, "needs_youth"),
        (Relationship.PARENT_WITH_AUTHORITY, 16, "forbidden"),
        (Relationship.PARENT_WITH_AUTHORITY, None, "age_unknown"),
    ],
)
def test_who_may_ask_for_whom(relationship: Relationship, age: int | None, outcome: str) -> None:
    assert eligibility(relationship, age).outcome == outcome


def test_parent_of_an_eight_year_old_gets_the_full_report(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent, stranger = new_bsn(), new_bsn(), new_bsn()
    jgz, school = client_for(JGZ), client_for(SCHOOL)
    register_consent(jgz, consent_body(child, SCHOOL, ["contact", "health"], birth_date=birth_date(8)))
    register_consent(jgz, consent_body(child, YOUTH_CARE, ["help_request"], birth_date=birth_date(8)))
    first = send(jgz, disclosure_body(child, SCHOOL, ["contact", "health"])).json()["id"]
    send(jgz, disclosure_body(child, YOUTH_CARE, ["help_request"]))
    school.post(f"/v1/inbox/{first}/ack")
    override = send(school, disclosure_body(child, YOUTH_CARE, ["safety"], legal_basis=override_basis()))
    assert override.status_code == 202

    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert lodged.status_code == 202, lodged.text
    request = lodged.json()
    assert request["status"] == "pending_verification"  # gezag is not yet evidenced
    assert "verify" in request["status_message"]
    received = dt.date.today()
    assert request["due_date"] == due_date(received).isoformat()
    request_id = request["id"]

    # A stranger can neither read it nor its report.
    assert (
        anonymous.get(
            f"/v1/subject-access-requests/{request_id}", headers=dev_env.citizen_headers(stranger)
        ).status_code
        == 404
    )
    assert (
        anonymous.get(
            f"/v1/subject-access-requests/{request_id}/report", headers=dev_env.citizen_headers(stranger)
        ).status_code
        == 404
    )

    verified = jgz.post(f"/v1/subject-access-requests/{request_id}/verification", json={"professional": DESK})
    assert verified.json()["status"] == "pending_decision"
    parent_headers = dev_env.citizen_headers(parent)
    assert (
        anonymous.get(f"/v1/subject-access-requests/{request_id}/report", headers=parent_headers).status_code
        == 409
    )

    central = dev_env.officer_headers("meerpunt")
    refused = anonymous.post(
        f"/v1/subject-access-requests/{request_id}/decision", json={"decision": "refuse"}, headers=central
    )
    assert refused.status_code == 422
    assert {v["code"] for v in refused.json()["violations"]} == {
        "refusal_ground_missing",
        "motivation_missing",
    }
    # A partner's officer elsewhere may not decide it.
    other = dev_env.officer_headers(YOUTH_CARE)
    assert (
        anonymous.post(
            f"/v1/subject-access-requests/{request_id}/decision", json={"decision": "release"}, headers=other
        ).status_code
        == 404
    )
    released = anonymous.post(
        f"/v1/subject-access-requests/{request_id}/decision", json={"decision": "release"}, headers=central
    )
    assert released.status_code == 200, released.text

    report = anonymous.get(f"/v1/subject-access-requests/{request_id}/report", headers=parent_headers)
    assert report.status_code == 200
    body = report.json()
    assert body["subject"]["label"].endswith(child[-4:]) and child not in report.text
    disclosures = body["disclosures"]
    assert len(disclosures) == 3
    pairs = {(d["sender"]["oin"], d["recipient"]["oin"], d["legal_basis"]["type"]) for d in disclosures}
    assert pairs == {(JGZ, SCHOOL, "consent"), (JGZ, YOUTH_CARE, "consent"), (SCHOOL, YOUTH_CARE, "override")}
    acknowledged = next(d for d in disclosures if d["recipient"]["oin"] == SCHOOL)
    assert acknowledged["acknowledged"] is True
    assert {c["code"] for c in acknowledged["categories"]} == {"contact", "health"}
    assert len(body["consents"]) == 2
    assert {r["code"] for r in body["rights"]} >= {
        "correction",
        "erasure",
        "objection",
        "restriction",
        "portability",
        "complaint",
    }

    html = anonymous.get(f"/v1/subject-access-requests/{request_id}/report.html", headers=parent_headers)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in html.text
    assert "Lichamelijke gezondheid" in html.text
    assert "artikel 7 lid 3" in html.text
    assert not re.search(r"<(script|link|img)\b", html.text)


def test_a_fourteen_year_olds_request_needs_both(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, parent = new_bsn(), new_bsn()
    register_consent(
        client_for(JGZ),
        consent_body(youth, SCHOOL, ["education"], birth_date=birth_date(14))
        | {
            "signatories": [
                {"role": "parent_with_authority", "name": "Ouder Een"},
                {"role": "parent_with_authority", "name": "Ouder Twee"},
                {"role": "youth", "name": "Jongere"},
            ]
        },
    )
    lodged = lodge(
        anonymous, dev_env.citizen_headers(youth), {"subject_bsn": youth, "relationship": "self"}
    ).json()
    assert lodged["status"] == "pending_co_requester"
    assert "representative" in lodged["status_message"]
    request_id = lodged["id"]
    # The youth alone cannot confirm their own request as the second party.
    assert (
        anonymous.post(
            f"/v1/subject-access-requests/{request_id}/confirmation", headers=dev_env.citizen_headers(youth)
        ).status_code
        == 404
    )
    joined = anonymous.post(
        f"/v1/subject-access-requests/{request_id}/confirmation", headers=dev_env.citizen_headers(parent)
    )
    assert joined.status_code == 200
    assert joined.json()["status"] == "pending_verification"  # the parent's gezag still needs evidence
    verified = client_for(JGZ).post(
        f"/v1/subject-access-requests/{request_id}/verification", json={"professional": DESK}
    )
    assert verified.json()["status"] == "pending_decision"
    # Both can follow the request.
    for person in (youth, parent):
        assert (
            anonymous.get(
                f"/v1/subject-access-requests/{request_id}", headers=dev_env.citizen_headers(person)
            ).status_code
            == 200
        )


def test_under_twelve_cannot_ask_alone_and_sixteen_plus_not_through_a_parent(
    anonymous: httpx.Client, dev_env: DevEnv, client_for: Client
) -> None:
    child = new_bsn()
    refused = lodge(
        anonymous,
        dev_env.citizen_headers(child),
        {"subject_bsn": child, "relationship": "self", "subject_birth_date": birth_date(10)},
    )
    assert refused.status_code == 403
    assert refused.json()["violations"][0]["article"] == "16.1"
    adult = new_bsn()
    via_parent = lodge(
        anonymous,
        dev_env.citizen_headers(new_bsn()),
        {"subject_bsn": adult, "relationship": "parent_with_authority", "subject_birth_date": birth_date(17)},
    )
    assert via_parent.status_code == 403
    # Nobody can ask about someone else as "self".
    assert (
        lodge(
            anonymous, dev_env.citizen_headers(new_bsn()), {"subject_bsn": adult, "relationship": "self"}
        ).status_code
        == 403
    )


def test_partner_desk_lodges_a_written_request_and_a_refusal_is_motivated(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    subject = new_bsn()
    desk = client_for(JGZ)
    without = desk.post(
        "/v1/subject-access-requests",
        json={"subject_bsn": subject, "relationship": "self", "subject_birth_date": birth_date(30)},
    )
    assert without.status_code == 422
    lodged = desk.post(
        "/v1/subject-access-requests",
        json={
            "subject_bsn": subject,
            "relationship": "self",
            "subject_birth_date": birth_date(30),
            "verified_by": DESK,
        },
    )
    assert lodged.status_code == 202
    assert lodged.json()["status"] == "pending_decision"
    request_id = lodged.json()["id"]
    jgz_officer = dev_env.officer_headers(JGZ)
    decision = {
        "decision": "refuse",
        "ground": "art10_6_e",
        "motivation": "Inzage brengt de veiligheid van een ander in gevaar.",
    }
    assert (
        anonymous.post(
            f"/v1/subject-access-requests/{request_id}/decision", json=decision, headers=jgz_officer
        ).status_code
        == 200
    )
    status = desk.get(f"/v1/subject-access-requests/{request_id}").json()
    assert status["status"] == "refused" and status["ground"] == "art10_6_e"
    overdue = anonymous.get("/v1/subject-access-requests", params={"status": "overdue"}, headers=jgz_officer)
    assert overdue.status_code == 200


def test_overdue_requests_show_up_for_officers(
    anonymous: httpx.Client,
    dev_env: DevEnv,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    client_for: Client,
) -> None:
    subject = new_bsn()
    lodged = client_for(JGZ).post(
        "/v1/subject-access-requests",
        json={
            "subject_bsn": subject,
            "relationship": "self",
            "subject_birth_date": birth_date(40),
            "verified_by": DESK,
        },
    )
    request_id = lodged.json()["id"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    items = anonymous.get(
        "/v1/subject-access-requests",
        params={"status": "overdue"},
        headers=dev_env.officer_headers("meerpunt"),
    ).json()["items"]
    assert request_id in [item["id"] for item in items]
    assert anonymous.get("/metrics").text.count("meerpunt_access_requests_overdue") >= 1


def test_a_parent_who_signed_a_consent_is_recognised_as_representative(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    body = consent_body(child, SCHOOL, ["contact"], birth_date=birth_date(6))
    body["signatories"] = [
        {"role": "parent_with_authority", "name": "Moeder", "bsn": parent},
        {"role": "parent_with_authority", "name": "Vader"},
    ]
    register_consent(client_for(JGZ), body)
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert lodged.json()["status"] == "pending_decision"
    # The other parent, not identified on the form, still needs a professional's verification.
    other = lodge(
        anonymous,
        dev_env.citizen_headers(new_bsn()),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert other.json()["status"] == "pending_verification"
    bad = dict(body, signatories=[{"role": "parent_with_authority", "name": "Moeder", "bsn": "123456789"}])
    assert client_for(JGZ).post("/v1/consents", json=bad).status_code == 422
