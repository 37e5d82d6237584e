"""Push delivery to a partner's real HTTPS webhook over mTLS, with retries (issue 4)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from audit.models import RegisterEntry
from exchange.models import Message, OutboxItem
from exchange.schemas import DisclosureIn
from exchange.sending import send_disclosure
from gateway.db import create_db_engine, unit_of_work
from gateway.migrate import upgrade
from gateway.principals import PartnerPrincipal
from gateway.runtime import Runtime, build_runtime
from gateway.settings import load_settings
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.support import JGZ, PUSH_PARTNER, SCHOOL, DevEnv, WebhookReceiver, idempotency_key, new_bsn

Client = Callable[[str], httpx.Client]


def wait_for_status(
    client: httpx.Client, message_id: str, wanted: str, timeout: float = 30
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/disclosures/{message_id}").json()
        if status["status"] == wanted or time.monotonic() > deadline:
            return dict(status)
        time.sleep(0.05)


def test_push_fails_twice_then_succeeds_and_is_delivered_exactly_once(
    client_for: Client, webhook: WebhookReceiver, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, PUSH_PARTNER, ["contact"]))
    webhook.fail_first_about[bsn] = 2  # this test's own subject: no other message is touched
    message_id = send(sender, disclosure_body(bsn, PUSH_PARTNER, ["contact"])).json()["id"]
    status = wait_for_status(sender, message_id, "acknowledged")
    assert status["status"] == "acknowledged", status
    assert status["delivery_attempts"] == 3
    assert webhook.ids().count(message_id) == 1
    assert webhook.attempts[message_id] == 3
    delivered = next(item for item in webhook.received if item["id"] == message_id)
    assert delivered["subject"] == {"bsn": bsn}
    assert delivered["payload_jwe"].count(".") == 4
    assert any("Meerpunt Gateway" in subject for subject in webhook.peer_subjects)
    # The W3C trace context of the exchange travels with the push.
    assert webhook.headers[message_id]["traceparent"].split("-")[1] == status["trace_id"]
    with Session(engine) as session:
        received = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_received"
            )
        ).all()
    assert len(received) == 1
    assert received[0].content["details"]["channel"] == "push"


def test_push_marks_failure_after_the_attempt_limit(
    client_for: Client, webhook: WebhookReceiver, engine: Engine
) -> None:
    bsn = new_bsn()
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, PUSH_PARTNER, ["contact"]))
    webhook.fail_first_about[bsn] = 1000
    message_id = send(sender, disclosure_body(bsn, PUSH_PARTNER, ["contact"])).json()["id"]
    status = wait_for_status(sender, message_id, "failed")
    assert status["status"] == "failed"
    assert status["last_error"] == "HTTP 503"
    with Session(engine) as session:
        kinds = session.exec(
            select(RegisterEntry.kind).where(RegisterEntry.disclosure_id == message_id)
        ).all()
    assert "delivery_failed" in kinds
    assert "disclosure_received" not in kinds


@pytest.mark.slow
def test_two_worker_processes_deliver_a_thousand_messages_none_lost_none_twice(
    dev_env: DevEnv, database_factory: Callable[[], str], webhook: WebhookReceiver
) -> None:
    if not dev_env.settings.database_url.startswith("postgresql"):
        pytest.skip(
            "several delivery processes share the outbox on PostgreSQL only (SQLite is single-process)"
        )
    url = database_factory()
    settings = load_settings(dev_env.directory / "gateway.toml", database_url=url, outbox_poll_seconds=0.05)
    engine = create_db_engine(url)
    upgrade(engine)
    runtime = build_runtime(settings, engine)
    caller = PartnerPrincipal(partner=runtime.partners.partners[JGZ], certificate_serial=1)
    ids: set[str] = set()
    statutory = {
        "type": "statutory",
        "ground": "court_order",
        "justification": "Beschikking van de kinderrechter van 1 maart over de ondertoezichtstelling",
    }
    for _ in range(1000):
        body = DisclosureIn.model_validate(
            disclosure_body(new_bsn(), PUSH_PARTNER, ["contact"], legal_basis=statutory)
        )
        with unit_of_work(engine) as session:
            result = send_disclosure(session, runtime, caller, body, idempotency_key())
        assert result.status_code == 202
        ids.add(str(result.body["id"]))
    before = len(webhook.received)
    env = {**os.environ, "MEERPUNT_DATABASE_URL": url, "MEERPUNT_OUTBOX_POLL_SECONDS": "0.05"}
    command = [
        sys.executable,
        "-m",
        "gateway",
        "deliver",
        "--config",
        str(dev_env.directory / "gateway.toml"),
        "--until-idle",
    ]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300)[0].decode() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    delivered_counts = [int(out.strip().splitlines()[-1].split()[-1]) for out in outputs]
    assert all(count > 0 for count in delivered_counts), delivered_counts  # both really worked
    received = [item["id"] for item in webhook.received[before:]]
    assert sorted(received) == sorted(ids)  # none lost, none twice
    with Session(engine) as session:
        states = session.exec(select(OutboxItem.state).where(col(OutboxItem.message_id).in_(ids))).all()
        statuses = session.exec(select(Message.status).where(col(Message.id).in_(ids))).all()
    assert set(states) == {"done"} and set(statuses) == {"acknowledged"}
    runtime.dispose()


def test_payloads_are_purged_after_acknowledgement_and_grace(
    client_for: Client, engine: Engine, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC §8: payloads are kept only until acknowledged plus a grace period."""
    from adapters.push import purge_expired_payloads
    from exchange.models import StoredPayload

    bsn = new_bsn()
    sender, recipient = client_for(JGZ), client_for(SCHOOL)
    register_consent(sender, consent_body(bsn, SCHOOL, ["contact"]))
    kept = send(sender, disclosure_body(bsn, SCHOOL, ["contact"])).json()["id"]
    acked = send(sender, disclosure_body(bsn, SCHOOL, ["contact"])).json()["id"]
    assert recipient.post(f"/v1/inbox/{acked}/ack").status_code == 200
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=runtime.settings.payload_grace_days, hours=1)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    assert purge_expired_payloads(runtime) >= 1
    with Session(engine) as session:
        assert session.get(StoredPayload, acked).wrapped_key is None  # type: ignore[union-attr]
        assert session.get(StoredPayload, kept).wrapped_key is not None  # type: ignore[union-attr]
