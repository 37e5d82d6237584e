"""Sending, receiving and acknowledging disclosures end to end over real mTLS (issue 4)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from exchange.crypto import decrypt_as_recipient, encrypt_for_partner, encrypt_for_recipient
from exchange.models import Message, StoredPayload
from gateway.pki import load_private_key
from gateway.runtime import Runtime
from tests.support import JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, idempotency_key, new_bsn

Client = Callable[[str], httpx.Client]


def consent_body(
    bsn: str,
    recipient: str,
    categories: list[str],
    *,
    granted: bool = True,
    birth_date: str = "2017-03-01",
    form: str = "written",
    explicit: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": {"bsn": bsn, "birth_date": birth_date},
        "form": form,
        "explicit": explicit,
        "given_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(),
        "signatories": [
            {"role": "parent_with_authority", "name": "Ouder Een"},
            {"role": "parent_with_authority", "name": "Ouder Twee"},
        ],
        "grants": [
            {
                "recipient": recipient,
                "categories": categories,
                "purpose": "Afstemming van hulp",
                "granted": granted,
            }
        ],
    }
    if form == "written":
        body["evidence_sha256"] = "ab" * 32
    else:
        body["note"] = "Mondeling gegeven door moeder op 1 maart, doel en gevolgen uitgelegd."
    return body


def register_consent(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/consents", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def disclosure_body(bsn: str, recipient: str, categories: list[str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": recipient,
        "subject": {"bsn": bsn},
        "categories": categories,
        "reason": "Afstemming gezinsplan na signaal school",
        "description": "Contactgegevens ouders en hulpvraag",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
        "payload": {"summary": "Gezin met drie kinderen", "phone": "079-1234567"},
    }
    body.update(extra)
    return body


def send(client: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return client.post("/v1/disclosures", json=body, headers={"Idempotency-Key": key or idempotency_key()})


def entries(engine: Engine, **where: Any) -> list[RegisterEntry]:
    with Session(engine) as session:
        query = select(RegisterEntry)
        for name, value in where.items():
            query = query.where(getattr(RegisterEntry, name) == value)
        return list(session.exec(query).all())


def private_key(env: DevEnv, oin: str) -> rsa.RSAPrivateKey:
    key = load_private_key(env.encryption_key_file(oin))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def inbox_item(client: httpx.Client, message_id: str) -> dict[str, Any]:
    cursor = None
    while True:
        page = client.get("/v1/inbox", params={"cursor": cursor} if cursor else None).json()
        for item in page["items"]:
            if item["id"] == message_id:
                return dict(item)
        cursor = page["next_cursor"]
        if cursor is None:
            raise AssertionError(f"{message_id} not in inbox")


def test_without_consent_nothing_is_sent_and_the_attempt_is_registered(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    response = send(client_for(JGZ), disclosure_body(bsn, SCHOOL, ["contact", "health"]))
    assert response.status_code == 403
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("consent_denied")
    assert {v["code"] for v in problem["violations"]} == {"no_consent"}
    assert [c["category"] for c in problem["per_category"]] == ["contact", "health"]
    subject_hash = runtime.bsn_hash(bsn)
    refused = entries(engine, subject_hash=subject_hash)
    assert [e.kind for e in refused] == ["disclosure_refused"]
    with Session(engine) as session:
        assert session.exec(select(Message).where(Message.subject_hash == subject_hash)).first() is None


def test_partial_consent_refuses_and_names_only_the_uncovered_category(client_for: Client) -> None:
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact", "help_request"]))
    response = send(client_for(JGZ), disclosure_body(bsn, SCHOOL, ["contact", "health"]))
    assert response.status_code == 403
    decisions = {c["category"]: c for c in response.json()["per_category"]}
    assert decisions["contact"]["decision"] == "permit"
    assert decisions["health"] == {
        "category": "health",
        "decision": "deny",
        "consent_id": None,
        "reason": "category_not_covered",
    }
    assert [v["code"] for v in response.json()["violations"]] == ["category_not_covered"]


def test_consent_for_one_recipient_does_not_cover_another(client_for: Client) -> None:
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    response = send(client_for(JGZ), disclosure_body(bsn, YOUTH_CARE, ["contact"]))
    assert response.status_code == 403
    assert response.json()["per_category"][0]["reason"] == "recipient_not_covered"


def test_consented_disclosure_is_delivered_encrypted_acknowledged_and_registered_on_both_sides(
    client_for: Client, dev_env: DevEnv, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    sender, recipient = client_for(JGZ), client_for(SCHOOL)
    consent_id = register_consent(sender, consent_body(bsn, SCHOOL, ["contact", "help_request"]))
    body = disclosure_body(bsn, SCHOOL, ["contact", "help_request"])
    accepted = send(sender, body)
    assert accepted.status_code == 202, accepted.text
    result = accepted.json()
    assert result["status"] == "accepted"
    receipt = runtime.signer.verify(result["receipt"])
    assert receipt["id"] == result["id"]
    assert receipt["sender"] == JGZ and receipt["recipient"] == SCHOOL
    assert receipt["register_entry"] == result["register_entry"]

    item = inbox_item(recipient, result["id"])
    assert item["kind"] == "disclosure"
    assert item["sender"] == JGZ
    assert item["subject"] == {"bsn": bsn}
    assert item["categories"] == ["contact", "help_request"]
    plaintext = decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, SCHOOL))
    assert json.loads(plaintext) == body["payload"]
    with pytest.raises(Exception):  # noqa: B017 - any failure: the wrong key must not open it
        decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, YOUTH_CARE))

    assert sender.get(f"/v1/disclosures/{result['id']}").json()["status"] == "delivered"
    ack = recipient.post(f"/v1/inbox/{result['id']}/ack", json={})
    assert ack.status_code == 200
    status = sender.get(f"/v1/disclosures/{result['id']}").json()
    assert status["status"] == "acknowledged"

    registered = {e.kind: e for e in entries(engine, disclosure_id=result["id"])}
    sent, received = registered["disclosure_sent"], registered["disclosure_received"]
    assert sent.id == result["register_entry"]
    assert sent.content["reason"] == body["reason"]
    assert sent.content["description"] == body["description"]
    assert sent.content["details"]["consent_ids"] == [consent_id]
    assert sent.content["professional"]["name"] == "Anna de Vries"
    assert received.sender == JGZ and received.recipient == SCHOOL
    assert received.trace_id == sent.trace_id
    assert received.content["details"]["disclosed_at"] == sent.content["occurred_at"]
    # The plain payload is nowhere in the database.
    with Session(engine) as session:
        message = session.exec(select(Message).where(Message.id == result["id"])).one()
        assert "079-1234567" not in json.dumps(message.model_dump(mode="json"))
    # Acknowledging twice is harmless and writes nothing new.
    assert recipient.post(f"/v1/inbox/{result['id']}/ack").json()["already_acknowledged"] is True
    assert len(entries(engine, disclosure_id=result["id"], kind="disclosure_received")) == 1


def test_other_partners_cannot_see_or_acknowledge_a_message(client_for: Client) -> None:
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    message_id = send(client_for(JGZ), disclosure_body(bsn, SCHOOL, ["contact"])).json()["id"]
    outsider = client_for(YOUTH_CARE)
    assert outsider.post(f"/v1/inbox/{message_id}/ack").status_code == 404
    assert outsider.get(f"/v1/disclosures/{message_id}").status_code == 404
    assert all(item["id"] != message_id for item in outsider.get("/v1/inbox").json()["items"])


def test_end_to_end_encrypted_payload_passes_through_untouched(
    client_for: Client, dev_env: DevEnv, runtime: Runtime
) -> None:
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["education"]))
    school = runtime.partners.get(SCHOOL)
    assert school is not None and school.encryption_key is not None
    token = encrypt_for_recipient(b'{"verzuim": "12 dagen"}', school.encryption_key)
    body = disclosure_body(bsn, SCHOOL, ["education"], payload=None, payload_jwe=token)
    result = send(client_for(JGZ), body).json()
    item = inbox_item(client_for(SCHOOL), result["id"])
    assert item["payload_jwe"] == token
    assert (
        decrypt_as_recipient(item["payload_jwe"], private_key(dev_env, SCHOOL)) == b'{"verzuim": "12 dagen"}'
    )


def test_the_jwe_names_the_recipients_key_id_only_when_its_jwk_has_one(
    dev_env: DevEnv, runtime: Runtime
) -> None:
    import dataclasses

    from jose import jwe

    school = runtime.partners.get(SCHOOL)
    assert school is not None and school.encryption_jwk is not None
    with_kid = dataclasses.replace(school, encryption_jwk={**school.encryption_jwk, "kid": "school-2026"})
    without_kid = dataclasses.replace(
        school, encryption_jwk={k: v for k, v in school.encryption_jwk.items() if k != "kid"}
    )
    assert jwe.get_unverified_header(encrypt_for_partner(b"{}", with_kid))["kid"] == "school-2026"
    token = encrypt_for_partner(b'{"a":1}', without_kid)
    assert "kid" not in jwe.get_unverified_header(token)  # not the string "None"
    assert decrypt_as_recipient(token, private_key(dev_env, SCHOOL)) == b'{"a":1}'


def test_idempotent_retry_returns_the_original_and_a_changed_body_conflicts(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    client = client_for(JGZ)
    register_consent(client, consent_body(bsn, SCHOOL, ["contact"]))
    key = idempotency_key()
    first = send(client, disclosure_body(bsn, SCHOOL, ["contact"]), key)
    again = send(client, disclosure_body(bsn, SCHOOL, ["contact"]), key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    changed = send(client, disclosure_body(bsn, SCHOOL, ["contact"], reason="Iets anders"), key)
    assert changed.status_code == 409
    with Session(engine) as session:
        messages = session.exec(select(Message).where(Message.subject_hash == runtime.bsn_hash(bsn))).all()
    assert len(messages) == 1
    assert len(entries(engine, subject_hash=runtime.bsn_hash(bsn), kind="disclosure_sent")) == 1


@pytest.mark.parametrize(
    ("change", "code", "article"),
    [
        ({"recipient": "12345678901234567890"}, "unknown_recipient", "6.1"),
        ({"recipient": JGZ}, "recipient_is_sender", "6.1"),
        ({"reason": "  "}, "reason_missing", "8.1"),
        ({"description": ""}, "description_missing", "8.1"),
        ({"categories": ["gossip"]}, "unknown_category", "5.2"),
        ({"categories": []}, "categories_missing", "5.2"),
        ({"payload": None}, "payload_missing", "5.2"),
        ({"payload_jwe": "not-a-jwe"}, "payload_ambiguous", "5.2"),
        ({"payload": None, "payload_jwe": "not-a-jwe"}, "payload_jwe_malformed", "19"),
        ({"payload": {}}, "payload_empty", "5.2"),
        ({"payload": []}, "payload_empty", "5.2"),
        ({"payload": ""}, "payload_empty", "5.2"),
        ({"payload": "   "}, "payload_empty", "5.2"),
        ({"payload": None, "payload_jwe": ""}, "payload_empty", "5.2"),
        ({"subject": {"bsn": "123456789"}}, "invalid_bsn", "5.3"),
    ],
)
def test_invalid_disclosures_are_refused_naming_the_rule(
    client_for: Client, change: dict[str, Any], code: str, article: str
) -> None:
    body = disclosure_body(new_bsn(), SCHOOL, ["contact"])
    body.update(change)
    response = send(client_for(JGZ), body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert {"code": code, "article": article} in [
        {"code": v["code"], "article": v["article"]} for v in response.json()["violations"]
    ]


def test_send_without_idempotency_key_or_with_malformed_json_is_refused(client_for: Client) -> None:
    client = client_for(JGZ)
    missing = client.post("/v1/disclosures", json=disclosure_body(new_bsn(), SCHOOL, ["contact"]))
    # Required in the document and by the model (issue 17): refused like any missing field.
    assert missing.status_code == 422
    assert "Idempotency-Key" in missing.json()["detail"]
    malformed = client.post(
        "/v1/disclosures",
        content=b'{"recipient": ',
        headers={"content-type": "application/json", "Idempotency-Key": "k"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/problem+json"


def test_when_the_register_write_fails_nothing_is_accepted(
    client_for: Client,
    engine: Engine,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bsn = new_bsn()
    client = client_for(JGZ)
    register_consent(client, consent_body(bsn, SCHOOL, ["contact"]))
    import exchange.sending

    real_prepare = exchange.sending.prepare

    def entry_the_database_refuses(draft: Any) -> Any:
        # A leaf hash one byte short: the register's own guard (a CHECK on PostgreSQL, a trigger on
        # SQLite) refuses the row, in the very statement that also writes the message.
        entry = real_prepare(draft)
        entry.leaf_hash = entry.leaf_hash[:31]
        return entry

    monkeypatch.setattr(exchange.sending, "prepare", entry_the_database_refuses)
    body = disclosure_body(bsn, SCHOOL, ["contact"])
    response = send(client, body)
    assert response.status_code == 500
    assert "nothing was accepted" in response.json()["detail"]
    monkeypatch.undo()
    # The error is logged once, by the gateway, without the statement's values (free text such as
    # the description may hold personal data).
    assert "unhandled error on POST /v1/disclosures" in caplog.text
    assert body["description"] not in caplog.text
    assert "Exception in ASGI application" not in caplog.text
    with Session(engine) as session:
        assert (
            session.exec(select(Message).where(Message.subject_hash == runtime.bsn_hash(bsn))).first() is None
        )
        assert (
            session.exec(
                select(StoredPayload).where(StoredPayload.subject_hash == runtime.bsn_hash(bsn))
            ).first()
            is None
        )
        assert (
            session.exec(
                select(RegisterEntry).where(
                    RegisterEntry.subject_hash == runtime.bsn_hash(bsn),
                    RegisterEntry.kind == "disclosure_sent",
                )
            ).first()
            is None
        )
    # The same send, with the register working again, is accepted: nothing half-written is in the way.
    assert send(client, disclosure_body(bsn, SCHOOL, ["contact"])).status_code == 202


def test_information_request_answered_with_consent_obtained_on_behalf_of_the_holder(
    client_for: Client, dev_env: DevEnv, engine: Engine
) -> None:
    """Art. 6.3: the school asks JGZ, sending along the consent it obtained on JGZ's behalf."""
    bsn = new_bsn()
    school, jgz = client_for(SCHOOL), client_for(JGZ)
    consent = consent_body(bsn, SCHOOL, ["help_request"])
    consent["obtained_on_behalf_of"] = JGZ
    consent_id = register_consent(school, consent)
    request = school.post(
        "/v1/information-requests",
        json={
            "holder": JGZ,
            "subject": {"bsn": bsn},
            "categories": ["help_request"],
            "purpose": "Zorgoverleg over verzuim",
            "professional": {"id": "z-1", "name": "Zorgcoördinator", "role": "zorgcoördinator"},
            "consent_id": consent_id,
        },
    )
    assert request.status_code == 202, request.text
    request_id = request.json()["id"]
    item = inbox_item(jgz, request_id)
    assert item["kind"] == "information_request"
    assert item["consent_ids"] == [consent_id]
    assert item["subject"] == {"bsn": bsn}
    answer = send(jgz, disclosure_body(bsn, SCHOOL, ["help_request"], in_reply_to=request_id))
    assert answer.status_code == 202, answer.text
    reply = inbox_item(school, answer.json()["id"])
    assert reply["in_reply_to"] == request_id
    # Both sides of the exchange share one trace: the answer continues the request's.
    assert answer.json()["trace_id"] == request.json()["trace_id"]


