"""Citizens' right of access (art. 10, 16) end to end with tokens and certificates from `init`."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from audit.access.rules import Relationship, due_date, eligibility
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.exchange.test_overrides import override_basis
from tests.support import FOUR_EYES, JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, new_bsn

Client = Callable[[str], httpx.Client]
DESK = {"id": "d-1", "name": "Baliemedewerker JGZ", "role": "baliemedewerker"}
CENTRAL = "meerpunt"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
URL = "/v1/subject-access-requests"


def birth_date(years: int, days: int = 0) -> str:
    today = dt.date.today()
    return (today.replace(year=today.year - years) - dt.timedelta(days=days)).isoformat()


def lodge(anonymous: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return anonymous.post(URL, json=body, headers=headers)


def signed_consent(
    child: str,
    age: int,
    *parents: str | None,
    youth: bool = False,
    given_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A consent for `child` signed by two parents with gezag (the given BSNs identify them)."""
    body = consent_body(child, SCHOOL, ["contact"], birth_date=birth_date(age))
    names = ("Ouder Een", "Ouder Twee")
    body["signatories"] = [
        {"role": "parent_with_authority", "name": name} | ({"bsn": bsn} if bsn else {})
        for name, bsn in zip(names, (*parents, None, None)[:2], strict=True)
    ]
    if youth:
        body["signatories"].append({"role": "youth", "name": "Jongere"})
    if given_at is not None:
        body["given_at"] = given_at.isoformat()
        body["valid_until"] = (given_at + dt.timedelta(days=300)).isoformat()
    return body


def release(anonymous: httpx.Client, dev_env: DevEnv, request_id: str, org: str = CENTRAL) -> httpx.Response:
    return anonymous.post(
        f"{URL}/{request_id}/decision", json={"decision": "release"}, headers=dev_env.officer_headers(org)
    )


def register_entries(
    anonymous: httpx.Client, dev_env: DevEnv, bsn: str, kind: str, org: str = CENTRAL
) -> list[dict[str, Any]]:
    response = anonymous.get(
        "/v1/register", params={"subject_bsn": bsn, "kind": kind}, headers=dev_env.officer_headers(org)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def metric(anonymous: httpx.Client, line: str) -> float:
    text = anonymous.get("/metrics").text
    found = re.search(rf"^{re.escape(line)} (\S+)$", text, re.MULTILINE)
    assert found, f"{line} not in /metrics"
    return float(found.group(1))


# --- Pure rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 15), dt.date(2026, 4, 15)),
        (dt.date(2026, 12, 31), dt.date(2027, 1, 31)),
        (dt.date(2026, 8, 31), dt.date(2026, 9, 30)),
    ],
)
def test_due_date_is_one_calendar_month(received: dt.date, due: dt.date) -> None:
    assert due_date(received) == due


@pytest.mark.parametrize(
    ("relationship", "age", "outcome"),
    [
        (Relationship.SELF, 11, "forbidden"),
        (Relationship.SELF, 12, "needs_representative"),
        (Relationship.SELF, 15, "needs_representative"),
        (Relationship.SELF, 16, "allowed"),
        (Relationship.PARENT_WITH_AUTHORITY, 8, "allowed"),
        (Relationship.GUARDIAN, 11, "allowed"),
        (Relationship.PARENT_WITH_AUTHORITY, 12, "needs_youth"),
        (Relationship.PARENT_WITH_AUTHORITY, 16, "forbidden"),
        (Relationship.PARENT_WITH_AUTHORITY, None, "age_unknown"),
    ],
)
def test_who_may_ask_for_whom(relationship: Relationship, age: int | None, outcome: str) -> None:
    assert eligibility(relationship, age).outcome == outcome


# --- The whole flow ------------------------------------------------------------------------------


