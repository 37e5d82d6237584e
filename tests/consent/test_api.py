"""The consent registry over the real mTLS API (SPEC §6 `/v1/consents*`, `/v1/consent-decisions`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

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


def test_a_line_to_the_obtainer_itself_is_refused(client_for: Client) -> None:
    """Art. 6.1: consent is for disclosure to another partner; art. 6.3 is the one exception."""
    client = client_for(MUNICIPALITY)
    response = client.post("/v1/consents", json=consent_body(grants=[grant(JGZ), grant(MUNICIPALITY)]))
    assert response.status_code == 422
    assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
        ("recipient_is_obtainer", "6.1")
    ]
    # Obtained on behalf of JGZ, the line to the municipality is JGZ's disclosure to it.
    register(client, consent_body(grants=[grant(MUNICIPALITY)], obtained_on_behalf_of=JGZ))


def test_consent_at_half_past_midnight_local_on_the_twelfth_birthday(client_for: Client) -> None:
    """Art. 6.6: the age counts on the Dutch calendar date: 00:30 in Amsterdam is still yesterday in UTC."""
    birthday = dt.date.today() - dt.timedelta(days=10)
    if (birthday.month, birthday.day) == (2, 29):
        birthday -= dt.timedelta(days=1)
    given_at = dt.datetime.combine(birthday, dt.time(0, 30), tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert given_at.astimezone(dt.UTC).date() < birthday
    birth_date = birthday.replace(year=birthday.year - 12).isoformat()
    body = consent_body(given_at=given_at.isoformat())
    body["subject"]["birth_date"] = birth_date

    response = client_for(MUNICIPALITY).post("/v1/consents", json=body)
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["youth_not_involved"]

    body["signatories"] = [*parents(), {"role": "youth", "name": "Daan de Vries"}]
    register(client_for(MUNICIPALITY), body)
    # Half an hour earlier, 23:30 the evening before, the child was still 11.
    body = consent_body(given_at=(given_at - dt.timedelta(hours=1)).isoformat())
    body["subject"]["birth_date"] = birth_date
    register(client_for(MUNICIPALITY), body)


def test_one_parent_with_sole_authority(client_for: Client, engine: Engine) -> None:
    """Art. 6.7: both parents are needed only "als beide ouders het gezag hebben"."""
    client = client_for(MUNICIPALITY)
    created = register(client, consent_body(signatories=parents()[:1], sole_authority=True))
    assert created["sole_authority"] is True
    with Session(engine) as session:
        stored = session.get(Consent, created["id"])
        assert stored is not None and stored.sole_authority is True

    response = client.post("/v1/consents", json=consent_body(signatories=parents()[:1]))
    [violation] = response.json()["violations"]
    assert violation["code"] == "second_parent_missing"
    assert "sole_authority" in violation["message"]
    response = client.post("/v1/consents", json=consent_body(sole_authority=True))
    assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
        ("sole_authority_contradicted", "6.7")
    ]


def test_curatele_applies_from_sixteen_only(client_for: Client) -> None:
    """Art. 6.9 applies "in afwijking van het achtste lid": under 16 the parents decide."""
    client = client_for(MUNICIPALITY)
    register(client, consent_body(age=8, legal_representation=True))
    response = client.post(
        "/v1/consents",
        json=consent_body(
            age=8, legal_representation=True, signatories=[{"role": "curator", "name": "Mr. K. Bos"}]
        ),
    )
    assert [v["code"] for v in response.json()["violations"]] == ["guardian_or_parents_missing"]
    response = client.post("/v1/consents", json=consent_body(age=17, legal_representation=True))
    assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
        ("legal_representative_missing", "6.9")
    ]


def test_written_authorisation_of_the_representative_is_recorded(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    representative = [{"role": "authorised_representative", "name": "Eva Smit"}]
    created = register(
        client,
        consent_body(
            age=17,
            signatories=representative,
            subject_incapable=True,
            authorisation_evidence_sha256=SHA_2.upper(),
        ),
    )
    assert created["authorisation_evidence_sha256"] == SHA_2
    response = client.post(
        "/v1/consents",
        json=consent_body(
            age=17,
            signatories=representative,
            subject_incapable=True,
            authorisation_evidence_sha256="volmacht.pdf",
        ),
    )
    assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
        ("authorisation_evidence_sha256_invalid", "6.8")
    ]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"given_at": "9999-12-31T00:00:00Z", "valid_until": "9999-12-31T12:00:00Z"}, "given_at_in_future"),
        ({"given_at": "9999-12-31T23:00:00-01:00"}, "given_at_in_future"),
        ({"given_at": "0001-01-01T00:00:00+01:00"}, "given_at_out_of_range"),
        ({"given_at": "1899-12-31T23:59:59Z"}, "given_at_out_of_range"),
        ({"valid_until": "0001-01-01T00:00:00+01:00"}, "valid_until_not_after_given_at"),
        ({"valid_until": "9999-12-31T23:00:00-01:00"}, "validity_exceeds_one_year"),
    ],
)
def test_extreme_dates_are_refused_not_a_server_error(
    client_for: Client, overrides: dict[str, Any], code: str
) -> None:
    response = client_for(MUNICIPALITY).post("/v1/consents", json=consent_body(**overrides))
    assert response.status_code == 422, response.text
    assert [v["code"] for v in response.json()["violations"]] == [code]


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-01:00"])
def test_extreme_withdrawal_dates_are_refused(client_for: Client, received_at: str) -> None:
    client = client_for(MUNICIPALITY)
    created = register(client, consent_body())
    response = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": received_at, "evidence_sha256": SHA_2},
    )
    assert response.status_code == 422, response.text


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


def test_whole_withdrawal_by_the_obtainer(client_for: Client) -> None:
    bsn = new_bsn()
    client = client_for(MUNICIPALITY)
    created = register(client, consent_body(bsn=bsn, grants=[grant(JGZ), grant(SCHOOL)]))

    response = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": SHA_2},
    )

    assert response.status_code == 201
    assert response.json()["grants"] is None
    assert reasons(decide(client, bsn, SCHOOL, ["education"])) == {"education": "withdrawn"}
    assert reasons(decide(client, bsn, JGZ, ["education"])) == {"education": "withdrawn"}


def test_a_recipient_withdraws_only_its_own_lines(
    client_for: Client, engine: Engine, runtime: Runtime
) -> None:
    """Art. 5.2, Bijlage VIII: JGZ, only a recipient, cannot withdraw (or learn of) SCHOOL's line.

    The reviewer's case: with `grants` left out JGZ withdrew the whole consent, including SCHOOL's
    health line it cannot see, and its register entry listed that line's category.
    """
    bsn = new_bsn()
    municipality = client_for(MUNICIPALITY)
    created = register(
        municipality,
        consent_body(
            bsn=bsn,
            grants=[grant(JGZ, ["contact"]), grant(SCHOOL, ["health"]), grant(JGZ, ["housing"], False)],
        ),
    )
    jgz_yes = next(g["id"] for g in created["grants"] if g["recipient"] == JGZ and g["granted"])

    response = client_for(JGZ).post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": SHA_2},
    )

    assert response.status_code == 201, response.text
    assert response.json()["grants"] == [jgz_yes]  # its own "Ja" line, not the whole form
    assert reasons(decide(municipality, bsn, JGZ, ["contact"])) == {"contact": "withdrawn"}
    assert reasons(decide(municipality, bsn, SCHOOL, ["health"])) == {"health": "consent"}
    with Session(engine) as session:
        [entry] = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.subject_hash == runtime.bsn_hash(bsn),
                RegisterEntry.kind == EntryKind.CONSENT_WITHDRAWN,
            )
        )
    assert entry.categories == ",contact,"  # not SCHOOL's "health"
    assert entry.content["details"]["grant_ids"] == [jgz_yes]


def test_a_recipient_cannot_name_lines_it_cannot_see(client_for: Client) -> None:
    created = register(client_for(MUNICIPALITY), consent_body(grants=[grant(JGZ), grant(SCHOOL)]))
    school_line = next(g["id"] for g in created["grants"] if g["recipient"] == SCHOOL)

    response = client_for(JGZ).post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "grants": [school_line], "evidence_sha256": SHA_2},
    )

    assert response.status_code == 422
    [violation] = response.json()["violations"]
    assert (violation["code"], violation["article"]) == ("unknown_grant", "Bijlage VIII")
    assert "only a recipient" in violation["message"]


def test_a_refusal_cannot_be_withdrawn(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    created = register(client, consent_body(grants=[grant(JGZ), grant(SCHOOL, granted=False)]))
    refusal = next(g["id"] for g in created["grants"] if not g["granted"])
    url = f"/v1/consents/{created['id']}/withdrawal"

    response = client.post(
        url, json={"received_at": now().isoformat(), "grants": [refusal], "evidence_sha256": SHA_2}
    )
    assert response.status_code == 422
    assert [(v["code"], v["article"]) for v in response.json()["violations"]] == [
        ("refusal_not_withdrawable", "Bijlage VIII")
    ]
    # SCHOOL's only line is the "Nee": it has nothing to withdraw.
    response = client_for(SCHOOL).post(url, json={"received_at": now().isoformat(), "evidence_sha256": SHA_2})
    assert response.status_code == 422
    assert [v["code"] for v in response.json()["violations"]] == ["nothing_to_withdraw"]


def test_hashes_in_capitals_are_accepted_and_stored_in_lowercase(client_for: Client, engine: Engine) -> None:
    client = client_for(MUNICIPALITY)
    created = register(client, consent_body(evidence_sha256=SHA.upper()))
    assert created["evidence_sha256"] == SHA
    response = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": SHA_2.upper()},
    )
    assert response.status_code == 201, response.text
    assert response.json()["evidence_sha256"] == SHA_2
    with Session(engine) as session:
        stored = session.get(Consent, created["id"])
        assert stored is not None and stored.evidence_sha256 == SHA


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


def test_dry_run_counts_only_consents_the_caller_may_use(client_for: Client) -> None:
    """Art. 6.1: the dry run answers for the caller as sender, like the exchange does."""
    bsn = new_bsn()
    register(client_for(MUNICIPALITY), consent_body(bsn=bsn, grants=[grant(JGZ, ["contact"])]))

    assert decide(client_for(MUNICIPALITY), bsn, JGZ, ["contact"])["decision"] == "permit"
    # SCHOOL is no party to the municipality's consent: nothing for it to rely on, and the
    # municipality's consent id is not shown.
    [outcome] = decide(client_for(SCHOOL), bsn, JGZ, ["contact"])["per_category"]
    assert (outcome["decision"], outcome["reason"], outcome["consent_id"]) == ("deny", "no_consent", None)
    # Nor is the recipient itself a sender of it.
    assert reasons(decide(client_for(JGZ), bsn, JGZ, ["contact"])) == {"contact": "no_consent"}


def test_on_behalf_consent_covers_only_the_holders_disclosure_to_the_requester(client_for: Client) -> None:
    """Art. 6.3, the reviewer's case: YOUTH_CARE asks consent on behalf of JGZ "voor deze verstrekking".

    The form has lines to YOUTH_CARE and to SCHOOL. JGZ may disclose to YOUTH_CARE under it, but a
    dry run JGZ → SCHOOL used to come back permit.
    """
    bsn = new_bsn()
    register(
        client_for(YOUTH_CARE),
        consent_body(
            bsn=bsn,
            obtained_on_behalf_of=JGZ,
            grants=[grant(YOUTH_CARE, ["contact"]), grant(SCHOOL, ["contact"])],
        ),
    )
    jgz = client_for(JGZ)

    assert decide(jgz, bsn, YOUTH_CARE, ["contact"])["decision"] == "permit"
    assert reasons(decide(jgz, bsn, SCHOOL, ["contact"])) == {"contact": "recipient_not_covered"}
    # The requester keeps its own line to SCHOOL.
    assert decide(client_for(YOUTH_CARE), bsn, SCHOOL, ["contact"])["decision"] == "permit"
    # A partner that is neither may use none of it.
    assert reasons(decide(client_for(MUNICIPALITY), bsn, YOUTH_CARE, ["contact"])) == {
        "contact": "no_consent"
    }


def test_a_refusal_on_another_partners_form_does_not_bind_the_caller(client_for: Client) -> None:
    """Art. 7.1-7.2: a refusal concerns the disclosure it was asked for (judgement call, see rules.decide)."""
    bsn = new_bsn()
    municipality, school = client_for(MUNICIPALITY), client_for(SCHOOL)
    register(municipality, consent_body(bsn=bsn, grants=[grant(JGZ, ["contact"])]))
    register(
        school,
        consent_body(bsn=bsn, grants=[grant(JGZ, ["contact"], granted=False)], given_at=now().isoformat()),
    )
    assert decide(municipality, bsn, JGZ, ["contact"])["decision"] == "permit"
    assert reasons(decide(school, bsn, JGZ, ["contact"])) == {"contact": "refused"}


def test_an_expired_later_refusal_keeps_blocking(client_for: Client) -> None:
    bsn = new_bsn()
    client = client_for(MUNICIPALITY)
    register(
        client,
        consent_body(
            bsn=bsn, grants=[grant(JGZ, ["contact"])], given_at=(now() - dt.timedelta(days=3)).isoformat()
        ),
    )
    given = now() - dt.timedelta(days=2)
    register(
        client,
        consent_body(
            bsn=bsn,
            grants=[grant(JGZ, ["contact"], granted=False)],
            given_at=given.isoformat(),
            valid_until=(given + dt.timedelta(hours=1)).isoformat(),
        ),
    )
    assert reasons(decide(client, bsn, JGZ, ["contact"])) == {"contact": "refused"}


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


def test_listing_shows_the_consent_to_the_party_it_was_obtained_for(client_for: Client) -> None:
    """Art. 6.3: the holder receives the form, also when it is not a recipient on it."""
    bsn = new_bsn()
    created = register(
        client_for(MUNICIPALITY),
        consent_body(bsn=bsn, grants=[grant(MUNICIPALITY), grant(JGZ)], obtained_on_behalf_of=SCHOOL),
    )
    [item] = list_consents(client_for(SCHOOL), bsn)["items"]
    assert item["id"] == created["id"]
    assert item["obtained_on_behalf_of"] == SCHOOL
    assert {g["recipient"] for g in item["grants"]} == {MUNICIPALITY, JGZ}  # the whole form


def test_listing_shows_an_expired_consent_as_expired(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    register(
        client,
        consent_body(
            bsn=bsn,
            given_at=(now() - dt.timedelta(days=10)).isoformat(),
            valid_until=(now() - dt.timedelta(days=5)).isoformat(),
        ),
    )
    [item] = list_consents(client, bsn)["items"]
    assert item["status"] == "expired"


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


def test_withdrawing_every_yes_line_withdraws_the_consent_as_the_report_says(client_for: Client) -> None:
    """A "Nee" line cannot be withdrawn and permits nothing: with every "Ja" line withdrawn the
    statement is withdrawn, in the partner's listing as in the citizen's report."""
    client = client_for(MUNICIPALITY)
    bsn = new_bsn()
    created = register(client, consent_body(bsn=bsn, grants=[grant(JGZ), grant(SCHOOL, granted=False)]))
    withdrawn = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={
            "received_at": now().isoformat(),
            "grants": [created["grants"][0]["id"]],
            "evidence_sha256": SHA_2,
        },
    )
    assert withdrawn.status_code == 201, withdrawn.text
    [item] = list_consents(client, bsn)["items"]
    assert item["status"] == "withdrawn"


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