def test_information_request_can_be_declined_and_the_requester_is_told(client_for: Client) -> None:
    bsn = new_bsn()
    school, jgz = client_for(SCHOOL), client_for(JGZ)
    request_id = school.post(
        "/v1/information-requests",
        json={
            "holder": JGZ,
            "subject": {"bsn": bsn},
            "categories": ["health"],
            "purpose": "Verzuim",
            "professional": {"id": "z-1", "name": "Zorgcoördinator", "role": "zorgcoördinator"},
        },
    ).json()["id"]
    assert (
        school.post(f"/v1/information-requests/{request_id}/decline", json={"reason": "x"}).status_code == 404
    )
    declined = jgz.post(
        f"/v1/information-requests/{request_id}/decline", json={"reason": "Geen toestemming ouders"}
    )
    assert declined.status_code == 200
    notice = inbox_item(school, declined.json()["notice_id"])
    assert notice["kind"] == "notice"
    assert notice["in_reply_to"] == request_id
    assert notice["reason"] == "Geen toestemming ouders"
    answer = send(jgz, disclosure_body(bsn, SCHOOL, ["health"], in_reply_to=request_id))
    assert answer.status_code == 422


def test_inbox_paginates_with_an_opaque_cursor(client_for: Client) -> None:
    bsn = new_bsn()
    register_consent(client_for(MUNICIPALITY), consent_body(bsn, YOUTH_CARE, ["contact"]))
    sent = {
        send(client_for(MUNICIPALITY), disclosure_body(bsn, YOUTH_CARE, ["contact"])).json()["id"]
        for _ in range(3)
    }
    seen: list[str] = []
    cursor = None
    inbox = client_for(YOUTH_CARE)
    while True:
        page = inbox.get("/v1/inbox", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sent <= set(seen)
    assert len(seen) == len(set(seen))
    assert inbox.get("/v1/inbox", params={"cursor": "!!"}).status_code == 400


def test_a_consent_only_covers_the_partner_that_obtained_it(client_for: Client) -> None:
    """Bijlage VIII: the form lets the named Meerpuntpartner share, not every partner (art. 6.1)."""
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    response = send(client_for(MUNICIPALITY), disclosure_body(bsn, SCHOOL, ["contact"]))
    assert response.status_code == 403
    assert response.json()["per_category"][0]["reason"] == "no_consent"
    assert send(client_for(JGZ), disclosure_body(bsn, SCHOOL, ["contact"])).status_code == 202


def test_concurrent_retries_with_one_key_store_one_message(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    """A client that times out and retries in parallel must never cause two deliveries."""
    from concurrent.futures import ThreadPoolExecutor

    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    key = idempotency_key()
    body = disclosure_body(bsn, SCHOOL, ["contact"])
    clients = [client_for(JGZ) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda c: send(c, body, key), clients))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    with Session(engine) as session:
        messages = session.exec(select(Message).where(Message.subject_hash == runtime.bsn_hash(bsn))).all()
    assert len(messages) == 1
    assert len(entries(engine, subject_hash=runtime.bsn_hash(bsn), kind="disclosure_sent")) == 1


def test_the_idempotency_fingerprint_is_keyed(client_for: Client, engine: Engine, runtime: Runtime) -> None:
    """A copy of the database must not let anyone confirm a guessed BSN or payload by hashing."""
    import hashlib

    from exchange.schemas import DisclosureIn

    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    body = disclosure_body(bsn, SCHOOL, ["contact"])
    message_id = send(client_for(JGZ), body).json()["id"]
    canonical = json.dumps(
        DisclosureIn.model_validate(body).model_dump(mode="json"), sort_keys=True, separators=(",", ":")
    ).encode()
    with Session(engine) as session:
        stored = session.exec(select(Message.request_hash).where(Message.id == message_id)).one()
    assert stored is not None and len(stored) == 64
    assert stored != hashlib.sha256(canonical).hexdigest()


def test_a_refusal_names_its_instance(client_for: Client) -> None:
    response = send(client_for(JGZ), disclosure_body(new_bsn(), SCHOOL, ["contact"]))
    assert response.status_code == 403
    assert response.json()["instance"] == "/v1/disclosures"


def test_a_refused_attempt_is_not_shown_to_the_organisation_it_protects_the_child_from(
    client_for: Client, dev_env: DevEnv, anonymous: httpx.Client
) -> None:
    bsn = new_bsn()
    body = disclosure_body(
        bsn, SCHOOL, ["mental_health"], description="Moeder in behandeling bij GGZ, zorgen om thuissituatie"
    )
    refused = send(client_for(JGZ), body)
    assert refused.status_code == 403
    params = {"subject_bsn": bsn}

    def refusals(response: httpx.Response) -> list[dict[str, Any]]:
        """The refused attempts a reader sees (reading the register is registered too)."""
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["kind"] == "disclosure_refused"]

    assert refusals(client_for(SCHOOL).get("/v1/register", params=params)) == []
    assert (
        refusals(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers(SCHOOL))) == []
    )
    [seen] = refusals(client_for(JGZ).get("/v1/register", params=params))
    assert seen["recipient"] is None
    assert seen["details"]["intended_recipient"] == SCHOOL
    assert (
        len(refusals(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers(JGZ)))) == 1
    )
    central = anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers("meerpunt"))
    assert len(refusals(central)) == 1


def test_the_registered_payload_hash_is_of_the_delivered_jwe_not_of_the_data(
    client_for: Client, engine: Engine
) -> None:
    """The register outlives the payload (and an erasure): its hash must not let anyone confirm a
    guessed phone number, yet the recipient can check what it received against it."""
    import base64
    import hashlib

    bsn = new_bsn()
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, SCHOOL, ["contact"]))
    body = disclosure_body(bsn, SCHOOL, ["contact"], payload={"phone": "079-1234567"})
    accepted = send(sender, body).json()
    item = inbox_item(client_for(SCHOOL), accepted["id"])
    delivered = hashlib.sha256(item["payload_jwe"].encode()).hexdigest()
    guessed = hashlib.sha256(json.dumps(body["payload"], separators=(",", ":")).encode()).hexdigest()
    [entry] = entries(engine, disclosure_id=accepted["id"], kind="disclosure_sent")
    assert entry.content["details"]["payload_sha256"] == delivered != guessed
    receipt_claims = json.loads(base64.urlsafe_b64decode(accepted["receipt"].split(".")[1] + "=="))
    assert receipt_claims["payload_sha256"] == delivered
