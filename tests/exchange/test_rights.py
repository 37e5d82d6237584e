"""Rights actions over the real mTLS server (issue 7, part 4): correction (art. 11.4), restriction
(art. 14) and erasure (art. 12)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.push import purge_expired_payloads
from audit.models import RegisterEntry
from audit.verify import verify_register
from exchange.corrections import EarlierDisclosure, correction_recipients, send_correction
from exchange.crypto import PayloadVault, decrypt_as_recipient, encrypt_for_recipient
from exchange.envelope import open_payload
from exchange.models import Message, OutboxItem, StoredPayload
from exchange.schemas import CorrectionIn
from exchange.subjects import ErasureIn, erase
from gateway.db import unit_of_work
from gateway.principals import OfficerPrincipal
from gateway.runtime import Runtime
from tests.exchange.conftest import Clock
from tests.exchange.test_delivery import ack, inbox_ids, partner, send_to
from tests.exchange.test_disclosures import (
    consent_body,
    disclosure_body,
    inbox_item,
    private_key,
    register_consent,
    send,
)
from tests.exchange.test_overrides import override_basis, override_send
from tests.support import FOUR_EYES, JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]

CORRECTED = {"summary": "Gezin met drie kinderen", "phone": "079-7654321"}
CENTRAL = "meerpunt"


def correction_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": "Telefoonnummer ouders was onjuist overgenomen; op verzoek van moeder verbeterd",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
        "payload": CORRECTED,
    }
    body.update(change)
    return body


def disclose(client_for: Client, sender: str, bsn: str, recipient: str, categories: list[str]) -> str:
    """A consented disclosure that was accepted; returns its id."""
    register_consent(client_for(sender), consent_body(bsn, recipient, categories))
    response = send(client_for(sender), disclosure_body(bsn, recipient, categories))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def correct(client: httpx.Client, disclosure_id: str, **change: Any) -> httpx.Response:
    return client.post(f"/v1/disclosures/{disclosure_id}/corrections", json=correction_body(**change))


def restrict(anonymous: httpx.Client, bsn: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return anonymous.post(
        f"/v1/subjects/{bsn}/restriction", json={"ground": "art14_1_a", **body}, headers=headers
    )


def register(engine: Engine, **where: Any) -> list[RegisterEntry]:
    with Session(engine) as session:
        query = select(RegisterEntry)
        for name, value in where.items():
            query = query.where(getattr(RegisterEntry, name) == value)
        return list(session.exec(query.order_by(col(RegisterEntry.seq))).all())


def messages(engine: Engine, **where: Any) -> list[Message]:
    with Session(engine) as session:
        query = select(Message)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return list(session.exec(query.order_by(col(Message.seq))).all())


# --- Who hears of a correction: the pure rule ----------------------------------------------------


def test_correction_goes_to_each_recipient_of_any_corrected_category_and_names_only_those() -> None:
    earlier = [
        EarlierDisclosure(SCHOOL, ["contact", "help_request"]),
        EarlierDisclosure(YOUTH_CARE, ["contact"]),
        EarlierDisclosure(MUNICIPALITY, ["education"]),
        EarlierDisclosure(SCHOOL, ["family_plan"]),
    ]
    assert correction_recipients(["help_request", "contact"], earlier) == {
        SCHOOL: ("help_request", "contact"),
        YOUTH_CARE: ("contact",),
    }
    assert correction_recipients(["family_plan"], earlier) == {SCHOOL: ("family_plan",)}
    assert correction_recipients(["health"], earlier) == {}


# --- Correction (art. 11.4) ----------------------------------------------------------------------


def test_a_correction_reaches_both_earlier_recipients_and_nobody_else(
    client_for: Client, dev_env: DevEnv, engine: Engine
) -> None:
    bsn = new_bsn()
    corrected_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    disclose(client_for, JGZ, bsn, YOUTH_CARE, ["contact"])
    # The municipality got other data about the child: the correction of `contact` is not its business.
    disclose(client_for, JGZ, bsn, MUNICIPALITY, ["help_request"])

    response = correct(client_for(JGZ), corrected_id)
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["id"] == corrected_id
    by_recipient = {c["recipient"]: c for c in result["corrections"]}
    assert set(by_recipient) == {SCHOOL, YOUTH_CARE}

    for oin, other in ((SCHOOL, YOUTH_CARE), (YOUTH_CARE, SCHOOL)):
        recipient = client_for(oin)
        item = inbox_item(recipient, by_recipient[oin]["id"])
        assert item["kind"] == "correction"
        assert item["sender"] == JGZ
        assert item["in_reply_to"] == corrected_id
        assert item["subject"] == {"bsn": bsn}
        assert item["categories"] == ["contact"]
        assert item["legal_basis"] == {"type": "correction"}
        assert json.loads(decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, oin))) == CORRECTED
        with pytest.raises(Exception):  # noqa: B017 - each copy opens only with its own recipient's key
            decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, other))
        # Recipients acknowledge a correction like a disclosure (art. 8.2).
        ack = recipient.post(f"/v1/inbox/{item['id']}/ack", json={})
        assert ack.status_code == 200, ack.text
        assert ack.json()["register_entry"]

    assert not messages(engine, kind="correction", in_reply_to=corrected_id, recipient=MUNICIPALITY)
    subject_hash = messages(engine, id=corrected_id)[0].subject_hash
    sent = register(engine, kind="correction_sent", subject_hash=subject_hash)
    assert {e.recipient for e in sent} == {SCHOOL, YOUTH_CARE}
    for entry in sent:
        assert entry.id == by_recipient[entry.recipient or ""]["register_entry"]
        assert entry.sender == JGZ
        assert entry.categories == ",contact,"
        assert entry.content["details"]["in_reply_to"] == corrected_id
        assert entry.content["description"].startswith("Telefoonnummer ouders")
    # The corrected plain payload is nowhere in the database.
    for message in messages(engine, kind="correction", in_reply_to=corrected_id):
        assert "079-7654321" not in json.dumps(message.model_dump(mode="json"))


def test_only_the_original_sender_may_correct(client_for: Client) -> None:
    bsn = new_bsn()
    corrected_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    for outsider in (SCHOOL, YOUTH_CARE):
        response = correct(client_for(outsider), corrected_id)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    unknown = correct(client_for(JGZ), "no-such-id")
    assert unknown.status_code == 404


def test_a_correction_can_narrow_its_categories_and_reaches_only_their_recipients(
    client_for: Client, engine: Engine
) -> None:
    bsn = new_bsn()
    corrected_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact", "help_request"])
    disclose(client_for, JGZ, bsn, YOUTH_CARE, ["contact"])
    response = correct(client_for(JGZ), corrected_id, categories=["help_request"])
    assert response.status_code == 202, response.text
    assert [c["recipient"] for c in response.json()["corrections"]] == [SCHOOL]
    [message] = messages(engine, kind="correction", in_reply_to=corrected_id)
    assert message.categories == ["help_request"]

    outside = correct(client_for(JGZ), corrected_id, categories=["health"])
    assert outside.status_code == 422
    assert [v["code"] for v in outside.json()["violations"]] == ["category_not_in_original"]


def test_a_held_override_was_never_disclosed_so_there_is_nobody_to_correct(client_for: Client) -> None:
    held = override_send(client_for(FOUR_EYES), new_bsn(), YOUTH_CARE)
    assert held.status_code == 202 and held.json()["status"] == "awaiting_approval"
    response = correct(client_for(FOUR_EYES), held.json()["id"])
    assert response.status_code == 409
    assert response.json()["type"].endswith("nothing-disclosed")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"description": " "}, "description_missing"),
        ({"payload": None}, "payload_missing"),
        ({"payload_jwe": "not-a-jwe", "payload": None}, "payload_jwe_malformed"),
        # The same payload rules as a disclosure (art. 5.2): not empty, not both.
        ({"payload": {}}, "payload_empty"),
        ({"payload": "  "}, "payload_empty"),
        ({"payload_jwe": "a.b.c.d.e"}, "payload_ambiguous"),
        ({"categories": []}, "categories_missing"),
    ],
)
def test_invalid_corrections_are_refused_naming_the_rule(
    client_for: Client, change: dict[str, Any], code: str
) -> None:
    corrected_id = disclose(client_for, JGZ, new_bsn(), SCHOOL, ["contact"])
    response = correct(client_for(JGZ), corrected_id, **change)
    assert response.status_code == 422, response.text
    assert code in [v["code"] for v in response.json()["violations"]]


def test_an_end_to_end_payload_is_only_accepted_for_a_single_recipient(
    client_for: Client, dev_env: DevEnv, runtime: Runtime
) -> None:
    bsn = new_bsn()
    corrected_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    school = runtime.partners.get(SCHOOL)
    assert school is not None and school.encryption_key is not None
    token = encrypt_for_recipient(b'{"phone": "079-1111111"}', school.encryption_key)
    single = correct(client_for(JGZ), corrected_id, payload=None, payload_jwe=token)
    assert single.status_code == 202, single.text
    item = inbox_item(client_for(SCHOOL), single.json()["corrections"][0]["id"])
    assert item["payload_jwe"] == token  # passed through untouched
    assert decrypt_as_recipient(token, private_key(dev_env, SCHOOL)) == b'{"phone": "079-1111111"}'

    disclose(client_for, JGZ, bsn, YOUTH_CARE, ["contact"])
    two = correct(client_for(JGZ), corrected_id, payload=None, payload_jwe=token)
    assert two.status_code == 422
    [violation] = two.json()["violations"]
    assert violation["code"] == "payload_jwe_needs_one_recipient"
    assert "send `payload`" in violation["message"].lower()


def test_after_the_retention_purge_the_sender_names_the_subject_and_a_wrong_bsn_is_refused(
    client_for: Client, engine: Engine
) -> None:
    bsn = new_bsn()
    corrected_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    with Session(engine) as session:  # what the purge worker does after acknowledgement + grace
        stored = session.get(StoredPayload, corrected_id)
        assert stored is not None
        stored.wrapped_key, stored.ciphertext = None, b""
        session.add(stored)
        session.commit()
    purged = correct(client_for(JGZ), corrected_id)
    assert purged.status_code == 409
    assert purged.json()["type"].endswith("original-purged")
    wrong = correct(client_for(JGZ), corrected_id, subject={"bsn": new_bsn()})
    assert wrong.status_code == 422
    assert [v["code"] for v in wrong.json()["violations"]] == ["subject_mismatch"]
    named = correct(client_for(JGZ), corrected_id, subject={"bsn": bsn})
    assert named.status_code == 202, named.text
    assert inbox_item(client_for(SCHOOL), named.json()["corrections"][0]["id"])["subject"] == {"bsn": bsn}


def test_a_correction_reaches_a_recipient_that_fetched_the_data_before_it_was_purged(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    """Art. 11.4: fetched but never acknowledged, then purged after the retention: it was received."""
    bsn = new_bsn()
    fetched = send_to(isolated_runtime, SCHOOL, bsn)
    assert fetched in inbox_ids(isolated_runtime, SCHOOL)
    send_to(isolated_runtime, YOUTH_CARE, bsn)  # never fetched: it never left the gateway
    clock.advance(days=isolated_runtime.settings.inbox_retention_days, seconds=1)
    assert purge_expired_payloads(isolated_runtime) == 2
    body = CorrectionIn.model_validate(correction_body(subject={"bsn": bsn}))
    with unit_of_work(isolated_runtime.engine) as session:
        result = send_correction(session, isolated_runtime, partner(isolated_runtime, JGZ), fetched, body)
    assert [c["recipient"] for c in result["corrections"]] == [SCHOOL]


# --- Restriction (art. 14) -----------------------------------------------------------------------


def test_restriction_blocks_consent_based_disclosures_until_it_is_lifted(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    jgz = client_for(JGZ)
    register_consent(jgz, consent_body(bsn, SCHOOL, ["contact"]))
    officer = dev_env.officer_headers(JGZ, "Fg JGZ")
    url = f"/v1/subjects/{bsn}/restriction"

    restricted = restrict(anonymous, bsn, officer, note="Moeder betwist juistheid")
    assert restricted.status_code == 201, restricted.text
    assert restricted.json()["subject"] == "*****" + bsn[-4:]
    assert restricted.json()["ground"] == "art14_1_a"
    again = restrict(anonymous, bsn, officer, ground="art14_1_d")
    assert again.status_code == 409

    refused = send(jgz, disclosure_body(bsn, SCHOOL, ["contact"]))
    assert refused.status_code == 403
    assert refused.json()["per_category"][0]["reason"] == "restricted"
    assert refused.json()["violations"][0]["article"] == "14"

    central = dev_env.officer_headers(CENTRAL, "Fg Meerpunt")
    lifted = anonymous.request(
        "DELETE",
        url,
        json={"note": "Gegevens gecontroleerd; moeder vooraf geïnformeerd (art. 14.3)"},
        headers=central,
    )
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["ends_at"] is not None
    assert send(jgz, disclosure_body(bsn, SCHOOL, ["contact"])).status_code == 202
    assert anonymous.delete(url, params={"note": "nog eens"}, headers=central).status_code == 404

    subject_hash = runtime.bsn_hash(bsn)
    [set_entry] = register(engine, subject_hash=subject_hash, kind="restriction_set")
    assert (set_entry.actor, set_entry.actor_org) == (f"officer:{JGZ}:Fg JGZ", JGZ)
    assert set_entry.reason == "art14_1_a"
    [lift_entry] = register(engine, subject_hash=subject_hash, kind="restriction_lifted")
    assert (lift_entry.actor, lift_entry.actor_org) == ("officer:meerpunt:Fg Meerpunt", None)
    assert bsn not in json.dumps(set_entry.content) + json.dumps(lift_entry.content)


def test_an_override_still_goes_through_while_restricted(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    officer = dev_env.officer_headers(CENTRAL)
    assert restrict(anonymous, bsn, officer, ground="art14_1_d").status_code == 201
    body = disclosure_body(bsn, YOUTH_CARE, ["safety"], legal_basis=override_basis())
    assert send(client_for(SCHOOL), body).status_code == 202


def test_an_override_while_restricted_is_flagged_in_the_register(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    bsn = new_bsn()
    officer = dev_env.officer_headers(CENTRAL)
    assert restrict(anonymous, bsn, officer, ground="art14_1_d").status_code == 201
    body = disclosure_body(bsn, YOUTH_CARE, ["safety"], legal_basis=override_basis())
    accepted = send(client_for(SCHOOL), body)
    assert accepted.status_code == 202
    [entry] = register(engine, disclosure_id=accepted.json()["id"], kind="disclosure_sent")
    assert entry.content["legal_basis"]["restricted"] is True


@pytest.mark.parametrize("bsn", ["123456789", "12345"])
def test_restriction_of_an_invalid_bsn_or_with_an_unknown_ground_is_refused(
    dev_env: DevEnv, anonymous: httpx.Client, bsn: str
) -> None:
    officer = dev_env.officer_headers(CENTRAL)
    response = restrict(anonymous, bsn, officer)
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["invalid_bsn"]
    unknown = restrict(anonymous, new_bsn(), officer, ground="art14_2")
    assert unknown.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "restriction", {"ground": "art14_1_a"}),
        ("DELETE", "restriction", None),
        ("POST", "erasure", {"ground": "art12_1_a"}),
    ],
)
def test_only_privacy_officers_restrict_or_erase(
    client_for: Client,
    dev_env: DevEnv,
    anonymous: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    bsn = new_bsn()
    url = f"/v1/subjects/{bsn}/{path}"
    # A partner system's certificate is not an officer's token.
    assert client_for(JGZ).request(method, url, json=body).status_code == 401
    assert anonymous.request(method, url, json=body).status_code == 401
    citizen = anonymous.request(method, url, json=body, headers=dev_env.citizen_headers(bsn))
    assert citizen.status_code == 403
    assert citizen.headers["content-type"] == "application/problem+json"


# --- Erasure (art. 12) ---------------------------------------------------------------------------


def test_erasure_shreds_every_payload_keeps_the_register_and_records_itself(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    acked = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    assert client_for(SCHOOL).post(f"/v1/inbox/{acked}/ack", json={}).status_code == 200
    waiting = disclose(client_for, JGZ, bsn, YOUTH_CARE, ["contact"])
    corrected = correct(client_for(JGZ), waiting)
    assert corrected.status_code == 202
    subject_hash = runtime.bsn_hash(bsn)
    ids = [m.id for m in messages(engine, subject_hash=subject_hash)]
    assert len(ids) == 4  # two disclosures, two corrections
    before = {e.id for e in register(engine, subject_hash=subject_hash)}

    response = anonymous.post(
        f"/v1/subjects/{bsn}/erasure",
        json={"ground": "art12_1_b", "note": "Toestemming ingetrokken; geen andere grondslag"},
        headers=dev_env.officer_headers(CENTRAL),
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["subject"] == "*****" + bsn[-4:]
    assert result["payloads_shredded"] == 4

    vault = PayloadVault(runtime.kek)
    with Session(engine) as session:
        for message_id in ids:
            assert open_payload(session, vault, message_id) is None
            stored = session.get(StoredPayload, message_id)
            assert stored is not None
            assert stored.wrapped_key is None and stored.ciphertext == b"" and stored.shredded_at is not None

    # Unacknowledged messages are withdrawn: out of the inbox and the outbox, not acknowledgeable;
    # their recipient gets a notice that names the withdrawn message and nothing about the subject.
    youth_care = client_for(YOUTH_CARE)
    inbox = youth_care.get("/v1/inbox", params={"limit": 500}).json()["items"]
    assert waiting not in [item["id"] for item in inbox]
    assert youth_care.post(f"/v1/inbox/{waiting}/ack", json={}).status_code == 404
    [notice] = [item for item in inbox if item.get("in_reply_to") == waiting]
    assert notice["kind"] == "notice" and notice["sender"] == JGZ
    assert notice["subject"] == {"bsn": None} and notice["categories"] == []
    assert "art. 12" in notice["reason"] and "Contactgegevens" not in json.dumps(notice)
    assert youth_care.post(f"/v1/inbox/{notice['id']}/ack", json={}).status_code == 200
    by_id = {m.id: m for m in messages(engine, subject_hash=subject_hash)}
    assert by_id[acked].status == "acknowledged"  # it arrived before the erasure
    assert {by_id[i].status for i in ids if i != acked} == {"erased"}
    with Session(engine) as session:
        states = session.exec(
            select(OutboxItem.message_id, OutboxItem.state).where(col(OutboxItem.message_id).in_(ids))
        ).all()
    assert {message_id: state for message_id, state in states if message_id != acked} == dict.fromkeys(
        (i for i in ids if i != acked), "cancelled"
    )
    assert not register(engine, disclosure_id=waiting, kind="disclosure_received")

    # The register keeps every earlier entry and gains one for the erasure, naming no BSN.
    after = register(engine, subject_hash=subject_hash)
    assert before <= {e.id for e in after}
    [erasure] = [e for e in after if e.kind == "erasure"]
    assert erasure.id == result["register_entry"]
    assert erasure.actor_org is None and erasure.reason == "art12_1_b"
    assert erasure.content["details"]["payloads_shredded"] == 4
    assert erasure.content["details"]["withdrawn"] == dict.fromkeys(
        (i for i in ids if i != acked), "accepted"
    )
    assert bsn not in json.dumps(erasure.content)

    # The register still verifies after the erasure, with the erasure entry in the tree (issue 7).
    deadline = time.monotonic() + 30
    while register(engine, id=erasure.id)[0].leaf_index is None:
        assert time.monotonic() < deadline, "the sequencer did not place the erasure entry"
        time.sleep(0.05)
    report = verify_register(runtime)
    assert report.ok, report.summary()
    verified = anonymous.post("/v1/audit/verify", headers=dev_env.officer_headers(CENTRAL))
    assert verified.status_code == 200 and verified.json()["ok"] is True

    # Nothing can be forwarded about an erased subject any more, and erasing again shreds nothing.
    again = correct(client_for(JGZ), acked)
    assert again.status_code == 409
    assert again.json()["type"].endswith("original-erased")
    repeat = anonymous.post(
        f"/v1/subjects/{bsn}/erasure", json={"ground": "art12_1_b"}, headers=dev_env.officer_headers(CENTRAL)
    )
    assert repeat.json()["payloads_shredded"] == 0


def test_a_partner_officer_erases_only_what_its_organisation_sent_or_received(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    to_school = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    to_youth_care = disclose(client_for, JGZ, bsn, YOUTH_CARE, ["contact"])
    response = anonymous.post(
        f"/v1/subjects/{bsn}/erasure", json={"ground": "art12_1_a"}, headers=dev_env.officer_headers(SCHOOL)
    )
    assert response.status_code == 200, response.text
    assert response.json()["payloads_shredded"] == 1
    vault = PayloadVault(runtime.kek)
    with Session(engine) as session:
        assert open_payload(session, vault, to_school) is None
        assert open_payload(session, vault, to_youth_care) is not None
    [erasure] = register(engine, id=response.json()["register_entry"])
    assert erasure.actor_org == SCHOOL
    assert erasure.content["details"]["scope"] == SCHOOL


def test_erasure_of_an_invalid_bsn_is_refused(dev_env: DevEnv, anonymous: httpx.Client) -> None:
    response = anonymous.post(
        "/v1/subjects/123456789/erasure",
        json={"ground": "art12_1_a"},
        headers=dev_env.officer_headers(CENTRAL),
    )
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["invalid_bsn"]


def test_two_simultaneous_erasures_shred_and_register_each_payload_once(
    isolated_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first erasure is paused just before it shreds; the second runs whole meanwhile."""
    if isolated_runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock at BEGIN: two erasures cannot overlap")
    import exchange.subjects

    bsn = new_bsn()
    message_id = send_to(isolated_runtime, SCHOOL, bsn)
    ack(isolated_runtime, SCHOOL, message_id)  # nothing to withdraw: only the payload is shared
    real_update = exchange.subjects.update
    paused, second_done = threading.Event(), threading.Event()

    def update_after_the_other_erasure(table: Any) -> Any:
        if table is StoredPayload and threading.current_thread() is first and not paused.is_set():
            paused.set()
            assert second_done.wait(30)
        return real_update(table)

    monkeypatch.setattr(exchange.subjects, "update", update_after_the_other_erasure)
    results: list[dict[str, Any]] = []

    def run_erasure(officer: str) -> None:
        with unit_of_work(isolated_runtime.engine) as session:
            body = ErasureIn(ground="art12_1_a")
            results.append(erase(session, isolated_runtime, OfficerPrincipal(officer, CENTRAL), bsn, body))

    first = threading.Thread(target=run_erasure, args=("officer-1",))
    first.start()
    assert paused.wait(30)
    run_erasure("officer-2")
    second_done.set()
    first.join(30)
    assert sorted(r["payloads_shredded"] for r in results) == [0, 1]
    # The register claims the payload shredded once: by whichever erasure did it.
    claims = [e.content["details"]["message_ids"] for e in register(isolated_runtime.engine, kind="erasure")]
    assert sorted(claims) == [[], [message_id]]


