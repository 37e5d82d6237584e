"""The safety override (art. 7) end to end over mTLS: two partners, two officers, exact metrics.

A gateway of its own (own database, own server) so that the metric values can be checked
exactly: the officer's queue and `/metrics` must tell the same story.

- The school (no vier-ogen) discloses to Jeugdbescherming without consent; the Kinderpraktijk
  (vier-ogen) discloses to the JGZ after a colleague's approval, and lets a second one expire.
- Officers: the school's own officer and the central Meerpunt officer; the officer of the
  recipient is the negative (sees nothing in the queue, cannot review).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exchange import override_hold
from exchange.crypto import decrypt_as_recipient
from gateway.app import create_app
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import disclosure_body, private_key, send
from tests.exchange.test_overrides import race
from tests.support import (
    FOUR_EYES,
    JGZ,
    SCHOOL,
    YOUTH_CARE,
    DevEnv,
    ServerThread,
    client_context,
    new_bsn,
    partner_client,
)

JUSTIFICATION = (
    "Het kind (7) vertelt op school dat vader hem gisteren met een riem sloeg; de juf zag striemen op "
    "de rug. Moeder weigert hulp uit angst voor vader. Jeugdbescherming moet vandaag de veiligheid regelen."
)
CONDITIONS = {
    "urgent_safety_need": True,
    "own_care_insufficient": True,
    "other_party_needed": True,
    "disclosure_necessary": True,
    "law_permits": True,
}
SECOND = {"professional": {"id": "p-200", "name": "Bram Bakker", "role": "gedragswetenschapper"}}


class Gateway:
    """The isolated gateway: partner clients (mTLS) and an officer/anonymous client."""

    def __init__(self, env: DevEnv, runtime: Runtime, base_url: str, stack: ExitStack) -> None:
        self.env, self.runtime, self.base_url, self._stack = env, runtime, base_url, stack
        self.anonymous = stack.enter_context(
            httpx.Client(base_url=base_url, verify=client_context(env), timeout=30)
        )
        self._partners: dict[str, httpx.Client] = {}

    def partner(self, oin: str) -> httpx.Client:
        if oin not in self._partners:
            self._partners[oin] = self._stack.enter_context(partner_client(self.env, self.base_url, oin))
        return self._partners[oin]

    def officer(self, org: str) -> dict[str, str]:
        return self.env.officer_headers(org, f"Fg {org}")

    def queue(self, org: str, status: str) -> list[dict[str, Any]]:
        response = self.anonymous.get(
            "/v1/overrides", params={"status": status, "limit": 500}, headers=self.officer(org)
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.anonymous.get("/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


@pytest.fixture
def gateway(dev_env: DevEnv, isolated_runtime: Runtime) -> Iterator[Gateway]:
    app = create_app(isolated_runtime.settings, isolated_runtime)
    with ServerThread(app, isolated_runtime.settings) as server, ExitStack() as stack:
        yield Gateway(dev_env, isolated_runtime, server.base_url, stack)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def basis(**change: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "type": "override",
        "ground": "art7_5_not_asked_safety",
        "justification": JUSTIFICATION,
        "conditions": dict(CONDITIONS),
        "consulted": [
            {"name": "Karin Jansen", "role": "aandachtsfunctionaris", "consulted_at": now().isoformat()}
        ],
        "inform_subject": {"planned": True},
    }
    value.update(change)
    return value


def override(client: httpx.Client, bsn: str, recipient: str, **change: Any) -> httpx.Response:
    return send(client, disclosure_body(bsn, recipient, ["safety", "education"], legal_basis=basis(**change)))


def codes_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(v["code"], v["article"]) for v in response.json()["violations"]]


def metric(gw: Gateway, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the gateway exposes no such sample."""
    return gw.metrics().get((name, tuple(sorted(labels.items()))), 0.0)


