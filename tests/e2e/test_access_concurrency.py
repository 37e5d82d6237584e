"""Two people at once on one access request: only one passes each check (row lock / BEGIN IMMEDIATE)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.test_access_requests import URL, signed_consent
from tests.exchange.test_disclosures import register_consent
from tests.support import JGZ, DevEnv, client_context, new_bsn

Client = Callable[[str], httpx.Client]


def own_client(anonymous: httpx.Client, dev_env: DevEnv) -> httpx.Client:
    """A connection of its own per thread, so the two requests really run side by side."""
    return httpx.Client(base_url=str(anonymous.base_url), verify=client_context(dev_env), timeout=30)


def test_two_parents_confirming_at_once_make_one_co_requester(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, mother, father = new_bsn(), new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(youth, 14, mother, father, youth=True))
    request_id = anonymous.post(
        URL, json={"subject_bsn": youth, "relationship": "self"}, headers=dev_env.citizen_headers(youth)
    ).json()["id"]

    def confirm(parent: str) -> int:
        with own_client(anonymous, dev_env) as client:
            return client.post(
                f"{URL}/{request_id}/confirmation", headers=dev_env.citizen_headers(parent)
            ).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(confirm, (mother, father)))
    assert codes in ([200, 404], [200, 409])  # the second sees the request taken (or no longer awaiting)
    status = anonymous.get(f"{URL}/{request_id}", headers=dev_env.citizen_headers(youth)).json()
    assert status["status"] == "pending_decision"


def test_two_officers_deciding_at_once_decide_once(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    request_id = (
        client_for(JGZ)
        .post(
            URL,
            json={
                "subject_bsn": new_bsn(),
                "relationship": "self",
                "subject_birth_date": "1990-01-01",
                "requester_name": "J. Jansen",
                "verified_by": {"id": "d-1", "name": "Balie", "role": "baliemedewerker"},
            },
        )
        .json()["id"]
    )

    def decide(org: str) -> int:
        with own_client(anonymous, dev_env) as client:
            return client.post(
                f"{URL}/{request_id}/decision",
                json={"decision": "release"},
                headers=dev_env.officer_headers(org),
            ).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(decide, ("meerpunt", JGZ)))
    assert codes == [200, 409]