def test_a_held_override_cannot_be_approved_after_an_erasure(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(FOUR_EYES)
    held = override_send(sender, bsn, YOUTH_CARE)
    assert held.json()["status"] == "awaiting_approval"
    erased = anonymous.post(
        f"/v1/subjects/{bsn}/erasure", json={"ground": "art12_1_d"}, headers=dev_env.officer_headers(CENTRAL)
    )
    # The held override, and the notice in the sender's own inbox that it awaits approval.
    assert erased.json()["messages_withdrawn"] == 2
    second = {"professional": {"id": "p-200", "name": "Bram Bakker", "role": "gedragswetenschapper"}}
    approved = sender.post(f"/v1/overrides/{held.json()['id']}/approve", json=second)
    assert approved.status_code == 409
    # It never left the sender, so its recipient gets no notice either.
    inbox = client_for(YOUTH_CARE).get("/v1/inbox", params={"limit": 500}).json()["items"]
    assert held.json()["id"] not in [item.get("in_reply_to") for item in inbox]
    assert messages(engine, id=held.json()["id"])[0].status == "erased"


def test_after_an_erasure_no_old_copy_of_the_payload_stays_in_the_sqlite_files(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps dead tuples until VACUUM: see docs/security.md")
    bsn = new_bsn()
    message_id = disclose(client_for, JGZ, bsn, SCHOOL, ["contact"])
    with Session(engine) as session:
        stored = session.get(StoredPayload, message_id)
        assert stored is not None and stored.wrapped_key is not None
        secrets = (stored.wrapped_key, stored.ciphertext[:64])
    database = Path(str(engine.url.database))

    def on_disk() -> bytes:
        wal = database.with_name(database.name + "-wal")
        return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert all(secret in on_disk() for secret in secrets)
    response = anonymous.post(
        f"/v1/subjects/{bsn}/erasure", json={"ground": "art12_1_a"}, headers=dev_env.officer_headers(CENTRAL)
    )
    assert response.status_code == 200
    assert not any(secret in on_disk() for secret in secrets)


def test_only_the_setting_organisation_or_the_central_officer_lifts_a_restriction(
    dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    jgz, school, central = (
        dev_env.officer_headers(JGZ),
        dev_env.officer_headers(SCHOOL),
        dev_env.officer_headers(CENTRAL),
    )
    url = f"/v1/subjects/{bsn}/restriction"
    set_by_jgz = restrict(anonymous, bsn, jgz)
    assert set_by_jgz.json()["set_by_org"] == JGZ
    by_school = anonymous.delete(url, headers=school)
    assert by_school.status_code == 403
    assert by_school.json()["violations"][0]["article"] == "14"
    assert anonymous.delete(url, headers=jgz).status_code == 200

    assert restrict(anonymous, bsn, central).json()["set_by_org"] is None
    assert anonymous.delete(url, headers=jgz).status_code == 403  # the central officer's restriction
    assert anonymous.delete(url, headers=central).status_code == 200
    assert restrict(anonymous, bsn, school).status_code == 201
    assert anonymous.delete(url, headers=central).status_code == 200  # the central officer lifts any