WITHOUT_ONE_ELEMENT: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    ("ground", {"ground": None}, ("override_ground_invalid", "7.3")),
    ("justification", {"justification": "Kind in gevaar."}, ("justification_insufficient", "7.7")),
    *[
        (
            f"condition {name}",
            {"conditions": {k: v for k, v in CONDITIONS.items() if k != name}},
            ("condition_missing", "7.3"),
        )
        for name in CONDITIONS
    ],
    ("consultation", {"consulted": []}, ("consultation_missing", "7.6")),
    (
        "consulted role",
        {"consulted": [{"name": "Karin Jansen", "consulted_at": now().isoformat()}]},
        ("consultation_incomplete", "7.6"),
    ),
    (
        "consulted oneself",
        {"consulted": [{"name": "Anna de Vries", "role": "zelf", "consulted_at": now().isoformat()}]},
        ("consulted_self", "7.6"),
    ),
    ("informing", {"inform_subject": None}, ("inform_subject_missing", "7.4")),
    (
        "waiver ground",
        {
            "inform_subject": {
                "waived": True,
                "explanation": "Vader leest alle post van moeder; dat brengt haar in gevaar.",
            }
        },
        ("waiver_ground_invalid", "7.5"),
    ),
    (
        "waiver explanation",
        {"inform_subject": {"waived": True, "waiver_ground": "safety"}},
        ("waiver_explanation_missing", "7.7"),
    ),
]


