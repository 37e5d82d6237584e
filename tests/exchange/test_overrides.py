"""The safety override (art. 7) end to end over mTLS: two partners, two officers (issue 6)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from exchange.crypto import decrypt_as_recipient
from tests.exchange.test_disclosures import (
    consent_body,
    disclosure_body,
    inbox_item,
    private_key,
    register_consent,
    send,
)
from tests.support import FOUR_EYES, JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]

JUSTIFICATION = (
    "Moeder meldt dat vader het kind vannacht heeft geslagen; de school ziet blauwe plekken en het kind "
    "durft niet naar huis. Jeugdbescherming moet vandaag meekijken om de veiligheid te regelen."
)


def override_basis(**change: Any) -> dict[str, Any]:
    basis: dict[str, Any] = {
        "type": "override",
        "ground": "art7_3_refused_consent",
        "justification": JUSTIFICATION,
        "conditions": {
            "urgent_safety_need": True,
            "own_care_insufficient": True,
            "other_party_needed": True,
            "disclosure_necessary": True,
            "law_permits": True,
        },
        "consulted": [
            {
                "name": "Karin Jansen",
                "role": "aandachtsfunctionaris",
                "consulted_at": dt.datetime.now(dt.UTC).isoformat(),
            }
        ],
        "inform_subject": {"planned": True},
    }
    basis.update(change)
    return basis


def override_send(client: httpx.Client, bsn: str, recipient: str, **basis_change: Any) -> httpx.Response:
    body = disclosure_body(
        bsn, recipient, ["safety", "family_composition"], legal_basis=override_basis(**basis_change)
    )
    return send(client, body)


def test_override_without_consent_is_delivered_and_fully_registered(
    client_for: Client, dev_env: DevEnv, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(SCHOOL)
    # Consent was asked and refused (art. 7.1-7.2): a normal send is blocked ...
    register_consent(sender, consent_body(bsn, YOUTH_CARE, ["safety", "family_composition"], granted=False))
    refused = send(sender, disclosure_body(bsn, YOUTH_CARE, ["safety", "family_composition"]))
    assert refused.status_code == 403
    assert {v["code"] for v in refused.json()["violations"]} == {"refused"}
    # ... but a complete override goes through (art. 7.3).
    accepted = override_send(sender, bsn, YOUTH_CARE)
    assert accepted.status_code == 202, accepted.text
    message_id = accepted.json()["id"]
    item = inbox_item(client_for(YOUTH_CARE), message_id)
    assert item["legal_basis"] == {"type": "override"}
    assert json.loads(decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, YOUTH_CARE)))["phone"]
    with Session(engine) as session:
        entry = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_sent"
            )
        ).one()
    basis = entry.content["legal_basis"]
    assert entry.legal_basis == "override"
    assert basis["ground"] == "art7_3_refused_consent"
    assert basis["justification"] == JUSTIFICATION
    assert basis["consulted"][0]["name"] == "Karin Jansen"
    assert all(basis["conditions"].values()) and len(basis["conditions"]) == 5
    assert basis["inform_subject"]["planned"] is True


def test_an_incomplete_override_is_refused_listing_every_missing_element(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        ground="because",
        justification="x" * 150,
        conditions={"urgent_safety_need": True, "own_care_insufficient": "yes"},
        consulted=[],
        inform_subject=None,
    )
    assert response.status_code == 422
    found = {(v["code"], v["article"]) for v in response.json()["violations"]}
    assert ("override_ground_invalid", "7.3") in found
    assert ("justification_insufficient", "7.7") in found
    assert ("consultation_missing", "7.6") in found
    assert ("inform_subject_missing", "7.4") in found
    missing = [v["message"] for v in response.json()["violations"] if v["code"] == "condition_not_affirmed"]
    assert len(missing) == 4  # own_care_insufficient ("yes" is not true) and the three absent ones


def test_consulting_only_yourself_is_not_consultation(client_for: Client) -> None:
    consulted = [
        {
            "name": "anna de vries",
            "role": "jeugdverpleegkundige",
            "consulted_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    ]
    response = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE, consulted=consulted)
    assert response.status_code == 422
    assert "consulted_self" in {v["code"] for v in response.json()["violations"]}


def test_a_waiver_needs_a_ground_and_explanation(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        inform_subject={"waived": True, "waiver_ground": "convenience"},
    )
    assert response.status_code == 422
    codes = {v["code"] for v in response.json()["violations"]}
    assert {"waiver_ground_invalid", "waiver_explanation_missing"} <= codes


def test_follow_up_and_review_by_two_officers(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    sender = client_for(SCHOOL)
    override_id = override_send(sender, bsn, YOUTH_CARE).json()["id"]
    school_officer = dev_env.officer_headers(SCHOOL, "Fg School")
    other_officer = dev_env.officer_headers(MUNICIPALITY, "Fg Gemeente")
    central = dev_env.officer_headers("meerpunt", "Fg Meerpunt")

    queue = anonymous.get("/v1/overrides", params={"status": "pending_review"}, headers=school_officer).json()
    assert override_id in [o["id"] for o in queue["items"]]
    assert override_id not in [
        o["id"]
        for o in anonymous.get("/v1/overrides", params={"status": "all"}, headers=other_officer).json()[
            "items"
        ]
    ]
    # The municipality's officer cannot review it; the school's officer can.
    assert (
        anonymous.post(
            f"/v1/overrides/{override_id}/review",
            json={"verdict": "justified", "note": "ok"},
            headers=other_officer,
        ).status_code
        == 404
    )
    assert (
        anonymous.post(
            f"/v1/overrides/{override_id}/review",
            json={"verdict": "justified", "note": " "},
            headers=school_officer,
        ).status_code
        == 422
    )
    reviewed = anonymous.post(
        f"/v1/overrides/{override_id}/review",
        json={"verdict": "not_justified", "note": "Eerst Veilig Thuis raadplegen."},
        headers=school_officer,
    )
    assert reviewed.status_code == 200
    after = anonymous.get("/v1/overrides", params={"status": "reviewed"}, headers=central).json()["items"]
    mine = next(o for o in after if o["id"] == override_id)
    assert mine["review"]["verdict"] == "not_justified"
    assert mine["inform_subject"]["status"] == "planned"

    # Art. 7.4: the sender records that the parents were informed; a partner without it cannot.
    informed = {
        "informed_at": dt.datetime.now(dt.UTC).isoformat(),
        "how": "Telefonisch gesprek met moeder",
        "by": "Anna de Vries",
    }
    assert (
        client_for(YOUTH_CARE)
        .post(f"/v1/overrides/{override_id}/subject-informed", json=informed)
        .status_code
        == 404
    )
    done = sender.post(f"/v1/overrides/{override_id}/subject-informed", json=informed)
    assert done.status_code == 200
    assert sender.post(f"/v1/overrides/{override_id}/subject-informed", json=informed).status_code == 409
    metrics = anonymous.get("/metrics").text
    assert (
        f'meerpunt_overrides_total{{basis="override",ground="art7_3_refused_consent",partner="{SCHOOL}"}}'
        in metrics
    )
    assert 'meerpunt_override_reviews_total{verdict="not_justified"}' in metrics
    # Citizens never see the queue.
    assert anonymous.get("/v1/overrides", headers=dev_env.citizen_headers(bsn)).status_code == 403


def test_open_information_obligations_become_overdue(
    client_for: Client,
    dev_env: DevEnv,
    anonymous: httpx.Client,
    runtime: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    override_id = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE).json()["id"]
    officer = dev_env.officer_headers(SCHOOL)
    overdue = anonymous.get("/v1/overrides", params={"status": "overdue"}, headers=officer).json()["items"]
    assert override_id not in [o["id"] for o in overdue]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=runtime.settings.override_inform_overdue_days + 1)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    overdue = anonymous.get("/v1/overrides", params={"status": "overdue"}, headers=officer).json()["items"]
    item = next(o for o in overdue if o["id"] == override_id)
    assert item["inform_subject"]["overdue"] is True


def test_four_eyes_holds_until_a_second_professional_approves(client_for: Client, engine: Engine) -> None:
    bsn = new_bsn()
    sender = client_for(FOUR_EYES)
    held = override_send(sender, bsn, JGZ)
    assert held.status_code == 202
    assert held.json()["status"] == "awaiting_approval"
    override_id = held.json()["id"]
    # Nothing reaches the recipient while held, and nothing is registered as sent.
    assert override_id not in [
        i["id"] for i in client_for(JGZ).get("/v1/inbox", params={"limit": 500}).json()["items"]
    ]
    same_person = {"professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"}}
    refused = sender.post(f"/v1/overrides/{override_id}/approve", json=same_person)
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["code"] == "four_eyes_same_professional"
    assert (
        client_for(SCHOOL)
        .post(
            f"/v1/overrides/{override_id}/approve",
            json={"professional": {"id": "p-9", "name": "X", "role": "y"}},
        )
        .status_code
        == 404
    )
    second = {"professional": {"id": "p-200", "name": "Bram Bakker", "role": "gedragswetenschapper"}}
    approved = sender.post(f"/v1/overrides/{override_id}/approve", json=second)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "accepted"
    assert inbox_item(client_for(JGZ), override_id)["kind"] == "disclosure"
    assert sender.post(f"/v1/overrides/{override_id}/approve", json=second).status_code == 409
    with Session(engine) as session:
        kinds = session.exec(
            select(RegisterEntry.kind).where(RegisterEntry.disclosure_id == override_id)
        ).all()
    assert sorted(kinds) == ["disclosure_approved", "disclosure_sent"]


def test_held_override_expires_and_is_never_sent(
    client_for: Client, runtime: Any, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    sender = client_for(FOUR_EYES)
    override_id = override_send(sender, new_bsn(), JGZ).json()["id"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=runtime.settings.override_hold_seconds + 60)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    second = {"professional": {"id": "p-200", "name": "Bram Bakker", "role": "gedragswetenschapper"}}
    expired = sender.post(f"/v1/overrides/{override_id}/approve", json=second)
    assert expired.status_code == 409
    assert sender.get(f"/v1/disclosures/{override_id}").json()["status"] == "expired"
    with Session(engine) as session:
        kinds = session.exec(
            select(RegisterEntry.kind).where(RegisterEntry.disclosure_id == override_id)
        ).all()
    assert "disclosure_sent" not in kinds and "disclosure_expired" in kinds


def test_statutory_ground_is_registered_and_reviewable(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    basis = {
        "type": "statutory",
        "ground": "wet_verplichte_meldcode_veilig_thuis",
        "justification": "Melding bij Veilig Thuis na stap vijf van de meldcode, "
        "vermoeden van kindermishandeling",
    }
    response = send(client_for(JGZ), disclosure_body(new_bsn(), YOUTH_CARE, ["safety"], legal_basis=basis))
    assert response.status_code == 202, response.text
    queue = anonymous.get(
        "/v1/overrides", params={"status": "pending_review"}, headers=dev_env.officer_headers(JGZ)
    )
    item = next(o for o in queue.json()["items"] if o["id"] == response.json()["id"])
    assert item["legal_basis"]["type"] == "statutory"
    bad = dict(basis, ground="because_i_say_so")
    refused = send(client_for(JGZ), disclosure_body(new_bsn(), YOUTH_CARE, ["safety"], legal_basis=bad))
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["code"] == "statutory_ground_invalid"
