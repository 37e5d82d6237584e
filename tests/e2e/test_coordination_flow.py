"""Coordination of help (1Huishouden-1Plan-1Regisseur) end to end over mTLS with four partners.

JGH (the municipality) is designated coordinator for a household of two children; the JGZ and
the school start help and report it; the school breaks off its help for one child; Jeugdbescherming
has no consent grant to the coordinator and is refused; the coordinator sees who has not reported;
a new family plan version reaches every involved partner; coordination is handed over to the JGZ,
which sees the history the consent allows. Officers find the coordination events in the register.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx

from exchange.crypto import decrypt_as_recipient
from tests.exchange.test_disclosures import consent_body, inbox_item, private_key, register_consent
from tests.support import FOUR_EYES, JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, idempotency_key, new_bsn

Client = Callable[[str], httpx.Client]
COORDINATOR = MUNICIPALITY
PRO = {"id": "p-1", "name": "Sanne Visser", "role": "casusregisseur"}


def consent(client: httpx.Client, bsn: str, grants: dict[str, list[str]]) -> None:
    body = consent_body(bsn, COORDINATOR, ["care_progress"])
    body["grants"] = [
        {
            "recipient": recipient,
            "categories": categories,
            "purpose": "Coördinatie van hulp (1H-1P-1R)",
            "granted": True,
        }
        for recipient, categories in grants.items()
    ]
    register_consent(client, body)


def notice(client: httpx.Client, household: str, bsn: str, kind: str, **fields: str) -> httpx.Response:
    return client.post(
        f"/v1/coordination/households/{household}/notices",
        json={"type": kind, "subject": {"bsn": bsn}, "professional": PRO, **fields},
        headers={"Idempotency-Key": idempotency_key()},
    )


def opened(
    env: DevEnv, client: httpx.Client, oin: str, message_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    item = inbox_item(client, message_id)
    payload = json.loads(decrypt_as_recipient(item["payload_jwe"], private_key(env, oin)))
    return item, payload


def test_four_partners_coordinate_one_household(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    jgh, jgz, school, jb = (client_for(oin) for oin in (COORDINATOR, JGZ, SCHOOL, YOUTH_CARE))
    first, second = new_bsn(), new_bsn()
    # Art. 6.1: each partner asked consent for disclosure to the coordinator too. The school's
    # consent for the first child also covers the JGZ (the later coordinator); for the second not.
    for bsn in (first, second):
        consent(jgz, bsn, {COORDINATOR: ["care_progress", "referral"]})
        consent(jgh, bsn, {JGZ: ["family_plan"], SCHOOL: ["family_plan"], YOUTH_CARE: ["family_plan"]})
        consent(jb, bsn, {SCHOOL: ["contact"]})  # no grant to the coordinator
    consent(school, first, {COORDINATOR: ["care_progress"], JGZ: ["care_progress"]})
    consent(school, second, {COORDINATOR: ["care_progress"]})

    designated = jgh.post(
        "/v1/coordination/households",
        json={
            "children": [{"bsn": first}, {"bsn": second}],
            "involved": [JGZ, SCHOOL, YOUTH_CARE],
            "coordinator": {"form": "partner", "partner": COORDINATOR},
            "reason": "Rondetafelgesprek: JGH voert casusregie",
            "professional": PRO,
        },
    )
    assert designated.status_code == 201, designated.text
    household = designated.json()
    hid = household["id"]
    assert household["coordinator"]["active_partner"] == COORDINATOR
    assert household["children"] == [1, 2]
    assert set(household["involved"]) == {COORDINATOR, JGZ, SCHOOL, YOUTH_CARE}
    # Every involved partner's system sees the designation; a partner not involved does not.
    assert jgz.get(f"/v1/coordination/households/{hid}").json()["events"][0]["kind"] == "designated"
    assert [
        h["id"]
        for h in school.get("/v1/coordination/households", params={"subject_bsn": second}).json()["items"]
    ] == [hid]
    assert client_for(FOUR_EYES).get(f"/v1/coordination/households/{hid}").status_code == 404

    started_jgz = notice(jgz, hid, first, "help_started", note="Start opvoedondersteuning")
    assert started_jgz.status_code == 202, started_jgz.text
    assert started_jgz.json()["coordinator"] == COORDINATOR and started_jgz.json()["register_entry"]
    started_school = [notice(school, hid, bsn, "help_started") for bsn in (first, second)]
    assert [r.status_code for r in started_school] == [202, 202], [r.text for r in started_school]
    # A notice must say what its type requires (§10.2): the cause of breaking off.
    missing = notice(school, hid, first, "help_broken_off")
    assert missing.status_code == 422
    assert [(v["code"], v["article"]) for v in missing.json()["violations"]] == [
        ("cause_missing", "Spoorboekje 10.2")
    ]
    broken = notice(school, hid, first, "help_broken_off", cause="Gezin verhuisd naar Delft")
    assert broken.status_code == 202, broken.text

    # The fourth partner has no consent grant to the coordinator: refused, and the refusal registered.
    refused = notice(jb, hid, first, "help_started")
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["violations"][0]["article"] in ("6.1",)

    # The coordinator's system gets the notices as inbox items of kind "notice", encrypted to it.
    item, payload = opened(dev_env, jgh, COORDINATOR, broken.json()["id"])
    assert item["kind"] == "notice" and item["sender"] == SCHOOL and item["categories"] == ["care_progress"]
    assert payload["notice_type"] == "help_broken_off" and payload["cause"] == "Gezin verhuisd naar Delft"
    ack = jgh.post(f"/v1/inbox/{item['id']}/ack", json={"professional": PRO})
    assert ack.status_code == 200 and ack.json()["register_entry"]

    overview = jgh.get(f"/v1/coordination/households/{hid}/notices").json()
    assert sorted((n["sender"], n["notice_type"], n["child"]) for n in overview["items"]) == sorted(
        [
            (JGZ, "help_started", 1),
            (SCHOOL, "help_started", 1),
            (SCHOOL, "help_started", 2),
            (SCHOOL, "help_broken_off", 1),
        ]
    )
    assert overview["not_reported_start"] == [YOUTH_CARE]
    assert sorted(overview["not_reported_end"]) == sorted([JGZ, YOUTH_CARE])
    # Another partner does not see the coordinator's notices.
    assert jgz.get(f"/v1/coordination/households/{hid}/notices").json()["items"] == []

    # A new family plan version reaches every involved partner, for each child.
    plan = jgh.post(
        f"/v1/coordination/households/{hid}/plan-versions",
        json={
            "children": [{"bsn": first}, {"bsn": second}],
            "payload": {"doelen": ["Rust in huis", "Naar school"], "afspraken": ["JGZ bezoekt wekelijks"]},
            "professional": PRO,
        },
        headers={"Idempotency-Key": idempotency_key()},
    )
    assert plan.status_code == 202, plan.text
    version = plan.json()
    assert version["version"] == 1
    deliveries = {(d["recipient"], d["child"]): d for d in version["deliveries"]}
    assert set(deliveries) == {(p, c) for p in (JGZ, SCHOOL, YOUTH_CARE) for c in (1, 2)}
    for (oin, child), delivery in deliveries.items():
        assert delivery["status"] == "accepted" and delivery["register_entry"]
        item, content = opened(dev_env, client_for(oin), oin, delivery["disclosure_id"])
        assert item["kind"] == "disclosure" and item["categories"] == ["family_plan"]
        assert (
            content["version"] == 1
            and content["child"] == child
            and content["plan"]["doelen"][0] == "Rust in huis"
        )
    listed = school.get(f"/v1/coordination/households/{hid}/plan-versions").json()["items"]
    assert [v["version"] for v in listed] == [1] and len(listed[0]["deliveries"]) == 6
    # Only the coordinator keeps the plan.
    assert (
        jgz.post(
            f"/v1/coordination/households/{hid}/plan-versions",
            json={"children": [{"bsn": first}], "payload": {"x": 1}, "professional": PRO},
            headers={"Idempotency-Key": idempotency_key()},
        ).status_code
        == 422
    )

    # Hand-over: only the coordinator may; then the JGZ coordinates.
    assert (
        jgz.post(
            f"/v1/coordination/households/{hid}/handover",
            json={"coordinator": {"form": "partner", "partner": JGZ}, "professional": PRO},
        ).status_code
        == 403
    )
    handed = jgh.post(
        f"/v1/coordination/households/{hid}/handover",
        json={
            "coordinator": {"form": "partner", "partner": JGZ},
            "reason": "Afschalen naar JGZ",
            "professional": PRO,
        },
    )
    assert handed.status_code == 200, handed.text
    history = jgz.get(f"/v1/coordination/households/{hid}").json()
    assert history["coordinator"]["active_partner"] == JGZ
    assert [e["kind"] for e in history["events"] if e["kind"] != "notice"][:2] == [
        "designated",
        "plan_version",
    ]
    assert (
        history["events"][-1]["kind"] == "handed_over" and history["events"][-1]["recipient"] == COORDINATOR
    )
    school_notices = {
        (e["child"], e["notice_type"], e["withheld"])
        for e in history["events"]
        if e["kind"] == "notice" and e["actor"] == SCHOOL
    }
    # The school's consent covers the JGZ for the first child only: the second child's notice is withheld.
    assert school_notices == {(1, "help_started", False), (1, "help_broken_off", False), (2, None, True)}
    # Notices now go to the new coordinator.
    ended = notice(school, hid, first, "help_ended", effects="Schoolgang hersteld")
    assert ended.status_code == 202 and ended.json()["coordinator"] == JGZ

    checklist = {
        s["step"]: s["done"] for s in jgz.get(f"/v1/coordination/households/{hid}/checklist").json()["items"]
    }
    assert checklist["coordinator_designated"] is True and checklist["family_plan_made"] is True
    assert checklist["goals_evaluated"] is True and checklist["question_formulated"] is None
    assert len(checklist) == 12

    # Ending: afterwards a notice to the coordinator is refused with the rule named.
    assert (
        jgz.post(
            f"/v1/coordination/households/{hid}/end",
            json={"reason": "Gezin kan zelfstandig verder", "professional": PRO},
        ).status_code
        == 200
    )
    orphan = notice(school, hid, second, "help_ended", effects="Afgesloten")
    assert orphan.status_code == 422
    assert orphan.headers["content-type"] == "application/problem+json"
    assert [(v["code"], v["article"]) for v in orphan.json()["violations"]] == [
        ("no_coordinator", "Spoorboekje 10.2")
    ]

    # Officers: the central officer sees each change, per child; the school's officer none of them
    # (not its organisation's entries), the JGH officer the designation and the hand-over.
    def kinds(org: str, bsn: str) -> list[str]:
        response = anonymous.get(
            "/v1/register", params={"subject_bsn": bsn, "limit": 500}, headers=dev_env.officer_headers(org)
        )
        assert response.status_code == 200, response.text
        return [e["kind"] for e in response.json()["items"] if e["kind"].startswith("coordination_")]

    for bsn in (first, second):
        assert kinds("meerpunt", bsn) == [
            "coordination_designated",
            "coordination_handed_over",
            "coordination_ended",
        ]
        assert kinds(COORDINATOR, bsn) == ["coordination_designated", "coordination_handed_over"]
        assert kinds(SCHOOL, bsn) == []
    central = anonymous.get(
        "/v1/register",
        params={"kind": "coordination_handed_over", "subject_bsn": first},
        headers=dev_env.officer_headers("meerpunt"),
    ).json()["items"]
    assert central[0]["sender"] == COORDINATOR and central[0]["recipient"] == JGZ


def test_designation_rules_are_checked(client_for: Client) -> None:
    jgh = client_for(COORDINATOR)
    bsn = new_bsn()
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=200)).isoformat()
    response = jgh.post(
        "/v1/coordination/households",
        json={
            "children": [{"bsn": bsn}, {"bsn": bsn}],
            "involved": [JGZ],
            "coordinator": {"form": "process_coordinator", "partner": JGZ, "until": until},
            "professional": PRO,
        },
    )
    assert response.status_code == 422
    assert {(v["code"], v["article"]) for v in response.json()["violations"]} == {
        ("duplicate_child", "Spoorboekje 10.2"),
        ("process_coordination_too_long", "Spoorboekje 10.3"),
    }


def test_family_coordinates_no_notice_goes_anywhere(client_for: Client) -> None:
    jgh, jgz = client_for(COORDINATOR), client_for(JGZ)
    bsn = new_bsn()
    created = jgh.post(
        "/v1/coordination/households",
        json={
            "children": [{"bsn": bsn}],
            "involved": [JGZ],
            "coordinator": {"form": "family"},
            "professional": PRO,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["coordinator"]["active_partner"] is None
    refused = notice(jgz, created.json()["id"], bsn, "help_started")
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["code"] == "no_coordinator"