def test_the_override_path_end_to_end(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    gw = gateway
    school, youth_care, practice, jgz = (gw.partner(o) for o in (SCHOOL, YOUTH_CARE, FOUR_EYES, JGZ))

    # 1. Every missing element is refused, with its article; nothing is stored.
    bsn = new_bsn()
    for what, change, expected in WITHOUT_ONE_ELEMENT:
        assert codes_of(override(school, bsn, YOUTH_CARE, **change)) == [expected], what
    register = gw.anonymous.get("/v1/register", params={"subject_bsn": bsn}, headers=gw.officer("meerpunt"))
    assert register.json()["items"] == []

    # 2. A complete override is delivered, readable only by the recipient, and fully registered.
    accepted = override(school, bsn, YOUTH_CARE)
    assert accepted.status_code == 202, accepted.text
    sent_id = accepted.json()["id"]
    inbox = youth_care.get("/v1/inbox", params={"limit": 500}).json()["items"]
    [item] = [i for i in inbox if i["id"] == sent_id]
    payload = json.loads(decrypt_as_recipient(item["payload_jwe"], private_key(gw.env, YOUTH_CARE)))
    assert payload["summary"] == "Gezin met drie kinderen"
    assert youth_care.post(f"/v1/inbox/{sent_id}/ack", json={}).status_code == 200
    entries = gw.anonymous.get(
        "/v1/register", params={"subject_bsn": bsn}, headers=gw.officer(SCHOOL)
    ).json()["items"]
    [sent] = [e for e in entries if e["kind"] == "disclosure_sent"]
    assert sent["legal_basis"]["justification"] == JUSTIFICATION  # art. 7.7: the reasons ...
    assert sent["legal_basis"]["consulted"][0]["name"] == "Karin Jansen"  # ... the consulted officials
    assert sent["legal_basis"]["conditions"] == CONDITIONS
    assert sent["legal_basis"]["inform_subject"] == {"planned": True}
    assert {e["kind"] for e in entries} >= {"disclosure_sent", "disclosure_received"}

    # 3. Vier-ogen: held and announced, not by the requester, not by another partner; approved once.
    held = override(practice, new_bsn(), JGZ)
    assert held.json()["status"] == "awaiting_approval"
    held_id = held.json()["id"]
    notices = [i for i in practice.get("/v1/inbox").json()["items"] if i.get("in_reply_to") == held_id]
    assert [n["description"] for n in notices] == [override_hold.HELD_NOTICE]
    myself = {"professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"}}
    assert codes_of(practice.post(f"/v1/overrides/{held_id}/approve", json=myself)) == [
        ("four_eyes_same_professional", "7.6")
    ]
    assert school.post(f"/v1/overrides/{held_id}/approve", json=SECOND).status_code == 404
    assert [i["id"] for i in jgz.get("/v1/inbox").json()["items"]] == []
    third = {"professional": {"id": "p-300", "name": "Cor de Wit", "role": "teamleider"}}
    with partner_client(gw.env, gw.base_url, FOUR_EYES) as other:
        other.get("/healthz")  # both connections are open before the race
        codes = race(
            lambda: practice.post(f"/v1/overrides/{held_id}/approve", json=SECOND),
            lambda: other.post(f"/v1/overrides/{held_id}/approve", json=third),
        )
    assert codes == [200, 409]
    assert [i["id"] for i in jgz.get("/v1/inbox").json()["items"]] == [held_id]

    # 4. A second held override nobody approves expires; the sender is told.
    lapsed_id = override(practice, new_bsn(), JGZ).json()["id"]
    after_hold = now() + dt.timedelta(seconds=gw.runtime.settings.override_hold_seconds + 1)
    monkeypatch.setattr(gw.runtime, "clock", lambda: after_hold)
    assert practice.get(f"/v1/disclosures/{lapsed_id}").json()["status"] == "expired"
    assert [o["id"] for o in gw.queue(FOUR_EYES, "expired")] == [lapsed_id]
    override_hold.sweep(gw.runtime)
    expiry_notices = [
        i for i in practice.get("/v1/inbox").json()["items"] if i.get("in_reply_to") == lapsed_id
    ]
    assert [n["description"] for n in expiry_notices] == [
        override_hold.HELD_NOTICE,
        override_hold.EXPIRED_NOTICE,
    ]

    # 5. Follow-up: past the deadline the school's obligation to inform is overdue, for the school's
    #    officer, the central officer and in /metrics: the same number.
    later = now() + dt.timedelta(days=gw.runtime.settings.override_inform_overdue_days + 1)
    monkeypatch.setattr(gw.runtime, "clock", lambda: later)
    school_overdue = gw.queue(SCHOOL, "overdue")
    assert [o["id"] for o in school_overdue] == [sent_id]
    assert {o["id"] for o in gw.queue("meerpunt", "overdue")} == {sent_id, held_id}
    assert gw.queue(YOUTH_CARE, "overdue") == []  # the recipient's officer
    assert metric(gw, "meerpunt_overrides_inform_overdue", partner=SCHOOL) == len(school_overdue) == 1
    assert metric(gw, "meerpunt_overrides_inform_overdue", partner=FOUR_EYES) == 1
    informed = school.post(
        f"/v1/overrides/{sent_id}/subject-informed",
        json={"informed_at": later.isoformat(), "how": "Gesprek met moeder op school", "by": "Anna de Vries"},
    )
    assert informed.status_code == 200, informed.text
    assert gw.queue(SCHOOL, "overdue") == []
    assert metric(gw, "meerpunt_overrides_inform_overdue", partner=SCHOOL) == 0

    # 6. Review: the school's officer judges once; the recipient's officer cannot; a second verdict
    #    (even the central officer's) is refused.
    pending = gw.queue(SCHOOL, "pending_review")
    assert [o["id"] for o in pending] == [sent_id] and pending[0]["reviewable"] is True
    assert gw.queue(YOUTH_CARE, "pending_review") == []
    verdict = {"verdict": "justified", "note": "Voorwaarden onderbouwd, overleg vastgelegd."}
    url = f"/v1/overrides/{sent_id}/review"
    assert gw.anonymous.post(url, json=verdict, headers=gw.officer(YOUTH_CARE)).status_code == 403
    assert gw.anonymous.post(url, json=verdict, headers=gw.officer(SCHOOL)).status_code == 200
    again = gw.anonymous.post(
        url, json=dict(verdict, verdict="not_justified"), headers=gw.officer("meerpunt")
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("override-already-reviewed")

    # 7. Metrics per partner and ground, from the database: disclosed overrides (the expired hold
    #    is not one), reviews (one, not two), and the full state breakdown.
    school_labels = {"partner": SCHOOL, "basis": "override", "ground": "art7_5_not_asked_safety"}
    practice_labels = {"partner": FOUR_EYES, "basis": "override", "ground": "art7_5_not_asked_safety"}
    assert metric(gw, "meerpunt_overrides_total", **school_labels) == 1
    assert metric(gw, "meerpunt_overrides_total", **practice_labels) == 1
    assert metric(gw, "meerpunt_override_reviews_total", **school_labels, verdict="justified") == 1
    assert metric(gw, "meerpunt_override_reviews_total", **school_labels, verdict="not_justified") == 0
    expired = dict(practice_labels, approval_status="expired", review_status="pending_review", verdict="")
    assert metric(gw, "meerpunt_override_states", **expired) == 1
