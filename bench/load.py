"""The clients and the checks of the fault scenarios (bench/chaos.py): partners sending consented
disclosures and retrying with the same Idempotency-Key, and what the database, the register and
the push partner's webhook must hold afterwards."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench.cluster import (
    CATEGORIES,
    PULL_RECIPIENT,
    PUSH_RECIPIENT,
    SENDER,
    Environment,
    Webhook,
    new_bsn,
    psycopg_url,
)

# ------------------------------------------------------------------------------ the load


def consent_body(bsn: str) -> dict[str, Any]:
    return {
        "subject": {"bsn": bsn, "birth_date": "2017-03-01"},
        "form": "written",
        "explicit": True,
        "evidence_sha256": "ab" * 32,
        "given_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
        "signatories": [
            {"role": "parent_with_authority", "name": "Ouder Een"},
            {"role": "parent_with_authority", "name": "Ouder Twee"},
        ],
        "grants": [
            {"recipient": recipient, "categories": CATEGORIES, "purpose": "Afstemming", "granted": True}
            for recipient in (PULL_RECIPIENT, PUSH_RECIPIENT)
        ],
    }


def disclosure_body(bsn: str, recipient: str) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "subject": {"bsn": bsn},
        "categories": CATEGORIES,
        "reason": "Afstemming gezinsplan na signaal school",
        "description": "Contactgegevens ouders en hulpvraag",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
        "payload": {"summary": "Gezin met drie kinderen", "phone": "079-1234567"},
    }


def register_consents(env: Environment, base_url: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    subjects = [new_bsn(rng) for _ in range(count)]
    with httpx.Client(base_url=base_url, verify=env.client_context(SENDER), timeout=30) as client:
        for bsn in subjects:
            response = client.post("/v1/consents", json=consent_body(bsn))
            if response.status_code != 201:
                raise RuntimeError(f"consent refused: {response.status_code} {response.text}")
    return subjects


@dataclass
class Outcome:
    """One disclosure as a client saw it, across its retries with one Idempotency-Key."""

    key: str
    body: dict[str, Any]
    statuses: list[int] = field(default_factory=list)
    timeouts: int = 0
    connection_errors: int = 0
    message_id: str | None = None
    accepted_at: float | None = None
    problems_ok: bool = True  # every non-2xx answer was problem+json (and a 503 had Retry-After)


@dataclass
class Load:
    """Clients sending disclosures through `base_url` until stopped; each retries a failed send
    with the same Idempotency-Key (after connection errors, timeouts and 502/503), as SPEC §6 lets
    a partner do, until it gets an answer or `give_up_seconds` pass."""

    env: Environment
    base_url: str
    subjects: list[str]
    clients: int = 4
    client_timeout: float = 10.0
    give_up_seconds: float = 60.0
    pause: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for number in range(self.clients):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.give_up_seconds + self.client_timeout + 5)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            verify=self.env.client_context(SENDER),
            timeout=self.client_timeout,
            limits=httpx.Limits(max_keepalive_connections=1),
        )

    def _run(self, number: int) -> None:
        rng = random.Random(number)
        client = self._client()
        try:
            while not self._stop.is_set():
                recipient = PUSH_RECIPIENT if rng.random() < 0.5 else PULL_RECIPIENT
                outcome = Outcome(str(uuid.uuid4()), disclosure_body(rng.choice(self.subjects), recipient))
                with self._lock:
                    self.outcomes.append(outcome)
                client = self.send(client, outcome)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            client.close()

    def send(self, client: httpx.Client, outcome: Outcome) -> httpx.Client:
        deadline = time.monotonic() + self.give_up_seconds
        while True:
            retry = False
            try:
                response = client.post(
                    "/v1/disclosures", json=outcome.body, headers={"Idempotency-Key": outcome.key}
                )
            except httpx.TimeoutException:
                outcome.timeouts += 1
                retry = True
            except httpx.TransportError:
                outcome.connection_errors += 1
                retry = True
            else:
                outcome.statuses.append(response.status_code)
                if response.status_code == 202:
                    outcome.message_id = str(response.json()["id"])
                    outcome.accepted_at = time.monotonic()
                    return client
                outcome.problems_ok &= response.headers.get("content-type", "").startswith(
                    "application/problem+json"
                ) and (response.status_code != 503 or "retry-after" in response.headers)
                retry = response.status_code in (502, 503, 504)
            if not retry or time.monotonic() > deadline:
                return client
            if outcome.connection_errors or outcome.timeouts:
                client.close()  # a new connection: the balancer picks a live instance
                client = self._client()
            time.sleep(0.2)


# ------------------------------------------------------------------------------ the checks


@dataclass
class Audit:
    """What the database (and the webhook) hold for the accepted disclosures."""

    lost: list[str]
    duplicated: list[str]
    undelivered: list[str]
    #: Push messages offered again after the receiver had answered 2xx (its answer was not
    #: recorded before a crash or outage): same Meerpunt-Message-Id and Idempotency-Key, so the
    #: receiver drops the repeat; registered once all the same.
    reoffered: list[str]
    register_verified: bool
    delivered_at: dict[str, dt.datetime]


def audit_accepted(
    env: Environment,
    database_url: str,
    outcomes: list[Outcome],
    webhook: Webhook | None,
    *,
    deliveries_within: float = 20.0,
) -> Audit:
    """Every 202 has its message, one register entry and an outbox row; push messages reach the
    webhook and are registered as received (waiting while that progresses); the register verifies."""
    accepted = {o.message_id: o for o in outcomes if o.message_id}
    pushed = {mid for mid, o in accepted.items() if o.body["recipient"] == PUSH_RECIPIENT}
    # Wait while deliveries make progress: under a heavy load the push backlog drains for a while
    # after the load stops; `deliveries_within` seconds without progress end the wait.
    last_progress, last_done = time.monotonic(), -1
    while True:
        state = _stored(database_url)
        received = state["received"]
        done = sum(1 for mid in pushed if mid in received and (webhook is None or webhook.delivered[mid]))
        if done == len(pushed):
            break
        if done > last_done:
            last_progress, last_done = time.monotonic(), done
        elif time.monotonic() - last_progress > deliveries_within:
            break
        time.sleep(0.5)
    messages, ids, sent, outbox = state["messages"], state["ids"], state["sent"], state["outbox"]
    lost = [mid for mid in accepted if mid not in ids or sent[mid] == 0 or mid not in outbox]
    duplicated = [o.key for o in accepted.values() if messages.get(o.key, 0) > 1]
    duplicated += [mid for mid in accepted if sent[mid] > 1]
    reoffered = [mid for mid in pushed if webhook is not None and webhook.delivered[mid] > 1]
    undelivered = [mid for mid in pushed if webhook is None or not webhook.delivered[mid]]
    undelivered += [mid for mid in pushed if mid not in received]
    return Audit(
        lost=lost,
        duplicated=duplicated,
        undelivered=sorted(set(undelivered)),
        reoffered=reoffered,
        register_verified=verify_register(env, database_url),
        delivered_at={mid: received[mid] for mid in pushed if mid in received},
    )


def _stored(database_url: str) -> dict[str, Any]:
    with psycopg.connect(psycopg_url(database_url)) as connection:
        messages = dict(
            connection.execute(
                "SELECT idempotency_key, count(*) FROM exchange_message "
                "WHERE kind = 'disclosure' GROUP BY idempotency_key"
            ).fetchall()
        )
        ids = {row[0] for row in connection.execute("SELECT id FROM exchange_message").fetchall()}
        sent = Counter(
            row[0]
            for row in connection.execute(
                "SELECT disclosure_id FROM register_entry WHERE kind = 'disclosure_sent'"
            ).fetchall()
        )
        received = dict(
            connection.execute(
                "SELECT disclosure_id, min(occurred_at) FROM register_entry "
                "WHERE kind = 'disclosure_received' GROUP BY disclosure_id"
            ).fetchall()
        )
        outbox = {row[0] for row in connection.execute("SELECT message_id FROM exchange_outbox").fetchall()}
    return {"messages": messages, "ids": ids, "sent": sent, "received": received, "outbox": outbox}


def verify_register(env: Environment, database_url: str, timeout: float = 60.0) -> bool:
    """`meerpunt-gateway audit verify`, once the sequencer has caught up (retried briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "audit", "verify", "--config", str(env.config)],
            env={**os.environ, "MEERPUNT_DATABASE_URL": database_url},
            capture_output=True,
        )
        if result.returncode == 0:
            return True
        if time.monotonic() > deadline:
            sys.stderr.write(result.stdout.decode()[-2000:] + result.stderr.decode()[-2000:])
            return False
        time.sleep(1.0)


def same_id_on_retry(base_url: str, env: Environment, outcomes: list[Outcome], sample: int = 10) -> bool:
    """A client that sends an accepted disclosure again with its Idempotency-Key gets the same id."""
    accepted = [o for o in outcomes if o.message_id][:sample]
    with httpx.Client(base_url=base_url, verify=env.client_context(SENDER), timeout=30) as client:
        for outcome in accepted:
            response = client.post(
                "/v1/disclosures", json=outcome.body, headers={"Idempotency-Key": outcome.key}
            )
            if response.status_code != 202 or response.json()["id"] != outcome.message_id:
                return False
    return True
