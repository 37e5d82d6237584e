"""What the released report shows (art. 10.4): withheld entries (art. 10.6), partial withdrawals
(Bijlage VIII) and messages withdrawn by an erasure (art. 12), over the real API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.test_access_requests import URL, release, signed_consent
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.exchange.test_overrides import override_basis
from tests.support import JGZ, SCHOOL, YOUTH_CARE, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]
CENTRAL = "meerpunt"
WAIVED = {"waived": True, "waiver_ground": "safety", "explanation": "Vader mag niet weten dat school belde."}
CORRECTION_TEXT = "Het signaal kwam van de mentor, niet van de gymleraar"


def requested_by_parent(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv, child: str, parent: str
) -> str:
    """A parent named on a consent in force asks for the report of their 8-year-old."""
    response = anonymous.post(
        URL,
        json={"subject_bsn": child, "relationship": "parent_with_authority"},
        headers=dev_env.citizen_headers(parent),
    )
    assert response.json()["status"] == "pending_decision", response.text
    return str(response.json()["id"])


def report_of(anonymous: httpx.Client, dev_env: DevEnv, request_id: str, parent: str) -> dict[str, Any]:
    response = anonymous.get(f"{URL}/{request_id}/report", headers=dev_env.citizen_headers(parent))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_withholding_an_override_also_withholds_its_correction_and_is_counted(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    jgz, school = client_for(JGZ), client_for(SCHOOL)
    register_consent(jgz, signed_consent(child, 8, parent))
    register_consent(
        jgz,
        consent_body(
            child, YOUTH_CARE, ["contact"], birth_date=signed_consent(child, 8)["subject"]["birth_date"]
        ),
    )
    send(jgz, disclosure_body(child, YOUTH_CARE, ["contact"]))
    override = send(
        school,
        disclosure_body(child, YOUTH_CARE, ["safety"], legal_basis=override_basis(inform_subject=WAIVED)),
    )
    assert override.status_code == 202, override.text
    override_id = override.json()["id"]
    correction = school.post(
        f"/v1/disclosures/{override_id}/corrections",
        json={
            "description": CORRECTION_TEXT,
            "professional": {"id": "p-2", "name": "Mentor", "role": "mentor"},
            "payload": {"signaal": "mentor"},
        },
    )
    assert correction.status_code == 202, correction.text
    request_id = requested_by_parent(client_for, anonymous, dev_env, child, parent)

    central = dev_env.officer_headers(CENTRAL)
    view = anonymous.get(f"{URL}/{request_id}", headers=central).json()
    [candidate] = view["withholding_candidates"]
    assert candidate["reason"] == "override_inform_waived" and candidate["waiver_ground"] == "safety"
    override_entry = candidate["entry_id"]

    register = anonymous.get("/v1/register", params={"subject_bsn": child}, headers=central).json()["items"]
    received = next(e["id"] for e in register if e["kind"] == "consent_registered")
    decision = {"decision": "release", "ground": "art10_6_e", "motivation": "Veiligheid van het kind."}
    not_a_row = anonymous.post(
        f"{URL}/{request_id}/decision", json=decision | {"withheld_entries": [received]}, headers=central
    )
    assert not_a_row.status_code == 422
    assert [v["code"] for v in not_a_row.json()["violations"]] == ["withheld_entry_not_reportable"]

    released = anonymous.post(
        f"{URL}/{request_id}/decision",
        json=decision | {"withheld_entries": [override_entry]},
        headers=central,
    )
    assert released.status_code == 200, released.text
    report = report_of(anonymous, dev_env, request_id, parent)
    assert [(d["sender"]["oin"], d["kind"]) for d in report["disclosures"]] == [(JGZ, "disclosure")]
    assert report["withheld"]["count"] == 2  # the override and the correction passed on about it
    html = anonymous.get(f"{URL}/{request_id}/report.html", headers=dev_env.citizen_headers(parent)).text
    assert CORRECTION_TEXT not in html and "2 verstrekkingen" in html
    [decided] = [
        e
        for e in anonymous.get(
            "/v1/register", params={"subject_bsn": child, "kind": "access_request_decided"}, headers=central
        ).json()["items"]
    ]
    assert decided["details"]["withheld"] == 2


def test_a_partially_withdrawn_consent_shows_which_line_was_withdrawn(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    jgz = client_for(JGZ)
    body = signed_consent(child, 8, parent)
    body["grants"].append(
        {
            "recipient": YOUTH_CARE,
            "categories": ["help_request"],
            "purpose": "Hulp afstemmen",
            "granted": True,
        }
    )
    consent_id = register_consent(jgz, body)
    grants = jgz.get("/v1/consents", params={"subject_bsn": child}).json()["items"][0]["grants"]
    youth_care_grant = next(g["id"] for g in grants if g["recipient"] == YOUTH_CARE)
    withdrawn = jgz.post(
        f"/v1/consents/{consent_id}/withdrawal",
        json={
            "received_at": dt.datetime.now(dt.UTC).isoformat(),
            "grants": [youth_care_grant],
            "evidence_sha256": "cd" * 32,
        },
    )
    assert withdrawn.status_code == 201, withdrawn.text
    request_id = requested_by_parent(client_for, anonymous, dev_env, child, parent)
    assert release(anonymous, dev_env, request_id).status_code == 200
    [consent] = report_of(anonymous, dev_env, request_id, parent)["consents"]
    assert (consent["status"], consent["status_label"]) == ("partially_withdrawn", "gedeeltelijk ingetrokken")
    by_recipient = {g["recipient"]["oin"]: g for g in consent["grants"]}
    assert by_recipient[YOUTH_CARE]["status"] == "withdrawn" and by_recipient[YOUTH_CARE]["withdrawn_at"]
    assert by_recipient[SCHOOL]["status"] == "granted" and by_recipient[SCHOOL]["withdrawn_at"] is None
    html = anonymous.get(f"{URL}/{request_id}/report.html", headers=dev_env.citizen_headers(parent)).text
    assert "gedeeltelijk ingetrokken" in html and "Toestemming ingetrokken op" in html


def test_a_message_withdrawn_by_an_erasure_is_shown_as_erased_not_as_received(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    jgz = client_for(JGZ)
    register_consent(jgz, signed_consent(child, 8, parent))
    acknowledged = send(jgz, disclosure_body(child, SCHOOL, ["contact"])).json()["id"]
    assert client_for(SCHOOL).post(f"/v1/inbox/{acknowledged}/ack", json={}).status_code == 200
    assert send(jgz, disclosure_body(child, SCHOOL, ["contact"])).status_code == 202
    erased = anonymous.post(
        f"/v1/subjects/{child}/erasure",
        json={"ground": "art12_1_b"},
        headers=dev_env.officer_headers(CENTRAL),
    )
    assert erased.status_code == 200 and erased.json()["messages_withdrawn"] == 1
    request_id = requested_by_parent(client_for, anonymous, dev_env, child, parent)
    assert release(anonymous, dev_env, request_id).status_code == 200
    delivery = {
        d["id"]: (d["acknowledged"], d["delivery"])
        for d in report_of(anonymous, dev_env, request_id, parent)["disclosures"]
    }
    assert sorted(delivery.values()) == [(False, "erased"), (True, "acknowledged")]
    html = anonymous.get(f"{URL}/{request_id}/report.html", headers=dev_env.citizen_headers(parent)).text
    assert "Niet afgeleverd: gewist op" in html
