"""The consent registry over the real mTLS API (SPEC §6 `/v1/consents*`, `/v1/consent-decisions`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from audit.service import EntryKind
from consent.models import Consent, ConsentGrant, ConsentWithdrawal
from consent.service import set_restriction
from gateway.runtime import Runtime
from tests.support import JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, new_bsn

Client = Callable[[str], httpx.Client]
SHA = "ab" * 32
SHA_2 = "cd" * 32

# ------------------------------------------------------------------ builders


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def born(years: int, days_more: int = 40) -> str:
    """A birth date making the subject `years` old (plus some days) when consent is given yesterday."""
    today = dt.date.today() - dt.timedelta(days=1)
    return (
        dt.date(today.year - years, today.month, min(today.day, 28)) - dt.timedelta(days=days_more)
    ).isoformat()


def parents() -> list[dict[str, str]]:
    return [
        {"role": "parent_with_authority", "name": "Anna de Vries"},
        {"role": "parent_with_authority", "name": "Bram de Vries"},
    ]


def grant(recipient: str = JGZ, categories: list[str] | None = None, granted: bool = True) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "categories": categories or ["contact", "education"],
        "purpose": "Afstemming van de hulp aan het gezin.",
        "granted": granted,
    }


def consent_body(
    *,
    bsn: str | None = None,
    age: int = 8,
    signatories: list[dict[str, str]] | None = None,
    grants: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": {"bsn": bsn or new_bsn(), "birth_date": born(age)},
        "form": "written",
        "evidence_sha256": SHA,
        "explicit": False,
        "given_at": (now() - dt.timedelta(days=1)).isoformat(),
        "signatories": parents() if signatories is None else signatories,
        "grants": grants or [grant()],
        "professional": {"id": "p-17", "name": "Fatima El Amrani", "role": "gezinscoach"},
    }
    body.update(overrides)
    return body


def register(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/consents", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def decide(client: httpx.Client, bsn: str, recipient: str, categories: list[str]) -> dict[str, Any]:
    response = client.post(
        "/v1/consent-decisions", json={"subject_bsn": bsn, "recipient": recipient, "categories": categories}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def reasons(decision: dict[str, Any]) -> dict[str, str]:
    return {c["category"]: c["reason"] for c in decision["per_category"]}


def stored_consents(engine: Engine, runtime: Runtime, bsn: str) -> list[Consent]:
    with Session(engine) as session:
        return list(session.exec(select(Consent).where(Consent.subject_hash == runtime.bsn_hash(bsn))))


def register_entries(engine: Engine, runtime: Runtime, bsn: str) -> list[RegisterEntry]:
    with Session(engine) as session:
        statement = select(RegisterEntry).where(RegisterEntry.subject_hash == runtime.bsn_hash(bsn))
        return list(session.exec(statement))


# ------------------------------------------------------------ registration


INVALID = {
    "under 12, one parent, no statement": (
        {"signatories": parents()[:1]},
        "second_parent_missing",
        "6.7",
    ),
    "12 to 15 without the youth": ({"age": 13}, "youth_not_involved", "6.6"),
    "16+ signed by the parents only": ({"age": 16}, "youth_must_consent", "6.8"),
    "foster parent": (
        {"signatories": [*parents()[:1], {"role": "foster_parent", "name": "Carla Jansen"}]},
        "foster_parent_not_authorised",
        "6.7",
    ),
    "oral without a note": ({"form": "oral", "evidence_sha256": None}, "oral_note_missing", "6.4"),
    "valid for more than a year": (
        {"valid_until": (now() + dt.timedelta(days=366)).isoformat()},
        "validity_exceeds_one_year",
        "Bijlage VIII",
    ),
    "BSN failing the 11-check": ({"bsn": "123456789"}, "invalid_bsn", "5.3"),
}


@pytest.mark.parametrize(("overrides", "code", "article"), INVALID.values(), ids=INVALID.keys())
def test_invalid_consent_is_refused_naming_the_article(
    client_for: Client, engine: Engine, runtime: Runtime, overrides: dict[str, Any], code: str, article: str
) -> None:
    body = consent_body(**overrides)
    response = client_for(MUNICIPALITY).post("/v1/consents", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"code": code, "article": article} in [
        {"code": v["code"], "article": v["article"]} for v in problem["violations"]
    ]
    assert body["subject"]["bsn"] not in response.text  # a BSN is never echoed in errors
    assert stored_consents(engine, runtime, body["subject"]["bsn"]) == []
    assert register_entries(engine, runtime, body["subject"]["bsn"]) == []


def test_every_violation_is_listed_at_once(client_for: Client, engine: Engine, runtime: Runtime) -> None:
    body = consent_body(
        signatories=parents()[:1],
        form="oral",
        evidence_sha256=None,
        valid_until=(now() + dt.timedelta(days=400)).isoformat(),
        grants=[grant(categories=["contact", "astrology"]), grant(recipient="12345678901234567890")],
    )
    response = client_for(MUNICIPALITY).post("/v1/consents", json=body)

    assert response.status_code == 422
    found = {(v["code"], v["article"]) for v in response.json()["violations"]}
    assert found >= {
        ("second_parent_missing", "6.7"),
        ("oral_note_missing", "6.4"),
        ("validity_exceeds_one_year", "Bijlage VIII"),
        ("unknown_category", "Bijlage VIII"),
        ("unknown_recipient", "Bijlage VIII"),
    }
    assert stored_consents(engine, runtime, body["subject"]["bsn"]) == []


def test_bad_bsn_is_listed_with_the_other_violations(client_for: Client) -> None:
    body = consent_body(bsn="111111111", age=13)
    response = client_for(MUNICIPALITY).post("/v1/consents", json=body)

    assert response.status_code == 422
    codes = {v["code"] for v in response.json()["violations"]}
    assert codes == {"invalid_bsn", "youth_not_involved"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"signatories": [{"role": "stepparent", "name": "X"}]},
        {"given_at": "2024-03-01T12:00:00"},  # no offset: ambiguous
        {"unexpected": True},
    ],
    ids=["unknown role", "naive given_at", "unknown field"],
)
def test_malformed_body_is_refused(client_for: Client, overrides: dict[str, Any]) -> None:
    response = client_for(MUNICIPALITY).post("/v1/consents", json=consent_body(**overrides))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_valid_consent_is_registered_for_one_year(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    given_at = (now() - dt.timedelta(days=10)).astimezone(plus_one)
    one_year_later = given_at.astimezone(dt.UTC).replace(year=given_at.year + 1)
    body = consent_body(given_at=given_at.isoformat())
    created = register(client_for(MUNICIPALITY), body)

    assert created["id"]
    assert created["given_at"] == given_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert created["valid_until"] == one_year_later.isoformat().replace("+00:00", "Z")
    assert created["status"] == "active"
    assert created["obtained_by"] == MUNICIPALITY
    assert [g["recipient"] for g in created["grants"]] == [JGZ]
    [stored] = stored_consents(engine, runtime, body["subject"]["bsn"])
    assert stored.id == created["id"]
    assert stored.given_at == given_at  # read back as aware UTC, the same instant
    assert stored.given_at.tzinfo == dt.UTC
    assert stored.valid_until == one_year_later


def test_shorter_validity_is_kept(client_for: Client) -> None:
    given_at = now() - dt.timedelta(days=1)
    until = given_at + dt.timedelta(days=90)
    created = register(
        client_for(MUNICIPALITY),
        consent_body(given_at=given_at.isoformat(), valid_until=until.isoformat()),
    )
    assert created["valid_until"] == until.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("age", "signatories", "extra"),
    [
        (
            8,
            parents()[:1],
            {"other_parent_statement": "Vader is op de hoogte en stemt in (telefoon 3 maart)."},
        ),
        (8, [{"role": "guardian", "name": "Stichting Jeugdbescherming"}], {}),
        (13, [*parents(), {"role": "youth", "name": "Daan de Vries"}], {}),
        (17, [{"role": "youth", "name": "Daan de Vries"}], {}),
        (17, [{"role": "authorised_representative", "name": "Eva Smit"}], {"subject_incapable": True}),
        (30, [{"role": "curator", "name": "Mr. K. Bos"}], {"legal_representation": True}),
    ],
    ids=["one parent with statement", "guardian", "12-15 with youth", "16+ youth", "authorised", "curator"],
)
def test_valid_representation_is_accepted(
    client_for: Client, age: int, signatories: list[dict[str, str]], extra: dict[str, Any]
) -> None:
    register(client_for(MUNICIPALITY), consent_body(age=age, signatories=signatories, **extra))


def test_registration_writes_a_register_entry_without_the_bsn(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    body = consent_body()
    created = register(client_for(MUNICIPALITY), body)

    [entry] = register_entries(engine, runtime, body["subject"]["bsn"])
    assert entry.kind == EntryKind.CONSENT_REGISTERED
    assert entry.actor_org == MUNICIPALITY
    assert entry.content["details"]["consent_id"] == created["id"]
    assert entry.content["professional"]["id"] == "p-17"
    assert entry.categories == ",contact,education,"
    assert body["subject"]["bsn"] not in json.dumps(entry.content)


def test_on_behalf_of_must_be_another_known_partner(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    for on_behalf_of in (MUNICIPALITY, "99999999999999999999"):
        response = client.post("/v1/consents", json=consent_body(obtained_on_behalf_of=on_behalf_of))
        assert response.status_code == 422
        assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
            ("invalid_on_behalf_of", "6.3")
        ]


def test_partner_certificate_is_required(anonymous: httpx.Client) -> None:
    response = anonymous.post("/v1/consents", json=consent_body())
    assert response.status_code == 401


# --------------------------------------------------------------- decisions


def test_decision_answers_per_category(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    register(
        client,
        consent_body(
            bsn=bsn,
            grants=[grant(JGZ, ["contact", "education"]), grant(SCHOOL, ["education"], granted=False)],
        ),
    )

    permit = decide(client, bsn, JGZ, ["contact"])
    assert permit["decision"] == "permit"
    assert permit["per_category"][0]["reason"] == "consent"
    assert permit["per_category"][0]["consent_id"]

    mixed = decide(client, bsn, JGZ, ["contact", "housing"])
    assert mixed["decision"] == "deny"
    assert [(c["category"], c["decision"], c["reason"]) for c in mixed["per_category"]] == [
        ("contact", "permit", "consent"),
        ("housing", "deny", "category_not_covered"),
    ]
    assert reasons(decide(client, bsn, YOUTH_CARE, ["contact"])) == {"contact": "recipient_not_covered"}
    assert reasons(decide(client, bsn, SCHOOL, ["education"])) == {"education": "refused"}
    assert reasons(decide(client, new_bsn(), JGZ, ["contact"])) == {"contact": "no_consent"}


def test_special_category_needs_explicit_consent(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    oral = {"form": "oral", "evidence_sha256": None, "note": "Moeder gebeld op 3 maart, doel uitgelegd."}
    implicit, explicit = new_bsn(), new_bsn()
    for bsn, is_explicit in ((implicit, False), (explicit, True)):
        register(
            client,
            consent_body(bsn=bsn, grants=[grant(JGZ, ["health", "contact"])], explicit=is_explicit, **oral),
        )

    assert reasons(decide(client, implicit, JGZ, ["health", "contact"])) == {
        "health": "not_explicit",
        "contact": "consent",
    }
    assert decide(client, explicit, JGZ, ["health", "contact"])["decision"] == "permit"


def test_withdrawal_denies_from_then_on(client_for: Client, engine: Engine, runtime: Runtime) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    created = register(
        client, consent_body(bsn=bsn, grants=[grant(JGZ, ["contact"]), grant(SCHOOL, ["contact"])])
    )
    jgz_grant = next(g["id"] for g in created["grants"] if g["recipient"] == JGZ)

    response = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "grants": [jgz_grant], "evidence_sha256": SHA_2},
    )

    assert response.status_code == 201, response.text
    withdrawal = response.json()
    assert withdrawal["id"]
    assert withdrawal["grants"] == [jgz_grant]
    assert reasons(decide(client, bsn, JGZ, ["contact"])) == {"contact": "withdrawn"}
    assert reasons(decide(client, bsn, SCHOOL, ["contact"])) == {"contact": "consent"}
    with Session(engine) as session:
        [entry] = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.subject_hash == runtime.bsn_hash(bsn),
                RegisterEntry.kind == EntryKind.CONSENT_WITHDRAWN,
            )
        )
    assert entry.content["details"]["withdrawal_id"] == withdrawal["id"]
    assert entry.content["details"]["grant_ids"] == [jgz_grant]


def test_whole_withdrawal_by_a_recipient(client_for: Client) -> None:
    bsn = new_bsn()
    created = register(client_for(MUNICIPALITY), consent_body(bsn=bsn, grants=[grant(JGZ), grant(SCHOOL)]))
    jgz = client_for(JGZ)

    response = jgz.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": SHA_2},
    )

    assert response.status_code == 201
    assert response.json()["grants"] is None
    assert reasons(decide(client_for(MUNICIPALITY), bsn, SCHOOL, ["education"])) == {"education": "withdrawn"}


def test_withdrawal_is_refused_for_uninvolved_partner_and_unknown_grants(
    client_for: Client, engine: Engine
) -> None:
    created = register(client_for(MUNICIPALITY), consent_body())
    url = f"/v1/consents/{created['id']}/withdrawal"
    body = {"received_at": now().isoformat(), "evidence_sha256": SHA_2}

    assert client_for(SCHOOL).post(url, json=body).status_code == 404
    assert client_for(SCHOOL).post("/v1/consents/no-such-id/withdrawal", json=body).status_code == 404
    response = client_for(MUNICIPALITY).post(url, json={**body, "grants": ["not-a-grant-of-this-consent"]})
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["unknown_grant"]
    response = client_for(MUNICIPALITY).post(
        url, json={"received_at": (now() + dt.timedelta(days=1)).isoformat(), "evidence_sha256": "nope"}
    )
    assert response.status_code == 422
    assert {v["code"] for v in response.json()["violations"]} == {
        "withdrawal_evidence_invalid",
        "received_at_in_future",
    }
    with Session(engine) as session:
        stored = session.exec(select(ConsentWithdrawal).where(ConsentWithdrawal.consent_id == created["id"]))
        assert list(stored) == []


def test_decision_request_with_unknown_names_is_refused(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    cases = [
        ({"subject_bsn": bsn, "recipient": JGZ, "categories": ["astrology"]}, "unknown_category"),
        (
            {"subject_bsn": bsn, "recipient": "99999999999999999999", "categories": ["contact"]},
            "unknown_recipient",
        ),
        ({"subject_bsn": "123456789", "recipient": JGZ, "categories": ["contact"]}, "invalid_bsn"),
    ]
    for body, code in cases:
        response = client.post("/v1/consent-decisions", json=body)
        assert response.status_code == 422
        assert [v["code"] for v in response.json()["violations"]] == [code]
    assert client.post("/v1/consent-decisions", json={**cases[0][0], "categories": []}).status_code == 422


def test_restricted_subject_is_denied(client_for: Client, engine: Engine, runtime: Runtime) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    register(client, consent_body(bsn=bsn))
    with Session(engine) as session:
        set_restriction(session, runtime, runtime.bsn_hash(bsn), "bezwaar (art. 13)", "officer-1", now())
        session.commit()

    assert reasons(decide(client, bsn, JGZ, ["contact", "education"])) == {
        "contact": "restricted",
        "education": "restricted",
    }


# ------------------------------------------------------------------ listing


def list_consents(client: httpx.Client, bsn: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/consents", params={"subject_bsn": bsn, **params})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_listing_shows_only_consents_involving_the_caller(client_for: Client) -> None:
    bsn = new_bsn()
    created = register(
        client_for(MUNICIPALITY),
        consent_body(bsn=bsn, grants=[grant(JGZ), grant(YOUTH_CARE)], obtained_on_behalf_of=YOUTH_CARE),
    )

    own = list_consents(client_for(MUNICIPALITY), bsn)
    assert own["next_cursor"] is None
    assert [c["id"] for c in own["items"]] == [created["id"]]
    assert len(own["items"][0]["grants"]) == 2
    assert own["items"][0]["subject"] == {"bsn": bsn, "birth_date": created["subject"]["birth_date"]}

    on_behalf = list_consents(client_for(YOUTH_CARE), bsn)
    assert len(on_behalf["items"][0]["grants"]) == 2

    recipient = list_consents(client_for(JGZ), bsn)
    assert [c["id"] for c in recipient["items"]] == [created["id"]]
    # A recipient sees its own line of the form, not which other organisations are involved.
    assert [g["recipient"] for g in recipient["items"][0]["grants"]] == [JGZ]

    assert list_consents(client_for(SCHOOL), bsn) == {"items": [], "next_cursor": None}


def test_listing_paginates_with_an_opaque_cursor(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    ids = {register(client, consent_body(bsn=bsn))["id"] for _ in range(3)}

    first = list_consents(client, bsn, limit=2)
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = list_consents(client, bsn, limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert {c["id"] for c in first["items"] + second["items"]} == ids

    response = client.get("/v1/consents", params={"subject_bsn": bsn, "cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_listing_shows_withdrawal_status(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    created = register(client, consent_body(bsn=bsn, grants=[grant(JGZ), grant(SCHOOL)]))
    first_grant = created["grants"][0]["id"]
    client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "grants": [first_grant], "evidence_sha256": SHA_2},
    )

    [item] = list_consents(client, bsn)["items"]
    assert item["status"] == "partially_withdrawn"
    assert [g["withdrawn_at"] is not None for g in item["grants"]] == [True, False]
    assert item["withdrawals"][0]["grants"] == [first_grant]


def test_listing_refuses_an_invalid_bsn(client_for: Client) -> None:
    response = client_for(MUNICIPALITY).get("/v1/consents", params={"subject_bsn": "12345"})
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["invalid_bsn"]


def test_grant_rows_are_stored_per_recipient(client_for: Client, engine: Engine) -> None:
    created = register(
        client_for(MUNICIPALITY), consent_body(grants=[grant(JGZ, ["contact", "contact", "housing"])])
    )
    with Session(engine) as session:
        [row] = session.exec(select(ConsentGrant).where(ConsentGrant.consent_id == created["id"]))
    assert row.recipient == JGZ
    assert row.categories == ["contact", "housing"]  # duplicates dropped, order kept
