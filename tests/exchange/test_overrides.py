"""The safety override (art. 7) over mTLS: validation, vier-ogen, follow-up and review (issue 6).

The whole flow between two partners and two officers, with exact metric values, is in
tests/e2e/test_override_flow.py; this module checks each behaviour on the shared server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from exchange import override_hold
from exchange.crypto import decrypt_as_recipient
from exchange.models import Message, OutboxItem
from exchange.override_metrics import OverrideCollector, families
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import (
    consent_body,
    disclosure_body,
    inbox_item,
    private_key,
    register_consent,
    send,
)
from tests.support import (
    FOUR_EYES,
    JGZ,
    MUNICIPALITY,
    SCHOOL,
    YOUTH_CARE,
    DevEnv,
    client_context,
    new_bsn,
)

Client = Callable[[str], httpx.Client]

JUSTIFICATION = (
    "Moeder meldt dat vader het kind vannacht heeft geslagen; de school ziet blauwe plekken en het kind "
    "durft niet naar huis. Jeugdbescherming moet vandaag meekijken om de veiligheid te regelen."
)
SECOND = {"professional": {"id": "p-200", "name": "Bram Bakker", "role": "gedragswetenschapper"}}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
            {"name": "Karin Jansen", "role": "aandachtsfunctionaris", "consulted_at": now().isoformat()}
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


def register_entries(engine: Engine, disclosure_id: str) -> list[RegisterEntry]:
    with Session(engine) as session:
        return list(session.exec(select(RegisterEntry).where(RegisterEntry.disclosure_id == disclosure_id)))


def violations(response: httpx.Response) -> set[tuple[str, str]]:
    return {(v["code"], v["article"]) for v in response.json()["violations"]}


def notices_about(client: httpx.Client, message_id: str) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = client.get("/v1/inbox", params={"cursor": cursor, "limit": 500} if cursor else {"limit": 500})
        items += [
            i for i in page.json()["items"] if i["kind"] == "notice" and i.get("in_reply_to") == message_id
        ]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


# --- sending an override ---------------------------------------------------------------------


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
    discussion = {"held": True, "summary": "Met moeder besproken; zij blijft weigeren uit angst voor vader."}
    accepted = override_send(sender, bsn, YOUTH_CARE, refusal_discussion=discussion)
    assert accepted.status_code == 202, accepted.text
    message_id = accepted.json()["id"]
    item = inbox_item(client_for(YOUTH_CARE), message_id)
    assert item["legal_basis"] == {"type": "override"}
    assert json.loads(decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, YOUTH_CARE)))["phone"]
    entry = next(e for e in register_entries(engine, message_id) if e.kind == "disclosure_sent")
    basis = entry.content["legal_basis"]
    assert entry.legal_basis == "override"
    assert basis["ground"] == "art7_3_refused_consent"
    assert basis["justification"] == JUSTIFICATION
    assert basis["consulted"][0]["name"] == "Karin Jansen"
    assert all(basis["conditions"].values()) and len(basis["conditions"]) == 5
    assert basis["inform_subject"] == {"planned": True}
    assert basis["refusal_discussion"] == discussion
    assert basis["refusal_on_record"] is True


def test_no_refusal_on_record_is_recorded_but_does_not_block(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    # The refusal may have been oral and never registered: the override goes, and the officer sees it.
    accepted = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE)
    assert accepted.status_code == 202, accepted.text
    entry = next(e for e in register_entries(engine, accepted.json()["id"]) if e.kind == "disclosure_sent")
    assert entry.content["legal_basis"]["refusal_on_record"] is False
    queue = anonymous.get(
        "/v1/overrides", params={"status": "pending_review"}, headers=dev_env.officer_headers(SCHOOL)
    ).json()["items"]
    item = next(o for o in queue if o["id"] == accepted.json()["id"])
    assert item["refusal_on_record"] is False
    assert item["legal_basis"]["refusal_on_record"] is False


def test_a_withdrawn_consent_counts_as_a_refusal_on_record(client_for: Client, engine: Engine) -> None:
    bsn = new_bsn()
    sender = client_for(SCHOOL)
    consent_id = register_consent(sender, consent_body(bsn, YOUTH_CARE, ["safety", "family_composition"]))
    withdrawn = sender.post(
        f"/v1/consents/{consent_id}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": "cd" * 32},
    )
    assert withdrawn.status_code in (200, 201), withdrawn.text
    accepted = override_send(sender, bsn, YOUTH_CARE)
    assert accepted.status_code == 202, accepted.text
    entry = next(e for e in register_entries(engine, accepted.json()["id"]) if e.kind == "disclosure_sent")
    assert entry.content["legal_basis"]["refusal_on_record"] is True


def test_an_incomplete_override_is_refused_listing_every_missing_element(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        ground="because",
        justification="x" * 150,
        conditions={"urgent_safety_need": True, "own_care_insufficient": "yes", "extra": True},
        consulted=[],
        inform_subject=None,
    )
    assert response.status_code == 422
    found = violations(response)
    assert ("override_ground_invalid", "7.3") in found
    assert ("justification_insufficient", "7.7") in found
    assert ("consultation_missing", "7.6") in found
    assert ("inform_subject_missing", "7.4") in found
    assert ("condition_unknown", "7.3") in found
    by_code: dict[str, list[str]] = {}
    for v in response.json()["violations"]:
        by_code.setdefault(v["code"], []).append(v["message"])
    assert len(by_code["condition_missing"]) == 3  # the three absent ones
    assert (
        len(by_code["condition_not_affirmed"]) == 1
        and "own_care_insufficient" in by_code["condition_not_affirmed"][0]
    )


def test_a_type_error_does_not_hide_the_other_missing_elements(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        ground=None,
        consulted=[{"name": "Karin Jansen", "role": "aandachtsfunctionaris", "consulted_at": "gisteren"}],
        inform_subject={"planned": "yes"},
    )
    assert response.status_code == 422
    assert violations(response) == {
        ("override_ground_invalid", "7.3"),
        ("consulted_at_invalid", "7.6"),
        ("inform_subject_invalid", "7.4"),
    }
    assert all(v["article"] for v in response.json()["violations"])


@pytest.mark.parametrize("planned", ["yes", 1, "true"])
def test_planned_must_be_the_boolean_true(client_for: Client, planned: object) -> None:
    response = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE, inform_subject={"planned": planned})
    assert response.status_code == 422
    assert violations(response) == {("inform_subject_invalid", "7.4")}


@pytest.mark.parametrize(
    "consulted_at",
    [
        "2001-01-01T00:00:00",
        "2001-01-01T00:00:00Z",
        (dt.datetime.now() - dt.timedelta(minutes=5)).isoformat(),
    ],
    ids=["naive-and-old", "old", "naive-local"],
)
def test_a_consultation_time_needs_an_offset_and_must_be_recent(
    client_for: Client, consulted_at: str
) -> None:
    consulted = [{"name": "Karin Jansen", "role": "aandachtsfunctionaris", "consulted_at": consulted_at}]
    response = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE, consulted=consulted)
    assert response.status_code == 422
    assert violations(response) == {("consulted_at_invalid", "7.6")}


def test_consulting_only_yourself_is_not_consultation(client_for: Client) -> None:
    consulted = [{"name": "anna de vries", "role": "jeugdverpleegkundige", "consulted_at": now().isoformat()}]
    response = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE, consulted=consulted)
    assert response.status_code == 422
    assert "consulted_self" in {v["code"] for v in response.json()["violations"]}


def test_a_waiver_needs_a_ground_and_a_real_explanation(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        inform_subject={"waived": True, "waiver_ground": "convenience", "explanation": "."},
    )
    assert response.status_code == 422
    assert violations(response) == {("waiver_ground_invalid", "7.5"), ("waiver_explanation_missing", "7.7")}


def test_a_refusal_discussion_is_checked_when_given(client_for: Client) -> None:
    response = override_send(
        client_for(SCHOOL),
        new_bsn(),
        YOUTH_CARE,
        ground="art7_5_not_asked_safety",
        refusal_discussion={"held": True, "summary": "Besproken met moeder, zij blijft bij haar weigering."},
    )
    assert response.status_code == 422
    assert violations(response) == {("refusal_discussion_not_applicable", "7.1")}


# --- review (art. 7.7) ----------------------------------------------------------------------


def review(anonymous: httpx.Client, override_id: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return anonymous.post(
        f"/v1/overrides/{override_id}/review",
        json={"verdict": "justified", "note": "Voorwaarden onderbouwd.", **body},
        headers=headers,
    )


def test_follow_up_and_review_by_the_senders_officer(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(SCHOOL)
    override_id = override_send(sender, bsn, YOUTH_CARE).json()["id"]
    school_officer = dev_env.officer_headers(SCHOOL, "Fg School")
    other_officer = dev_env.officer_headers(MUNICIPALITY, "Fg Gemeente")
    recipient_officer = dev_env.officer_headers(YOUTH_CARE, "Fg Jeugdbescherming")
    central = dev_env.officer_headers("meerpunt", "Fg Meerpunt")

    queue = anonymous.get("/v1/overrides", params={"status": "pending_review"}, headers=school_officer).json()
    mine = next(o for o in queue["items"] if o["id"] == override_id)
    assert mine["reviewable"] is True
    # The queue of an officer holds only what their own organisation sent: not the recipient's
    # officer (who could not review it), nor anyone else's.
    for headers in (other_officer, recipient_officer):
        listed = anonymous.get("/v1/overrides", params={"status": "all"}, headers=headers).json()["items"]
        assert override_id not in [o["id"] for o in listed]
    assert review(anonymous, override_id, other_officer).status_code == 404
    refused = review(anonymous, override_id, recipient_officer)
    assert refused.status_code == 403 and refused.json()["type"].endswith("review-not-allowed")
    empty = review(anonymous, override_id, school_officer, note=" ")
    assert empty.status_code == 422 and violations(empty) == {("note_missing", "7.7")}
    reviewed = review(
        anonymous, override_id, school_officer, verdict="not_justified", note="Eerst Veilig Thuis raadplegen."
    )
    assert reviewed.status_code == 200
    after = anonymous.get("/v1/overrides", params={"status": "reviewed"}, headers=central).json()["items"]
    item = next(o for o in after if o["id"] == override_id)
    assert item["review"]["verdict"] == "not_justified"
    assert item["reviewable"] is False
    assert item["inform_subject"]["status"] == "planned"

    # The verdict is final: neither the same officer nor the central one can overwrite it.
    for headers, verdict in (
        (school_officer, "justified"),
        (central, "justified"),
        (central, "not_justified"),
    ):
        again = review(anonymous, override_id, headers, verdict=verdict)
        assert again.status_code == 409
        assert again.json()["type"].endswith("override-already-reviewed")
    kinds = [e.kind for e in register_entries(engine, override_id)]
    assert kinds.count("override_reviewed") == 1
    reviewed_entry = next(e for e in register_entries(engine, override_id) if e.kind == "override_reviewed")
    assert reviewed_entry.content["details"]["verdict"] == "not_justified"

    # Art. 7.4: the sender records that the parents were informed; another partner cannot.
    informed = {
        "informed_at": now().isoformat(),
        "how": "Telefonisch gesprek met moeder",
        "by": "Anna de Vries",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
    }
    assert (
        client_for(YOUTH_CARE)
        .post(f"/v1/overrides/{override_id}/subject-informed", json=informed)
        .status_code
        == 404
    )
    done = sender.post(f"/v1/overrides/{override_id}/subject-informed", json=informed)
    assert done.status_code == 200, done.text
    again = sender.post(f"/v1/overrides/{override_id}/subject-informed", json=informed)
    assert again.status_code == 409 and again.json()["type"].endswith("already-informed")
    entry = next(e for e in register_entries(engine, override_id) if e.kind == "subject_informed")
    assert entry.content["professional"] == informed["professional"]
    assert entry.content["details"]["how"] == "Telefonisch gesprek met moeder"
    # Citizens never see the queue.
    assert anonymous.get("/v1/overrides", headers=dev_env.citizen_headers(bsn)).status_code == 403


def test_a_partner_system_lists_only_its_own_overrides(client_for: Client) -> None:
    override_id = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE).json()["id"]

    def listed(oin: str) -> list[str]:
        response = client_for(oin).get("/v1/overrides", params={"status": "all", "limit": 500})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert override_id in listed(SCHOOL)
    # Neither the recipient nor an uninvolved partner sees the sender's justification.
    assert override_id not in listed(YOUTH_CARE)
    assert override_id not in listed(MUNICIPALITY)


def race(*calls: Callable[[], httpx.Response]) -> list[int]:
    """Run the calls at the same moment, one thread each; their status codes, sorted."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []

    def run(call: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        codes.append(call().status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


def connected(client: httpx.Client) -> httpx.Client:
    client.get("/healthz")  # the TLS handshake is done before the race starts
    return client


def test_simultaneous_reviews_record_one_verdict(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, server: Any, engine: Engine
) -> None:
    """The sender's officer and the central officer review at the same moment: one verdict stands."""
    with httpx.Client(base_url=server.base_url, verify=client_context(dev_env), timeout=30) as second:
        first = connected(anonymous)
        connected(second)
        for _ in range(4):
            override_id = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE).json()["id"]
            codes = race(
                partial(review, first, override_id, dev_env.officer_headers(SCHOOL), verdict="justified"),
                partial(
                    review, second, override_id, dev_env.officer_headers("meerpunt"), verdict="not_justified"
                ),
            )
            assert codes == [200, 409]
            assert [e.kind for e in register_entries(engine, override_id)].count("override_reviewed") == 1


# --- informing the subject (art. 7.4) -------------------------------------------------------


def test_informed_at_must_be_aware_and_after_the_decision(client_for: Client) -> None:
    sender = client_for(SCHOOL)
    override_id = override_send(sender, new_bsn(), YOUTH_CARE).json()["id"]
    url = f"/v1/overrides/{override_id}/subject-informed"
    cases = {
        (now() - dt.timedelta(days=2)).isoformat(): "before the override",
        dt.datetime.now().replace(microsecond=0).isoformat(): "offset",  # naive: not "in the future"
        (now() + dt.timedelta(hours=1)).isoformat(): "future",
        "vanochtend": "RFC 3339",
    }
    for informed_at, problem in cases.items():
        response = sender.post(url, json={"informed_at": informed_at, "how": "gesprek", "by": "Anna"})
        assert response.status_code == 422, informed_at
        [violation] = response.json()["violations"]
        assert (violation["code"], violation["article"]) == ("informed_at_invalid", "7.4")
        assert problem in violation["message"]
    missing = sender.post(url, json={})
    assert violations(missing) == {
        ("informed_at_invalid", "7.4"),
        ("informed_how_missing", "7.4"),
        ("informed_by_missing", "7.4"),
    }


def test_a_waived_obligation_cannot_be_closed_as_informed(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    sender = client_for(SCHOOL)
    waived = {
        "waived": True,
        "waiver_ground": "safety",
        "explanation": "Vader leest de post en de telefoon van moeder; informeren brengt haar in gevaar.",
    }
    override_id = override_send(sender, new_bsn(), YOUTH_CARE, inform_subject=waived).json()["id"]
    response = sender.post(
        f"/v1/overrides/{override_id}/subject-informed",
        json={"informed_at": now().isoformat(), "how": "brief", "by": "Anna"},
    )
    assert response.status_code == 409 and response.json()["type"].endswith("override-inform-waived")
    queue = anonymous.get("/v1/overrides", params={"status": "all"}, headers=dev_env.officer_headers(SCHOOL))
    item = next(o for o in queue.json()["items"] if o["id"] == override_id)
    assert item["inform_subject"]["status"] == "waived"


def test_open_information_obligations_become_overdue(
    client_for: Client,
    dev_env: DevEnv,
    anonymous: httpx.Client,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    override_id = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE).json()["id"]
    officer = dev_env.officer_headers(SCHOOL)
    overdue = anonymous.get("/v1/overrides", params={"status": "overdue"}, headers=officer).json()["items"]
    assert override_id not in [o["id"] for o in overdue]
    later = now() + dt.timedelta(days=runtime.settings.override_inform_overdue_days + 1)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    overdue = anonymous.get(
        "/v1/overrides", params={"status": "overdue", "limit": 500}, headers=officer
    ).json()
    item = next(o for o in overdue["items"] if o["id"] == override_id)
    assert item["inform_subject"]["overdue"] is True


# --- vier-ogen (art. 7.6) -------------------------------------------------------------------


def test_four_eyes_holds_registers_and_tells_colleagues_until_a_second_professional_approves(
    client_for: Client, engine: Engine, runtime: Runtime, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    sender = client_for(FOUR_EYES)
    held = override_send(sender, bsn, JGZ)
    assert held.status_code == 202
    assert held.json()["status"] == "awaiting_approval"
    override_id = held.json()["id"]
    # Registered at once, with the whole decision, but not as if the recipient got anything.
    [held_entry] = register_entries(engine, override_id)
    assert held_entry.kind == "override_held" and held_entry.id == held.json()["register_entry"]
    assert held_entry.recipient is None
    assert held_entry.content["details"]["intended_recipient"] == JGZ
    assert held_entry.content["legal_basis"]["justification"] == JUSTIFICATION
    first_receipt = runtime.signer.verify(held.json()["receipt"])
    assert first_receipt["status"] == "awaiting_approval"
    # The sender's own inbox says a second professional is needed; nothing reaches the recipient.
    [notice] = notices_about(sender, override_id)
    assert "second professional" in notice["reason"] and notice["subject"] == {"bsn": bsn}
    assert override_id not in [
        i["id"] for i in client_for(JGZ).get("/v1/inbox", params={"limit": 500}).json()["items"]
    ]
    # Nobody can review or close what has not been sent.
    officer = dev_env.officer_headers(FOUR_EYES)
    not_sent = review(anonymous, override_id, officer)
    assert not_sent.status_code == 409 and not_sent.json()["type"].endswith("override-not-sent")
    # The intended recipient received nothing, so its officer is not told the override exists.
    assert review(anonymous, override_id, dev_env.officer_headers(JGZ)).status_code == 404
    informed = sender.post(
        f"/v1/overrides/{override_id}/subject-informed",
        json={"informed_at": now().isoformat(), "how": "gesprek", "by": "Anna"},
    )
    assert informed.status_code == 409 and informed.json()["type"].endswith("override-not-sent")
    queue = anonymous.get("/v1/overrides", params={"status": "pending_review"}, headers=officer).json()[
        "items"
    ]
    assert override_id not in [o["id"] for o in queue]

    same_person = {"professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"}}
    refused = sender.post(f"/v1/overrides/{override_id}/approve", json=same_person)
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["code"] == "four_eyes_same_professional"
    # Another id but the same person is not a second pair of eyes.
    same_name = {"professional": {"id": "p-999", "name": "ANNA de Vries", "role": "teamleider"}}
    assert sender.post(f"/v1/overrides/{override_id}/approve", json=same_name).json()["violations"][0][
        "code"
    ] == ("four_eyes_same_professional")
    other_partner = client_for(SCHOOL).post(f"/v1/overrides/{override_id}/approve", json=SECOND)
    assert other_partner.status_code == 404
    approved = sender.post(f"/v1/overrides/{override_id}/approve", json=SECOND)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "accepted"
    # A new receipt: accepted, naming the disclosure_sent entry; also on the status.
    receipt = runtime.signer.verify(approved.json()["receipt"])
    assert set(receipt) == set(first_receipt)
    assert receipt["status"] == "accepted" and receipt["register_entry"] == approved.json()["register_entry"]
    status = sender.get(f"/v1/disclosures/{override_id}").json()
    assert status["receipt"] == approved.json()["receipt"]
    assert status["register_entry"] == approved.json()["register_entry"]
    assert inbox_item(client_for(JGZ), override_id)["kind"] == "disclosure"
    again = sender.post(f"/v1/overrides/{override_id}/approve", json=SECOND)
    assert again.status_code == 409 and again.json()["type"].endswith("override-not-awaiting-approval")
    kinds = sorted(e.kind for e in register_entries(engine, override_id))
    assert kinds == ["disclosure_approved", "disclosure_sent", "override_held"]
    # Now it is reviewable.
    assert review(anonymous, override_id, officer).status_code == 200


def test_a_held_override_expires_at_its_deadline_and_the_sender_is_told(
    client_for: Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(FOUR_EYES)
    override_id = override_send(sender, bsn, JGZ).json()["id"]
    later = now() + dt.timedelta(seconds=runtime.settings.override_hold_seconds + 60)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    # Right at once, before any sweep records it.
    assert sender.get(f"/v1/disclosures/{override_id}").json()["status"] == "expired"
    override_hold.sweep(runtime)
    override_hold.sweep(runtime)  # a second sweep changes nothing
    expired = [e for e in register_entries(engine, override_id) if e.kind == "disclosure_expired"]
    assert len(expired) == 1
    assert expired[0].recipient is None and expired[0].content["details"]["intended_recipient"] == JGZ
    notices = [
        n for n in notices_about(sender, override_id) if n["description"] == override_hold.EXPIRED_NOTICE
    ]
    assert len(notices) == 1 and "Nothing was sent" in notices[0]["reason"]
    refused = sender.post(f"/v1/overrides/{override_id}/approve", json=SECOND)
    assert refused.status_code == 409 and refused.json()["type"].endswith("override-hold-expired")
    assert "disclosure_sent" not in [e.kind for e in register_entries(engine, override_id)]
    # The intended recipient's register shows nothing about it.
    with Session(engine) as session:
        visible_to_jgz = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == override_id, RegisterEntry.recipient == JGZ
            )
        ).all()
    assert visible_to_jgz == []


def test_approving_after_the_deadline_records_the_expiry(
    client_for: Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    sender = client_for(FOUR_EYES)
    override_id = override_send(sender, new_bsn(), JGZ).json()["id"]
    later = now() + dt.timedelta(seconds=runtime.settings.override_hold_seconds + 60)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    refused = sender.post(f"/v1/overrides/{override_id}/approve", json=SECOND)
    assert refused.status_code == 409 and refused.json()["type"].endswith("override-hold-expired")
    assert [e.kind for e in register_entries(engine, override_id)].count("disclosure_expired") == 1


def test_simultaneous_approvals_send_once(client_for: Client, engine: Engine) -> None:
    """Two colleagues approve at the same moment: one 200, one 409, one delivery (PostgreSQL too)."""
    third = {"professional": {"id": "p-300", "name": "Cor de Wit", "role": "teamleider"}}
    one, other = connected(client_for(FOUR_EYES)), connected(client_for(FOUR_EYES))
    for _ in range(4):
        override_id = override_send(one, new_bsn(), JGZ).json()["id"]
        url = f"/v1/overrides/{override_id}/approve"
        codes = race(partial(one.post, url, json=SECOND), partial(other.post, url, json=third))
        assert codes == [200, 409]
        kinds = [e.kind for e in register_entries(engine, override_id)]
        assert kinds.count("disclosure_sent") == 1 and kinds.count("disclosure_approved") == 1
        with Session(engine) as session:
            assert (
                len(session.exec(select(OutboxItem).where(OutboxItem.message_id == override_id)).all()) == 1
            )


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
    informed = client_for(JGZ).post(
        f"/v1/overrides/{item['id']}/subject-informed",
        json={"informed_at": now().isoformat(), "how": "brief", "by": "Anna"},
    )
    assert informed.status_code == 409 and informed.json()["type"].endswith("not-an-override")
    bad = dict(basis, ground="because_i_say_so")
    refused = send(client_for(JGZ), disclosure_body(new_bsn(), YOUTH_CARE, ["safety"], legal_basis=bad))
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["code"] == "statutory_ground_invalid"


# --- metrics --------------------------------------------------------------------------------


def test_override_metrics_survive_a_database_error(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(runtime, engine=create_engine("sqlite://"))  # no tables at all
    assert list(OverrideCollector(broken).collect()) == []
    assert "override metrics" in caplog.text


def test_override_metric_families_from_grouped_rows() -> None:
    rows = [
        (SCHOOL, "override", "art7_3_refused_consent", "not_required", "reviewed", "justified", 0, 2),
        (SCHOOL, "override", "art7_3_refused_consent", "not_required", "pending_review", "", 1, 3),
        (SCHOOL, "override", "art7_3_refused_consent", "expired", "pending_review", "", 0, 5),
        (FOUR_EYES, "override", "art7_5_not_asked_safety", "approved", "reviewed", "not_justified", 0, 1),
    ]
    by_name = {family.name: family for family in families(rows)}
    sent = {tuple(s.labels.values()): s.value for s in by_name["meerpunt_overrides"].samples}
    assert sent == {
        (SCHOOL, "override", "art7_3_refused_consent"): 5,  # the five expired holds were never sent
        (FOUR_EYES, "override", "art7_5_not_asked_safety"): 1,
    }
    reviews = {tuple(s.labels.values()): s.value for s in by_name["meerpunt_override_reviews"].samples}
    assert reviews == {
        (SCHOOL, "override", "art7_3_refused_consent", "justified"): 2,
        (FOUR_EYES, "override", "art7_5_not_asked_safety", "not_justified"): 1,
    }
    overdue = {s.labels["partner"]: s.value for s in by_name["meerpunt_overrides_inform_overdue"].samples}
    assert overdue == {SCHOOL: 3, FOUR_EYES: 0}


def test_held_message_rows_are_not_in_the_recipients_inbox(client_for: Client, engine: Engine) -> None:
    override_id = override_send(client_for(FOUR_EYES), new_bsn(), JGZ).json()["id"]
    with Session(engine) as session:
        message = session.exec(select(Message).where(Message.id == override_id)).one()
    assert message.status == "awaiting_approval"
    assert client_for(JGZ).post(f"/v1/inbox/{override_id}/ack").status_code == 404


def test_reading_the_review_queue_is_registered(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    """The queue shows justifications and professionals: each read is a register entry (NEN 7513)."""
    sent = override_send(client_for(SCHOOL), new_bsn(), YOUTH_CARE)
    assert sent.status_code == 202, sent.text
    officer = dev_env.officer_headers(SCHOOL, name="queue-reader")
    listed = anonymous.get("/v1/overrides", params={"status": "pending_review"}, headers=officer)
    assert listed.status_code == 200
    shown = len(listed.json()["items"])
    assert shown >= 1
    with Session(engine) as session:
        reads = [
            entry
            for entry in session.exec(select(RegisterEntry).where(RegisterEntry.kind == "register_accessed"))
            if entry.content["details"].get("action") == "override_queue"
            and entry.content["details"].get("actor_name") == "queue-reader"
        ]
    assert len(reads) == 1
    assert reads[0].actor_org == SCHOOL
    assert reads[0].content["details"]["returned"] == shown
