"""Simultaneous acknowledgements and declines over the real mTLS server (art. 8.2; issue 4).

Each partner system may retry or run several workers: the register must still get one entry per
acknowledgement and one decline (with one notice) per request. On PostgreSQL the requests really
overlap; on SQLite the write lock at BEGIN serialises them and the same outcome must hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from exchange.models import Message
from tests.exchange.test_disclosures import consent_body, disclosure_body, entries, register_consent, send
from tests.exchange.test_requests import ask
from tests.support import JGZ, SCHOOL, new_bsn

Client = Callable[[str], httpx.Client]
PARALLEL = 8


def all_at_once(
    clients: list[httpx.Client], call: Callable[[httpx.Client], httpx.Response]
) -> list[httpx.Response]:
    """Run `call` on every client at the same moment (each with its own keep-alive connection)."""
    start = threading.Barrier(len(clients))

    def go(client: httpx.Client) -> httpx.Response:
        start.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(go, clients))


def test_simultaneous_acknowledgements_write_one_recipient_side_entry(
    client_for: Client, engine: Engine
) -> None:
    bsn = new_bsn()
    register_consent(client_for(JGZ), consent_body(bsn, SCHOOL, ["contact"]))
    message_id = send(client_for(JGZ), disclosure_body(bsn, SCHOOL, ["contact"])).json()["id"]
    clients = [client_for(SCHOOL) for _ in range(PARALLEL)]
    for client in clients:  # open every connection first, so the acks themselves overlap
        assert client.get("/v1/partners").status_code == 200

    responses = all_at_once(clients, lambda c: c.post(f"/v1/inbox/{message_id}/ack"))
    assert [r.status_code for r in responses] == [200] * PARALLEL
    bodies = [r.json() for r in responses]
    assert sorted(b["already_acknowledged"] for b in bodies) == [False] + [True] * (PARALLEL - 1)
    assert {b["status"] for b in bodies} == {"acknowledged"}
    [entry] = entries(engine, disclosure_id=message_id, kind="disclosure_received")
    assert [b["register_entry"] for b in bodies if b["register_entry"]] == [entry.id]


def test_simultaneous_declines_decline_once_with_one_notice(client_for: Client, engine: Engine) -> None:
    bsn = new_bsn()
    request_id = ask(client_for(SCHOOL), bsn, ["health"]).json()["id"]
    clients = [client_for(JGZ) for _ in range(PARALLEL)]
    for client in clients:
        assert client.get("/v1/partners").status_code == 200

    responses = all_at_once(
        clients,
        lambda c: c.post(
            f"/v1/information-requests/{request_id}/decline", json={"reason": "Geen toestemming"}
        ),
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * (PARALLEL - 1)
    assert all(r.json()["type"].endswith("already-declined") for r in responses if r.status_code == 409)
    assert len(entries(engine, disclosure_id=request_id, kind="information_request_declined")) == 1
    with Session(engine) as session:
        notices = session.exec(select(Message).where(Message.in_reply_to == request_id)).all()
    assert len(notices) == 1
