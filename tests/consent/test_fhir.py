"""Consent as FHIR R4 (SPEC §9): the pure mapping, and the API in both directions over mTLS."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.consent import Consent as FhirConsent

from consent.fhir import (
    BSN_SYSTEM,
    CATEGORY_SYSTEM,
    FHIR_JSON,
    OIN_SYSTEM,
    FhirConsentInvalid,
    fhir_json,
    from_fhir,
    to_fhir,
)
from consent.schemas import ConsentIn, ConsentOut
from tests.consent.test_api import INVALID, SHA, Client, consent_body, grant, now, parents, register
from tests.support import JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE

# Every rule case of the consent tests: the refused ones (INVALID), the accepted representations,
# the statement breaking everything at once, and the optional fields.
VALID = {
    "two parents": {},
    "one parent with statement": {
        "signatories": parents()[:1],
        "other_parent_statement": "Vader is op de hoogte en stemt in (telefoon 3 maart).",
    },
    "guardian": {"signatories": [{"role": "guardian", "name": "Stichting Jeugdbescherming"}]},
    "12-15 with youth": {"age": 13, "signatories": [*parents(), {"role": "youth", "name": "Daan de Vries"}]},
    "16+ youth": {"age": 17, "signatories": [{"role": "youth", "name": "Daan de Vries"}]},
    "authorised": {
        "age": 17,
        "signatories": [{"role": "authorised_representative", "name": "Eva Smit"}],
        "subject_incapable": True,
        "authorisation_evidence_sha256": "cd" * 32,
    },
    "curator": {
        "age": 30,
        "signatories": [{"role": "curator", "name": "Mr. K. Bos"}],
        "legal_representation": True,
    },
    "sole authority": {"signatories": parents()[:1], "sole_authority": True},
    "oral explicit with note": {
        "form": "oral",
        "evidence_sha256": None,
        "explicit": True,
        "note": "Moeder mondeling ingelicht door F. El Amrani op 2 maart; uitleg gegeven.",
        "grants": [grant(categories=["health"]), grant(recipient=SCHOOL, granted=False)],
    },
    "on behalf, shorter validity": {
        "obtained_on_behalf_of": YOUTH_CARE,
        "valid_until": (now() + dt.timedelta(days=90)).isoformat(),
    },
    "signatory with BSN": {"signatories": [{"role": "guardian", "name": "Voogd", "bsn": "111222333"}]},
    "no professional": {"professional": None},
}
EVERYTHING_WRONG = {
    "signatories": parents()[:1],
    "form": "oral",
    "evidence_sha256": None,
    "valid_until": (now() + dt.timedelta(days=400)).isoformat(),
    "grants": [grant(categories=["contact", "astrology"]), grant(recipient="12345678901234567890")],
}
CASES: dict[str, dict[str, Any]] = {
    **{f"valid: {k}": v for k, v in VALID.items()},
    **{f"refused: {k}": overrides for k, (overrides, _, _) in INVALID.items()},
    "refused: everything at once": EVERYTHING_WRONG,
    "refused: evidence not a SHA-256": {"evidence_sha256": "brief.pdf"},
}


def as_fhir(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(fhir_json(to_fhir(ConsentIn.model_validate(body))))
    return result


# ------------------------------------------------------------------ pure mapping


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_round_trip_ours_fhir_ours(overrides: dict[str, Any]) -> None:
    ours = ConsentIn.model_validate(consent_body(**overrides))
    resource = to_fhir(ours)
    # The library validates what we produce, from its own JSON.
    reparsed = FhirConsent.model_validate_json(fhir_json(resource))
    assert reparsed.get_resource_type() == "Consent"

    back = from_fhir(json.loads(fhir_json(resource)))

    assert back == ours


def test_the_mapping_uses_the_named_systems() -> None:
    body = consent_body(grants=[grant(), grant(recipient=SCHOOL, categories=["education"], granted=False)])
    resource = as_fhir(body)

    [patient] = [c for c in resource["contained"] if c["resourceType"] == "Patient"]
    assert patient["identifier"] == [{"system": BSN_SYSTEM, "value": body["subject"]["bsn"]}]
    assert patient["birthDate"] == body["subject"]["birth_date"]
    assert resource["patient"] == {"reference": "#subject"}
    assert len(resource["performer"]) == 2
    root = resource["provision"]
    assert root["type"] == "deny"
    assert [p["type"] for p in root["provision"]] == ["permit", "deny"]
    assert root["provision"][1]["actor"][0]["reference"]["identifier"] == {
        "system": OIN_SYSTEM,
        "value": SCHOOL,
    }
    assert root["provision"][1]["code"] == [{"coding": [{"system": CATEGORY_SYSTEM, "code": "education"}]}]
    assert bytes.fromhex(SHA) == __import__("base64").b64decode(resource["sourceAttachment"]["hash"])


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"resourceType": "Patient"}, "fhir_not_consent"),
        ([1, 2], "fhir_not_consent"),
        ({"resourceType": "Consent", "status": "active"}, "fhir_invalid"),  # scope/category missing
    ],
)
def test_what_is_not_a_readable_consent_is_named(document: Any, code: str) -> None:
    with pytest.raises(FhirConsentInvalid) as caught:
        from_fhir(document)
    assert code in {c for c, _ in caught.value.problems}


def test_a_consent_without_patient_bsn_or_provisions_is_named() -> None:
    resource = as_fhir(consent_body())
    resource["contained"][0]["identifier"] = []
    resource["provision"].pop("provision")
    with pytest.raises(FhirConsentInvalid) as caught:
        from_fhir(resource)
    assert {c for c, _ in caught.value.problems} == {"fhir_bsn_missing", "fhir_provision_missing"}


# ------------------------------------------------------------------------- API


def post_fhir(client: httpx.Client, resource: dict[str, Any], accept: str = FHIR_JSON) -> httpx.Response:
    return client.post(
        "/v1/consents",
        content=json.dumps(resource),
        headers={"Content-Type": FHIR_JSON, "Accept": accept},
    )


@pytest.mark.parametrize(("overrides", "code", "article"), INVALID.values(), ids=INVALID.keys())
def test_fhir_consent_is_refused_with_the_same_violations(
    client_for: Client, overrides: dict[str, Any], code: str, article: str
) -> None:
    body = consent_body(**overrides)
    client = client_for(MUNICIPALITY)
    as_json = client.post("/v1/consents", json=body)
    as_resource = post_fhir(client, as_fhir(body))

    assert as_json.status_code == as_resource.status_code == 422
    assert as_resource.headers["content-type"] == "application/problem+json"
    assert as_resource.json()["violations"] == as_json.json()["violations"]
    assert {"code": code, "article": article} in [
        {"code": v["code"], "article": v["article"]} for v in as_resource.json()["violations"]
    ]
    assert body["subject"]["bsn"] not in as_resource.text


def test_every_violation_at_once_is_the_same_for_fhir(client_for: Client) -> None:
    body = consent_body(**EVERYTHING_WRONG)
    client = client_for(MUNICIPALITY)
    assert (
        post_fhir(client, as_fhir(body)).json()["violations"]
        == client.post("/v1/consents", json=body).json()["violations"]
    )


def test_unreadable_fhir_is_a_problem(client_for: Client) -> None:
    client = client_for(MUNICIPALITY)
    response = post_fhir(client, {"resourceType": "Consent", "status": "active"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("fhir-consent-invalid")
    malformed = client.post("/v1/consents", content=b"{nope", headers={"Content-Type": FHIR_JSON})
    assert malformed.status_code == 422
    assert [v["code"] for v in malformed.json()["violations"]] == ["fhir_malformed"]


def test_fhir_post_registers_and_answers_in_fhir_then_get_in_both_forms(client_for: Client) -> None:
    body = consent_body(grants=[grant(), grant(recipient=SCHOOL, categories=["education"])])
    client = client_for(MUNICIPALITY)
    created = post_fhir(client, as_fhir(body))

    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == FHIR_JSON
    resource = FhirConsent.model_validate_json(created.text)
    assert resource.status == "active"
    assert resource.organization[0].identifier.value == MUNICIPALITY
    assert resource.provision.period.end is not None  # one year (Bijlage VIII)

    as_json = client.get(f"/v1/consents/{resource.id}")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    out = ConsentOut.model_validate(as_json.json())
    assert out.subject.bsn == body["subject"]["bsn"]
    assert [g.recipient for g in out.grants] == [JGZ, SCHOOL]

    as_resource = client.get(f"/v1/consents/{resource.id}", headers={"Accept": FHIR_JSON})
    assert as_resource.headers["content-type"] == FHIR_JSON
    assert from_fhir(as_resource.json()) == ConsentIn.model_validate(
        {**body, "valid_until": out.valid_until.isoformat()}
    )


def test_a_recipient_sees_only_its_own_provision_and_others_nothing(client_for: Client) -> None:
    body = consent_body(grants=[grant(), grant(recipient=SCHOOL, categories=["education"])])
    created = register(client_for(MUNICIPALITY), body)

    seen = client_for(SCHOOL).get(f"/v1/consents/{created['id']}", headers={"Accept": FHIR_JSON}).json()
    [line] = seen["provision"]["provision"]
    assert line["actor"][0]["reference"]["identifier"]["value"] == SCHOOL
    assert client_for(YOUTH_CARE).get(f"/v1/consents/{created['id']}").status_code == 404
    assert client_for(SCHOOL).get("/v1/consents/no-such-id").status_code == 404


def test_withdrawal_shows_as_inactive_with_the_withdrawn_provisions(client_for: Client) -> None:
    body = consent_body(grants=[grant(), grant(recipient=SCHOOL, categories=["education"])])
    client = client_for(MUNICIPALITY)
    created = register(client, body)
    received = now() - dt.timedelta(minutes=5)
    partial = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={
            "received_at": received.isoformat(),
            "grants": [created["grants"][1]["id"]],
            "evidence_sha256": SHA,
        },
    )
    assert partial.status_code == 201, partial.text

    resource = client.get(f"/v1/consents/{created['id']}", headers={"Accept": FHIR_JSON}).json()
    assert resource["status"] == "active"  # partially withdrawn: the JGZ line still permits
    withdrawn = resource["provision"]["provision"][1]
    assert withdrawn["period"]["end"] == received.isoformat().replace("+00:00", "Z")
    assert {
        "url": "https://meerpunt.nl/fhir/StructureDefinition/withdrawn-at",
        "valueDateTime": withdrawn["period"]["end"],
    } in withdrawn["extension"]

    whole = client.post(
        f"/v1/consents/{created['id']}/withdrawal",
        json={"received_at": now().isoformat(), "evidence_sha256": SHA},
    )
    assert whole.status_code == 201, whole.text
    resource = client.get(f"/v1/consents/{created['id']}", headers={"Accept": FHIR_JSON}).json()
    assert resource["status"] == "inactive"
    FhirConsent.model_validate(resource)


def test_only_registration_reads_a_fhir_body(client_for: Client) -> None:
    created = register(client_for(MUNICIPALITY), consent_body())
    response = client_for(MUNICIPALITY).post(
        f"/v1/consents/{created['id']}/withdrawal",
        content=json.dumps({"received_at": now().isoformat(), "evidence_sha256": SHA}),
        headers={"Content-Type": FHIR_JSON},
    )
    assert response.status_code == 201, response.text  # read as the JSON it is, not as a FHIR Consent