def test_parent_of_an_eight_year_old_gets_the_full_report(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent, stranger = new_bsn(), new_bsn(), new_bsn()
    jgz, school = client_for(JGZ), client_for(SCHOOL)
    register_consent(jgz, consent_body(child, SCHOOL, ["contact", "health"], birth_date=birth_date(8)))
    register_consent(jgz, consent_body(child, YOUTH_CARE, ["help_request"], birth_date=birth_date(8)))
    first = send(jgz, disclosure_body(child, SCHOOL, ["contact", "health"])).json()["id"]
    send(jgz, disclosure_body(child, YOUTH_CARE, ["help_request"]))
    school.post(f"/v1/inbox/{first}/ack")
    override = send(school, disclosure_body(child, YOUTH_CARE, ["safety"], legal_basis=override_basis()))
    assert override.status_code == 202

    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert lodged.status_code == 202, lodged.text
    request = lodged.json()
    assert request["status"] == "pending_verification"  # gezag is not yet evidenced
    assert "verify" in request["status_message"]
    assert "identiteitsbewijs" in request["status_message_nl"]
    assert request["due_date"] == due_date(dt.datetime.now(AMSTERDAM).date()).isoformat()
    request_id = request["id"]

    # A stranger can neither read it nor its report.
    stranger_headers = dev_env.citizen_headers(stranger)
    assert anonymous.get(f"{URL}/{request_id}", headers=stranger_headers).status_code == 404
    assert anonymous.get(f"{URL}/{request_id}/report", headers=stranger_headers).status_code == 404

    verified = jgz.post(
        f"{URL}/{request_id}/verification", json={"professional": DESK, "representative_bsn": parent}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "pending_decision"
    parent_headers = dev_env.citizen_headers(parent)
    assert anonymous.get(f"{URL}/{request_id}/report", headers=parent_headers).status_code == 409
    waiting = anonymous.get(f"{URL}/{request_id}/report.html", headers=parent_headers)
    assert waiting.status_code == 409 and waiting.headers["content-type"].startswith("text/html")
    assert "functionaris gegevensbescherming beslist" in waiting.text

    central = dev_env.officer_headers(CENTRAL)
    refused = anonymous.post(f"{URL}/{request_id}/decision", json={"decision": "refuse"}, headers=central)
    assert refused.status_code == 422
    assert {v["code"] for v in refused.json()["violations"]} == {
        "refusal_ground_missing",
        "motivation_missing",
    }
    # Neither a partner's officer elsewhere nor the verifying partner's officer may decide it.
    for org in (YOUTH_CARE, JGZ):
        assert release(anonymous, dev_env, request_id, org).status_code == 404
    assert release(anonymous, dev_env, request_id).status_code == 200

    report = anonymous.get(f"{URL}/{request_id}/report", headers=parent_headers)
    assert report.status_code == 200
    body = report.json()
    assert body["outcome"] == "released"
    assert body["subject"]["label"].endswith(child[-4:]) and child not in report.text
    disclosures = body["disclosures"]
    assert len(disclosures) == 3
    pairs = {(d["sender"]["oin"], d["recipient"]["oin"], d["legal_basis"]["type"]) for d in disclosures}
    assert pairs == {(JGZ, SCHOOL, "consent"), (JGZ, YOUTH_CARE, "consent"), (SCHOOL, YOUTH_CARE, "override")}
    acknowledged = next(d for d in disclosures if d["recipient"]["oin"] == SCHOOL)
    assert acknowledged["acknowledged"] is True and acknowledged["delivery"] == "acknowledged"
    assert {c["code"] for c in acknowledged["categories"]} == {"contact", "health"}
    assert len(body["consents"]) == 2
    assert {r["code"] for r in body["rights"]} >= {
        "correction",
        "erasure",
        "objection",
        "restriction",
        "portability",
        "complaint",
    }

    html = anonymous.get(f"{URL}/{request_id}/report.html", headers=parent_headers)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in html.text
    assert "Lichamelijke gezondheid" in html.text
    assert "artikel 7 lid 3" in html.text
    assert not re.search(r"<(script|link|img)\b", html.text)

    # Every read of the report is registered, and the central officer sees who read it.
    reads = register_entries(anonymous, dev_env, child, "register_accessed")
    report_reads = [e for e in reads if e["details"].get("action") == "access_report"]
    assert [(e["actor_role"], e["details"]["format"]) for e in report_reads] == [
        ("citizen", "json"),
        ("citizen", "html"),
    ]
    assert all(e["details"]["request_id"] == request_id for e in report_reads)
    [verification] = register_entries(anonymous, dev_env, child, "access_request_verified")
    assert verification["actor_org"] == JGZ
    assert verification["details"]["person"] == "requester"


def test_the_verifying_partner_gains_no_say_and_partner_systems_read_no_citizen_request(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(child, 8))
    send(client_for(JGZ), disclosure_body(child, SCHOOL, ["contact"]))
    request_id = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    ).json()["id"]
    verified = client_for(MUNICIPALITY).post(
        f"{URL}/{request_id}/verification", json={"professional": DESK, "representative_bsn": parent}
    )
    assert verified.json()["status"] == "pending_decision"
    # The municipality verified the parent, but its officer, whose organisation had nothing to do
    # with the child, neither decides nor reads the child's history across partners.
    municipality_officer = dev_env.officer_headers(MUNICIPALITY)
    assert anonymous.get(f"{URL}/{request_id}/report", headers=municipality_officer).status_code == 404
    assert release(anonymous, dev_env, request_id, MUNICIPALITY).status_code == 404
    assert release(anonymous, dev_env, request_id).status_code == 200
    for oin in (MUNICIPALITY, JGZ, SCHOOL):
        system = client_for(oin)
        assert system.get(f"{URL}/{request_id}").status_code == 404
        assert system.get(f"{URL}/{request_id}/report").status_code == 404
        assert system.get(f"{URL}/{request_id}/report.html").status_code == 404
    parent_headers = dev_env.citizen_headers(parent)
    assert anonymous.get(f"{URL}/{request_id}/report", headers=parent_headers).status_code == 200


def test_a_verification_names_whom_it_verified_and_does_not_hand_the_request_to_its_partner(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(child, 7))
    request_id = lodge(
        anonymous, dev_env.citizen_headers(parent), {"subject_bsn": child, "relationship": "guardian"}
    ).json()["id"]
    school = client_for(SCHOOL)
    wrong = school.post(
        f"{URL}/{request_id}/verification", json={"professional": DESK, "representative_bsn": new_bsn()}
    )
    assert wrong.status_code == 422
    assert [v["code"] for v in wrong.json()["violations"]] == ["representative_unknown"]
    verified = school.post(
        f"{URL}/{request_id}/verification",
        json={"professional": DESK, "representative_bsn": parent, "note": "Paspoort en gezagsregister"},
    )
    assert verified.json()["status"] == "pending_decision"
    assert school.post(f"{URL}/{request_id}/verification", json={"professional": DESK}).status_code == 409
    # The school's officer cannot decide a citizen's DigiD request; the central officer sees the
    # verification, which partner and professional did it, and whom they verified.
    assert release(anonymous, dev_env, request_id, SCHOOL).status_code == 404
    view = anonymous.get(f"{URL}/{request_id}", headers=dev_env.officer_headers(CENTRAL)).json()
    assert view["lodged_with"] is None
    [verification] = view["verifications"]
    assert verification["partner"] == SCHOOL and verification["name"] == DESK["name"]
    assert (verification["person"], verification["relationship"], verification["bsn_checked"]) == (
        "requester",
        "guardian",
        True,
    )
    [entry] = register_entries(anonymous, dev_env, child, "access_request_verified")
    assert entry["professional"]["name"] == DESK["name"] and entry["actor_org"] == SCHOOL


def test_a_request_art_16_forbids_is_rejected_at_verification_with_a_dutch_letter(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    subject, parent = new_bsn(), new_bsn()  # no consent on record: the age is unknown
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {
            "subject_bsn": subject,
            "relationship": "parent_with_authority",
            "subject_birth_date": birth_date(9),
        },
    ).json()
    assert lodged["status"] == "pending_verification"
    verified = client_for(JGZ).post(
        f"{URL}/{lodged['id']}/verification",
        json={"professional": DESK, "representative_bsn": parent, "subject_birth_date": birth_date(17)},
    )
    assert verified.status_code == 200, verified.text
    result = verified.json()
    assert result["status"] == "rejected"
    assert result["rejection"]["article"] == "16.2"
    assert release(anonymous, dev_env, lodged["id"]).status_code == 409
    letter = anonymous.get(f"{URL}/{lodged['id']}/report.html", headers=dev_env.citizen_headers(parent))
    assert letter.status_code == 200
    assert "Vanaf 16 jaar vraagt de jongere" in letter.text
    assert "Autoriteit Persoonsgegevens" in letter.text


# --- Art. 16: from 12 to 16 together -------------------------------------------------------------


def test_a_fourteen_year_olds_request_needs_both(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, parent = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(youth, 14, youth=True))
    lodged = lodge(
        anonymous, dev_env.citizen_headers(youth), {"subject_bsn": youth, "relationship": "self"}
    ).json()
    assert lodged["status"] == "pending_co_requester"
    assert "representative" in lodged["status_message"]
    request_id = lodged["id"]
    # The youth alone cannot confirm their own request as the second party.
    confirm_url = f"{URL}/{request_id}/confirmation"
    assert anonymous.post(confirm_url, headers=dev_env.citizen_headers(youth)).status_code == 404
    joined = anonymous.post(confirm_url, headers=dev_env.citizen_headers(parent))
    assert joined.status_code == 202  # held: the parent's gezag still needs evidence
    assert joined.json()["status"] == "pending_verification"
    # Only when a professional names the parent does the parent join.
    verified = client_for(JGZ).post(
        f"{URL}/{request_id}/verification", json={"professional": DESK, "representative_bsn": parent}
    )
    assert verified.json()["status"] == "pending_decision", verified.text
    for person in (youth, parent):
        assert (
            anonymous.get(f"{URL}/{request_id}", headers=dev_env.citizen_headers(person)).status_code == 200
        )
    confirmations = register_entries(anonymous, dev_env, youth, "access_request_confirmed")
    assert [e["details"]["outcome"] for e in confirmations] == ["candidate"]


def test_a_strangers_confirmation_never_makes_them_the_representative(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, parent, stranger = new_bsn(), new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(youth, 13, parent, youth=True))
    request_id = lodge(
        anonymous, dev_env.citizen_headers(youth), {"subject_bsn": youth, "relationship": "self"}
    ).json()["id"]
    confirm_url = f"{URL}/{request_id}/confirmation"
    held = anonymous.post(confirm_url, headers=dev_env.citizen_headers(stranger))
    assert held.status_code == 202
    assert anonymous.get(f"{URL}/{request_id}", headers=dev_env.citizen_headers(stranger)).status_code == 404
    # The real parent, named on a consent in force, still joins.
    joined = anonymous.post(confirm_url, headers=dev_env.citizen_headers(parent))
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "pending_decision"
    # Nobody replaces them afterwards.
    again = anonymous.post(confirm_url, headers=dev_env.citizen_headers(new_bsn()))
    assert again.status_code == 404  # no longer awaiting a confirmation
    assert release(anonymous, dev_env, request_id).status_code == 200
    assert (
        anonymous.get(f"{URL}/{request_id}/report", headers=dev_env.citizen_headers(stranger)).status_code
        == 404
    )
    for person in (youth, parent):
        assert (
            anonymous.get(f"{URL}/{request_id}/report", headers=dev_env.citizen_headers(person)).status_code
            == 200
        )
    outcomes = [
        e["details"]["outcome"]
        for e in register_entries(anonymous, dev_env, youth, "access_request_confirmed")
    ]
    assert outcomes == ["candidate", "joined"]


def test_a_youth_confirms_a_parents_request_only_with_their_own_bsn(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, parent = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(youth, 15, parent, youth=True))
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": youth, "relationship": "parent_with_authority"},
    ).json()
    assert (lodged["status"], "youth" in lodged["status_message"]) == ("pending_co_requester", True)
    confirm_url = f"{URL}/{lodged['id']}/confirmation"
    assert anonymous.post(confirm_url, headers=dev_env.citizen_headers(new_bsn())).status_code == 404
    joined = anonymous.post(confirm_url, headers=dev_env.citizen_headers(youth))
    assert (joined.status_code, joined.json()["status"]) == (200, "pending_decision")


