"""What the inbox and the push worker hand out, and when they stop (issue 4; art. 8.2, 12, 14).

These tests drive the services on a database of their own (`isolated_runtime`, no background
worker), with a clock they move by hand, so that leases, retention and restriction are exercised
without waiting and without timing assertions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from adapters.push import (
    _record_outcome,
    claim_due,
    drain_once,
    lease_for,
    pending_count,
    purge_expired_payloads,
)
from audit.models import RegisterEntry
from consent.restrictions import lift_restriction, set_restriction
from consent.schemas import ConsentIn
from consent.service import register_consent
from exchange.inbox import acknowledge_message, disclosure_status, list_inbox
from exchange.models import Message, OutboxItem, StoredPayload
from exchange.requests import create_request, decline_request
from exchange.schemas import DeclineIn, DisclosureIn, InformationRequestIn
from exchange.sending import send_disclosure
from gateway.db import unit_of_work
from gateway.principals import PartnerPrincipal
from gateway.runtime import Runtime
from tests.exchange.conftest import Clock
from tests.exchange.test_disclosures import consent_body, disclosure_body
from tests.support import JGZ, PUSH_PARTNER, SCHOOL, DevEnv, idempotency_key, new_bsn

STATUTORY = {
    "type": "statutory",
    "ground": "court_order",
    "justification": "Beschikking van de kinderrechter van 1 maart over de ondertoezichtstelling",
}


def partner(runtime: Runtime, oin: str) -> PartnerPrincipal:
    return PartnerPrincipal(partner=runtime.partners.partners[oin], certificate_serial=1)


def send_to(runtime: Runtime, recipient: str, bsn: str | None = None, *, consented: bool = False) -> str:
    """An accepted disclosure from JGZ; statutory (no consent needed) unless `consented`."""
    bsn = bsn or new_bsn()
    extra: dict[str, Any] = {} if consented else {"legal_basis": STATUTORY}
    body = DisclosureIn.model_validate(disclosure_body(bsn, recipient, ["contact"], **extra))
    with unit_of_work(runtime.engine) as session:
        if consented:
            consent = ConsentIn.model_validate(consent_body(bsn, recipient, ["contact"]))
            register_consent(session, runtime, JGZ, consent)
        result = send_disclosure(session, runtime, partner(runtime, JGZ), body, idempotency_key())
    assert result.status_code == 202, result.problem and result.problem.body()
    return str(result.body["id"])


def inbox_ids(runtime: Runtime, oin: str) -> list[str]:
    with unit_of_work(runtime.engine) as session:
        return [
            item["id"] for item in list_inbox(session, runtime, partner(runtime, oin), None, 500)["items"]
        ]


def ack(runtime: Runtime, oin: str, message_id: str) -> dict[str, Any]:
    with unit_of_work(runtime.engine) as session:
        return acknowledge_message(session, runtime, partner(runtime, oin), message_id, None)


def status_of(runtime: Runtime, message_id: str) -> dict[str, Any]:
    with unit_of_work(runtime.engine) as session:
        return disclosure_status(session, partner(runtime, JGZ), message_id)


def received_entries(runtime: Runtime, message_id: str) -> list[RegisterEntry]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(RegisterEntry).where(
                    RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_received"
                )
            ).all()
        )


def payload_of(runtime: Runtime, message_id: str) -> StoredPayload:
    with Session(runtime.engine) as session:
        stored = session.get(StoredPayload, message_id)
        assert stored is not None
        return stored


def restrict(runtime: Runtime, bsn: str) -> None:
    with unit_of_work(runtime.engine) as session:
        set_restriction(session, runtime, runtime.bsn_hash(bsn), "art14_1_a", "officer", runtime.clock())


def lift(runtime: Runtime, bsn: str) -> None:
    with unit_of_work(runtime.engine) as session:
        lift_restriction(session, runtime, runtime.bsn_hash(bsn), "officer", runtime.clock())


class Webhook:
    """A partner webhook behind `httpx.MockTransport`: records each POST, answers `status`."""

    def __init__(self, status: int = 204, on_post: Callable[[], None] | None = None) -> None:
        self.status = status
        self.on_post = on_post
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.delivered.append(request.headers["Meerpunt-Message-Id"])
        if self.on_post is not None:
            self.on_post()
        return httpx.Response(self.status)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def hook() -> Webhook:
    return Webhook()


# ----------------------------------------------------------------------- pull or push, not both


def test_a_push_partners_messages_are_not_also_in_its_pull_inbox(
    isolated_runtime: Runtime, clock: Clock, hook: Webhook
) -> None:
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    assert inbox_ids(isolated_runtime, PUSH_PARTNER) == []  # waiting for the worker, not for a pull
    with hook.client() as client:
        assert drain_once(isolated_runtime, client) == 1
    assert hook.delivered == [message_id]
    assert status_of(isolated_runtime, message_id)["status"] == "acknowledged"


# ------------------------------------------------------------------------------ push lease


def test_a_slow_batch_is_not_delivered_twice_by_a_second_worker(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    """Each POST takes a full timeout; meanwhile a second worker polls after every POST.

    The first worker's batch outlives the lease it took at claim time; the rows it has not reached
    yet are re-claimed by the second worker, and the first skips them instead of posting them too.
    """
    ids = {send_to(isolated_runtime, PUSH_PARTNER) for _ in range(16)}
    timeout = isolated_runtime.settings.push_timeout_seconds
    second = Webhook()
    second_client = second.client()

    def slow_post() -> None:
        clock.advance(seconds=timeout)  # the POST took as long as it may
        drain_once(isolated_runtime, second_client)

    first = Webhook(on_post=slow_post)
    with first.client() as client:
        drain_once(isolated_runtime, client)
    while drain_once(isolated_runtime, second_client):
        pass
    second_client.close()
    delivered = first.delivered + second.delivered
    assert second.delivered, "the scenario needs the second worker to take over part of the batch"
    assert sorted(delivered) == sorted(ids)  # every message once: none lost, none twice
    for message_id in ids:
        assert len(received_entries(isolated_runtime, message_id)) == 1
        assert status_of(isolated_runtime, message_id)["status"] == "acknowledged"


def test_a_stale_workers_failure_does_not_cut_short_the_new_claim(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    [stale] = claim_due(isolated_runtime)
    clock.advance(seconds=lease_for(isolated_runtime.settings).total_seconds() + 1)
    [current] = claim_due(isolated_runtime)  # the lease ran out: another worker takes the row
    assert current.attempts == stale.attempts + 1
    # The first worker's POST finally fails; its outcome must not reschedule the row (which would
    # let a third worker post it while the second is still posting).
    _record_outcome(isolated_runtime, stale, ok=False, error="HTTP 503")
    clock.advance(seconds=isolated_runtime.settings.push_backoff_base_seconds + 1)  # the retry's due
    assert claim_due(isolated_runtime) == []
    assert status_of(isolated_runtime, message_id)["last_error"] is None
    _record_outcome(isolated_runtime, current, ok=True, error=None)
    assert status_of(isolated_runtime, message_id)["status"] == "acknowledged"


def test_a_push_acknowledgement_racing_pull_acknowledgements_is_registered_once(
    isolated_runtime: Runtime,
) -> None:
    """Art. 8.2: one recipient-side entry, whichever of the simultaneous acknowledgements wins."""
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    [item] = claim_due(isolated_runtime)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def push() -> None:
        start.wait()
        _record_outcome(isolated_runtime, item, ok=True, error=None)

    def pull() -> None:
        start.wait()
        ack(isolated_runtime, PUSH_PARTNER, message_id)

    def run(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(push if i % 2 else pull,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(received_entries(isolated_runtime, message_id)) == 1
    assert status_of(isolated_runtime, message_id)["status"] == "acknowledged"


# --------------------------------------------------------------------- restriction (art. 14)


def test_restriction_holds_back_queued_consent_based_messages_until_it_is_lifted(
    isolated_runtime: Runtime, clock: Clock, hook: Webhook
) -> None:
    bsn = new_bsn()
    pulled = send_to(isolated_runtime, SCHOOL, bsn, consented=True)
    pushed = send_to(isolated_runtime, PUSH_PARTNER, bsn, consented=True)
    statutory = send_to(isolated_runtime, SCHOOL, bsn)
    statutory_push = send_to(isolated_runtime, PUSH_PARTNER, bsn)
    restrict(isolated_runtime, bsn)

    assert inbox_ids(isolated_runtime, SCHOOL) == [statutory]  # art. 14.2: the statutory one goes
    assert pending_count(isolated_runtime) == 1  # `deliver --until-idle` does not wait for the held one
    with hook.client() as client:
        drain_once(isolated_runtime, client)
        assert hook.delivered == [statutory_push]
        clock.advance(hours=1)
        drain_once(isolated_runtime, client)
        assert hook.delivered == [statutory_push]
        assert status_of(isolated_runtime, pushed)["delivery_attempts"] == 0

        clock.advance(seconds=1)
        lift(isolated_runtime, bsn)
        clock.advance(seconds=1)
        assert pulled in inbox_ids(isolated_runtime, SCHOOL)
        drain_once(isolated_runtime, client)
    assert hook.delivered == [statutory_push, pushed]


# ------------------------------------------------------------------------ erasure (art. 12)


def test_erased_messages_and_cancelled_outbox_rows_are_never_handed_out(
    isolated_runtime: Runtime, clock: Clock, hook: Webhook
) -> None:
    """The erasure (exchange/subjects.py) marks undelivered messages `erased`, their rows `cancelled`."""
    erased_pull, erased_push = send_to(isolated_runtime, SCHOOL), send_to(isolated_runtime, PUSH_PARTNER)
    cancelled_pull, cancelled_push = (
        send_to(isolated_runtime, SCHOOL),
        send_to(isolated_runtime, PUSH_PARTNER),
    )
    with unit_of_work(isolated_runtime.engine) as session:
        session.execute(
            update(Message).where(col(Message.id).in_([erased_pull, erased_push])).values(status="erased")
        )
        session.execute(
            update(OutboxItem)
            .where(col(OutboxItem.message_id).in_([cancelled_pull, cancelled_push]))
            .values(state="cancelled")
        )
    assert inbox_ids(isolated_runtime, SCHOOL) == []
    with hook.client() as client:
        drain_once(isolated_runtime, client)
    assert hook.delivered == []
    with pytest.raises(Exception, match="No such message"):
        ack(isolated_runtime, SCHOOL, erased_pull)


# ------------------------------------------------------------------------ retention (SPEC §8)


def test_unacknowledged_messages_are_given_up_after_the_inbox_retention(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    days = isolated_runtime.settings.inbox_retention_days
    fetched = send_to(isolated_runtime, SCHOOL)
    assert inbox_ids(isolated_runtime, SCHOOL) == [fetched]  # now `delivered`, never acknowledged
    never_fetched = send_to(isolated_runtime, SCHOOL)
    clock.advance(days=days - 1)
    recent = send_to(isolated_runtime, SCHOOL)
    purge_expired_payloads(isolated_runtime)
    assert payload_of(isolated_runtime, never_fetched).wrapped_key is not None  # not yet

    clock.advance(days=1, seconds=1)
    assert purge_expired_payloads(isolated_runtime) == 2
    for message_id in (never_fetched, fetched):
        assert payload_of(isolated_runtime, message_id).wrapped_key is None
        status = status_of(isolated_runtime, message_id)
        assert status["status"] == "purged"
        assert f"within {days} days" in status["last_error"]
    assert inbox_ids(isolated_runtime, SCHOOL) == [recent]
    assert payload_of(isolated_runtime, recent).wrapped_key is not None
    with pytest.raises(Exception, match="No such message"):
        ack(isolated_runtime, SCHOOL, never_fetched)
    # The fetched one did reach the recipient: a late acknowledgement still registers it (art. 8.2).
    assert ack(isolated_runtime, SCHOOL, fetched)["status"] == "acknowledged"
    assert len(received_entries(isolated_runtime, fetched)) == 1


def test_a_failed_push_keeps_its_payload_only_for_the_grace_period(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    refusing = Webhook(status=400)  # the recipient's system refuses the envelope: no retry
    with refusing.client() as client:
        drain_once(isolated_runtime, client)
    assert status_of(isolated_runtime, message_id)["status"] == "failed"
    clock.advance(days=isolated_runtime.settings.payload_grace_days, seconds=1)
    assert purge_expired_payloads(isolated_runtime) == 1
    assert payload_of(isolated_runtime, message_id).wrapped_key is None


def test_a_declined_request_keeps_its_sealed_bsn_only_for_the_grace_period(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    request = InformationRequestIn.model_validate(
        {
            "holder": JGZ,
            "subject": {"bsn": new_bsn()},
            "categories": ["health"],
            "purpose": "Verzuim",
            "professional": {"id": "z-1", "name": "Zorgcoördinator", "role": "zorgcoördinator"},
        }
    )
    with unit_of_work(isolated_runtime.engine) as session:
        request_id = create_request(session, isolated_runtime, partner(isolated_runtime, SCHOOL), request)[
            "id"
        ]
    with unit_of_work(isolated_runtime.engine) as session:
        decline_request(
            session, isolated_runtime, partner(isolated_runtime, JGZ), request_id, DeclineIn(reason="Nee")
        )
    clock.advance(days=isolated_runtime.settings.payload_grace_days, seconds=1)
    assert purge_expired_payloads(isolated_runtime) == 1  # the request's; the notice waits for its ack
    assert payload_of(isolated_runtime, request_id).wrapped_key is None


def test_any_other_message_past_the_retention_loses_its_payload(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    """E.g. a held override that expired: no outbox row, no acknowledgement, no delete_after."""
    message_id = send_to(isolated_runtime, SCHOOL)
    with unit_of_work(isolated_runtime.engine) as session:
        session.execute(update(Message).where(col(Message.id) == message_id).values(status="expired"))
    clock.advance(days=isolated_runtime.settings.inbox_retention_days, seconds=1)
    assert purge_expired_payloads(isolated_runtime) == 1
    assert payload_of(isolated_runtime, message_id).wrapped_key is None
    assert status_of(isolated_runtime, message_id)["status"] == "expired"


def test_the_deliver_command_purges_too(dev_env: DevEnv, isolated_runtime: Runtime, clock: Clock) -> None:
    clock.advance(days=-isolated_runtime.settings.inbox_retention_days - 1)
    message_id = send_to(isolated_runtime, SCHOOL)  # queued a retention period and a day ago
    env = {**os.environ, "MEERPUNT_DATABASE_URL": isolated_runtime.settings.database_url}
    command = [
        sys.executable,
        "-m",
        "gateway",
        "deliver",
        "--config",
        str(dev_env.directory / "gateway.toml"),
    ]
    done = subprocess.run([*command, "--until-idle"], env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert payload_of(isolated_runtime, message_id).wrapped_key is None
    assert status_of(isolated_runtime, message_id)["status"] == "purged"