# --- The age comes from the record ---------------------------------------------------------------


def test_a_parents_claimed_birth_date_does_not_skip_the_youth(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, parent = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(youth, 14, parent, youth=True))
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": youth, "relationship": "parent_with_authority", "subject_birth_date": birth_date(8)},
    ).json()
    assert lodged["status"] == "pending_verification"  # not pending_decision: the claim disagrees
    verified = client_for(JGZ).post(
        f"{URL}/{lodged['id']}/verification",
        json={"professional": DESK, "subject_birth_date": birth_date(14)},
    )
    assert verified.json()["status"] == "pending_co_requester"  # the youth must still join


@pytest.mark.parametrize(("recorded", "claimed"), [(13, 17), (None, 17), (None, 30)])
def test_a_youths_claimed_age_does_not_let_them_ask_alone(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv, recorded: int | None, claimed: int
) -> None:
    youth = new_bsn()
    if recorded is not None:
        register_consent(client_for(JGZ), signed_consent(youth, recorded, youth=True))
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(youth),
        {"subject_bsn": youth, "relationship": "self", "subject_birth_date": birth_date(claimed)},
    )
    assert lodged.status_code == 202
    assert lodged.json()["status"] == "pending_verification"


def test_under_twelve_cannot_ask_alone_and_sixteen_plus_not_through_a_parent(
    anonymous: httpx.Client, dev_env: DevEnv, client_for: Client
) -> None:
    child, adult = new_bsn(), new_bsn()
    register_consent(client_for(JGZ), signed_consent(child, 10))
    refused = lodge(anonymous, dev_env.citizen_headers(child), {"subject_bsn": child, "relationship": "self"})
    assert refused.status_code == 403
    assert refused.json()["violations"][0]["article"] == "16.1"
    register_consent(
        client_for(JGZ),
        consent_body(adult, SCHOOL, ["contact"], birth_date=birth_date(17))
        | {"signatories": [{"role": "youth", "name": "Jongere"}]},
    )
    via_parent = lodge(
        anonymous,
        dev_env.citizen_headers(new_bsn()),
        {"subject_bsn": adult, "relationship": "parent_with_authority"},
    )
    assert via_parent.status_code == 403
    # Nobody can ask about someone else as "self".
    assert (
        lodge(
            anonymous, dev_env.citizen_headers(new_bsn()), {"subject_bsn": adult, "relationship": "self"}
        ).status_code
        == 403
    )


# --- Evidence of gezag ----------------------------------------------------------------------------


def test_a_parent_who_signed_a_consent_is_recognised_as_representative(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    body = signed_consent(child, 6, parent)
    register_consent(client_for(JGZ), body)
    lodged = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert lodged.json()["status"] == "pending_decision"
    # The other parent, not identified on the form, still needs a professional's verification.
    other = lodge(
        anonymous,
        dev_env.citizen_headers(new_bsn()),
        {"subject_bsn": child, "relationship": "parent_with_authority"},
    )
    assert other.json()["status"] == "pending_verification"
    bad = dict(body, signatories=[{"role": "parent_with_authority", "name": "Moeder", "bsn": "123456789"}])
    assert client_for(JGZ).post("/v1/consents", json=bad).status_code == 422


def test_an_old_or_withdrawn_consent_is_no_evidence_of_gezag_now(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    jgz = client_for(JGZ)
    old_child, parent = new_bsn(), new_bsn()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    register_consent(jgz, signed_consent(old_child, 8, parent, given_at=long_ago))
    old = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": old_child, "relationship": "parent_with_authority"},
    )
    assert old.json()["status"] == "pending_verification"

    withdrawn_child = new_bsn()
    consent_id = register_consent(jgz, signed_consent(withdrawn_child, 8, parent))
    withdrawal = jgz.post(
        f"/v1/consents/{consent_id}/withdrawal",
        json={"received_at": dt.datetime.now(dt.UTC).isoformat(), "evidence_sha256": "cd" * 32},
    )
    assert withdrawal.status_code == 201, withdrawal.text
    after = lodge(
        anonymous,
        dev_env.citizen_headers(parent),
        {"subject_bsn": withdrawn_child, "relationship": "parent_with_authority"},
    )
    assert after.json()["status"] == "pending_verification"


# --- Partner desk (art. 10.1-10.2) ----------------------------------------------------------------


def desk_body(subject: str, **change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_bsn": subject,
        "relationship": "self",
        "subject_birth_date": birth_date(30),
        "requester_name": "J. Jansen",
        "verified_by": DESK,
    }
    return {key: value for key, value in (body | change).items() if value is not None}


def test_a_desk_request_names_the_requester_and_its_system_reads_it_only_once_decided(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent = new_bsn(), new_bsn()
    desk = client_for(JGZ)
    register_consent(desk, signed_consent(child, 8))
    send(desk, disclosure_body(child, SCHOOL, ["contact"]))
    parent_request = desk_body(child, relationship="parent_with_authority", subject_birth_date=None)
    missing = desk.post(URL, json=parent_request | {"requester_name": None})
    assert {v["code"] for v in missing.json()["violations"]} == {"requester_missing", "requester_bsn_missing"}
    lodged = desk.post(URL, json=parent_request | {"requester_bsn": parent})
    assert lodged.status_code == 202, lodged.text
    assert lodged.json()["status"] == "pending_decision"
    request_id = lodged.json()["id"]
    [received] = register_entries(anonymous, dev_env, child, "access_request_received")
    assert received["details"]["requester"]["name"] == "J. Jansen"
    assert received["details"]["requester"]["bsn_hash"] and parent not in str(received)
    assert received["professional"]["name"] == DESK["name"]

    assert desk.get(f"{URL}/{request_id}/report").status_code == 409  # not before the decision
    assert client_for(SCHOOL).get(f"{URL}/{request_id}").status_code == 404
    jgz_officer = dev_env.officer_headers(JGZ)
    assert anonymous.get(f"{URL}/{request_id}/report", headers=jgz_officer).status_code == 200  # to decide
    assert release(anonymous, dev_env, request_id, JGZ).status_code == 200
    handed_over = desk.get(f"{URL}/{request_id}/report.html")
    assert handed_over.status_code == 200 and "OPOZ" in handed_over.text

    # The central officer sees the decision by the desk's officer and every read.
    [decided] = register_entries(anonymous, dev_env, child, "access_request_decided")
    assert decided["actor_org"] == JGZ
    reads = [
        (e["actor_role"], e["actor_org"])
        for e in register_entries(anonymous, dev_env, child, "register_accessed")
        if e["details"].get("action") == "access_report"
    ]
    assert reads == [("privacy_officer", JGZ), ("partner", JGZ)]


def test_partner_desk_lodges_a_written_request_and_a_refusal_is_a_motivated_dutch_letter(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    subject = new_bsn()
    desk = client_for(JGZ)
    without = desk.post(URL, json=desk_body(subject, verified_by=None))
    assert without.status_code == 422
    lodged = desk.post(URL, json=desk_body(subject))
    assert lodged.status_code == 202
    assert lodged.json()["status"] == "pending_decision"
    request_id = lodged.json()["id"]
    jgz_officer = dev_env.officer_headers(JGZ)
    decision = {
        "decision": "refuse",
        "ground": "art10_6_e",
        "motivation": "Inzage brengt de veiligheid van een ander in gevaar.",
    }
    assert (
        anonymous.post(f"{URL}/{request_id}/decision", json=decision, headers=jgz_officer).status_code == 200
    )
    status = desk.get(f"{URL}/{request_id}").json()
    assert status["status"] == "refused" and status["ground"] == "art10_6_e"
    letter = desk.get(f"{URL}/{request_id}/report")
    assert letter.status_code == 200
    refusal = letter.json()
    assert refusal["outcome"] == "refused" and refusal["disclosures"] == []
    assert refusal["refusal"]["motivation"] == decision["motivation"]
    assert "artikel 10 lid 6 onder e" in refusal["refusal"]["ground_label"]
    html = desk.get(f"{URL}/{request_id}/report.html").text
    assert "Wij wijzen uw verzoek af" in html and "de bescherming van u of van de rechten" in html
    assert decision["motivation"] in html and "Autoriteit Persoonsgegevens" in html


def test_a_ground_is_one_of_art_10_6_whatever_the_decision(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    request_id = client_for(JGZ).post(URL, json=desk_body(new_bsn())).json()["id"]
    jgz_officer = dev_env.officer_headers(JGZ)
    bad = anonymous.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "release", "ground": "art10_6_e because of everything"},
        headers=jgz_officer,
    )
    assert bad.status_code == 422, bad.text
    assert [(v["code"], v["article"]) for v in bad.json()["violations"]] == [
        ("refusal_ground_unknown", "10.6")
    ]
    assert client_for(JGZ).get(f"{URL}/{request_id}").json()["status"] == "pending_decision"
    assert release(anonymous, dev_env, request_id, JGZ).status_code == 200


# --- Deadlines, worklist, metrics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_local", "due"),
    [
        (dt.datetime(2026, 1, 31, 12, 0), "2026-02-28"),
        (dt.datetime(2028, 1, 31, 12, 0), "2028-02-29"),
        (dt.datetime(2026, 2, 1, 0, 30), "2026-03-01"),  # 31 January 23:30 UTC
    ],
)
def test_the_due_date_is_one_month_after_the_dutch_calendar_day(
    anonymous: httpx.Client,
    dev_env: DevEnv,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    received_local: dt.datetime,
    due: str,
) -> None:
    moment = received_local.replace(tzinfo=AMSTERDAM).astimezone(dt.UTC)
    monkeypatch.setattr(runtime, "clock", lambda: moment)
    citizen = new_bsn()
    lodged = lodge(
        anonymous, dev_env.citizen_headers(citizen), {"subject_bsn": citizen, "relationship": "self"}
    )
    assert lodged.status_code == 202, lodged.text
    assert lodged.json()["due_date"] == due


def test_overdue_requests_show_up_for_officers_and_in_the_metric(
    anonymous: httpx.Client,
    dev_env: DevEnv,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    client_for: Client,
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
    monkeypatch.setattr(runtime, "clock", lambda: later)
    overdue_before = metric(anonymous, "meerpunt_access_requests_overdue")
    deciding_before = metric(anonymous, 'meerpunt_access_requests{status="pending_decision"}')
    monkeypatch.undo()
    request_id = client_for(JGZ).post(URL, json=desk_body(new_bsn())).json()["id"]
    monkeypatch.setattr(runtime, "clock", lambda: later)
    assert metric(anonymous, "meerpunt_access_requests_overdue") == overdue_before + 1
    assert metric(anonymous, 'meerpunt_access_requests{status="pending_decision"}') == deciding_before + 1
    assert metric(anonymous, "meerpunt_access_requests_metrics_up") == 1

    central = dev_env.officer_headers(CENTRAL)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"status": "overdue", "limit": "200"} | ({"cursor": cursor} if cursor else {})
        page = anonymous.get(URL, params=params, headers=central).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert request_id in seen and len(seen) == len(set(seen))
    assert release(anonymous, dev_env, request_id).status_code == 200
    assert metric(anonymous, "meerpunt_access_requests_overdue") == overdue_before


def test_the_worklist_paginates_and_validates_its_filter(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    desk = client_for(FOUR_EYES)
    ids = [desk.post(URL, json=desk_body(new_bsn())).json()["id"] for _ in range(3)]
    officer = dev_env.officer_headers(FOUR_EYES)
    first = anonymous.get(URL, params={"limit": "2"}, headers=officer).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = anonymous.get(URL, params={"limit": "2", "cursor": first["next_cursor"]}, headers=officer).json()
    listed = [item["id"] for item in first["items"] + second["items"]]
    assert listed[-3:] == ids and len(listed) == len(set(listed))
    assert second["next_cursor"] is None
    bad = anonymous.get(URL, params={"status": "everything"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["violations"][0]["code"] == "unknown_status"
    assert anonymous.get(URL, params={"cursor": "nonsense!"}, headers=officer).status_code == 400


@pytest.mark.parametrize("moment", ["2026-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "2026-13-01"])
def test_a_forged_worklist_cursor_is_refused_not_a_server_error(
    anonymous: httpx.Client, dev_env: DevEnv, moment: str
) -> None:
    forged = base64.urlsafe_b64encode(f"{moment}|x".encode()).decode().rstrip("=")
    response = anonymous.get(URL, params={"cursor": forged}, headers=dev_env.officer_headers(CENTRAL))
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("invalid-cursor")


def test_the_worklist_filter_open_lists_undecided_requests_only(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    """`status=open` is filtered in the query, so a page of decided requests cannot hide open ones."""
    decided, waiting = new_bsn(), new_bsn()
    for youth in (decided, waiting):
        body = consent_body(youth, SCHOOL, ["contact"], birth_date=birth_date(17))
        body["signatories"] = [{"role": "youth", "name": "Jongere"}]
        register_consent(client_for(MUNICIPALITY), body)
    ids = {}
    for youth in (decided, waiting):
        lodged = lodge(
            anonymous, dev_env.citizen_headers(youth), {"subject_bsn": youth, "relationship": "self"}
        )
        assert lodged.status_code == 202, lodged.text
        ids[youth] = lodged.json()["id"]
    assert release(anonymous, dev_env, ids[decided]).status_code == 200
    listed: set[str] = set()
    cursor: str | None = None
    while True:
        params = {"status": "open", "limit": 500} | ({"cursor": cursor} if cursor else {})
        page = anonymous.get(URL, params=params, headers=dev_env.officer_headers(CENTRAL)).json()
        assert all(item["status"].startswith("pending_") for item in page["items"])
        listed |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids[waiting] in listed and ids[decided] not in listed
