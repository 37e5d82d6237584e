"""A toestemmingsverklaring as a FHIR R4 `Consent` (SPEC §9), in pure functions.

Dutch health care exchanges consent as FHIR (Mitz); partners whose systems speak it can read and
register consents in that shape. The models are those of `fhir.resources` (its `R4B` package: the
`Consent` resource is unchanged between R4 and R4B), so every resource we produce or accept is
validated by the library, not by hand-written dictionaries.

The mapping (docs/consent.md has the table):
- `patient` -> a contained `Patient` with the BSN (`http://fhir.nl/fhir/NamingSystem/bsn`) and
  birth date (the birth date decides who must sign, art. 6 lid 5-9);
- `performer` -> one contained `RelatedPerson` per signatory, its role as a Meerpunt code;
- `organization` -> the partner that obtained the consent, by OIN;
- `dateTime` -> `given_at`; `provision.period` -> validity (Bijlage VIII);
- `sourceAttachment.hash` -> the written form's SHA-256 (art. 6 lid 4);
- `provision.provision[]` -> one nested provision per yes/no line: actor = recipient organisation,
  `code` = data categories, `type` = permit/deny;
- a withdrawal -> status `inactive` (whole statement), and the withdrawn provisions carry the moment
  the withdrawal was received (extension, and `period.end`);
- what FHIR has no element for (oral note, explicit, art. 6 lid 7 statement, incapacity, legal
  representation, sole authority, on-behalf party, acting professional) -> Meerpunt extensions.

Reading a FHIR Consent yields the same `ConsentIn` the JSON form gives, so the same art. 6 rules
judge both and name the same violations.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.consent import Consent as FhirConsent
from pydantic import ValidationError

from consent.rules import ConsentStatus
from consent.schemas import ConsentIn, ConsentOut

#: Media type of FHIR JSON (FHIR R4 §2.6.1 "application/fhir+json").
FHIR_JSON = "application/fhir+json"

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
#: OIN (Organisatie-identificatienummer, Digikoppeling). No national FHIR NamingSystem URI for the
#: OIN was found; the OID arc of the OIN register is used as a URN.
OIN_SYSTEM = "urn:oid:2.16.528.1.1007.3.3"
#: URA (UZI-register abonneenummer) of a health-care partner: accepted on input as an alias of the
#: partner's OIN only when the registry maps it; the gateway itself writes OINs.
URA_SYSTEM = "http://fhir.nl/fhir/NamingSystem/ura"

_BASE = "https://meerpunt.nl/fhir"
EXT = _BASE + "/StructureDefinition/"
CATEGORY_SYSTEM = _BASE + "/CodeSystem/category"
SIGNATORY_SYSTEM = _BASE + "/CodeSystem/signatory-role"
STATUS_SYSTEM = _BASE + "/CodeSystem/consent-status"

_SCOPE = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
}
_CATEGORY = [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}]
_POLICY_RULE = {"text": "Privacyreglement Meerpunt, art. 6 en Bijlage VIII"}
_RECIPIENT_ROLE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "IRCP",
            "display": "information recipient",
        }
    ]
}
_PATIENT_REF = "#subject"

# What our status means in FHIR's coarse status: a statement that can no longer permit anything is
# `inactive`; the precise status travels in an extension.
_FHIR_STATUS = {
    ConsentStatus.ACTIVE: "active",
    ConsentStatus.PARTIALLY_WITHDRAWN: "active",
    ConsentStatus.NOT_YET_VALID: "active",
    ConsentStatus.EXPIRED: "inactive",
    ConsentStatus.WITHDRAWN: "inactive",
}


class FhirConsentInvalid(ValueError):
    """A FHIR resource that is not a Consent we can read: carries (code, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class StoredFacts:
    """What the registry adds to a statement once it is stored (absent for an unsent statement)."""

    id: str
    status: ConsentStatus
    obtained_by: str
    valid_until: dt.datetime
    grant_ids: Sequence[str]
    #: grant id -> when a withdrawal covering that line was received.
    withdrawn_at: dict[str, dt.datetime] = field(default_factory=dict)


# ------------------------------------------------------------------- ours -> FHIR


def to_fhir(statement: ConsentIn, stored: StoredFacts | None = None) -> FhirConsent:
    """The statement as a FHIR R4 Consent, validated by the library (raises if we built it wrong)."""
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": _FHIR_STATUS[stored.status] if stored else "active",
        "scope": _SCOPE,
        "category": _CATEGORY,
        "policyRule": _POLICY_RULE,
        "contained": [_patient(statement), *_related_persons(statement)],
        "patient": {"reference": _PATIENT_REF},
        "dateTime": _instant(statement.given_at),
        "performer": [{"reference": f"#signatory-{i}"} for i in range(len(statement.signatories))],
        "extension": _statement_extensions(statement, stored),
        "provision": _provision(statement, stored),
    }
    if stored is not None:
        resource["id"] = stored.id
        resource["organization"] = [_organisation(stored.obtained_by)]
    if statement.evidence_sha256 is not None:
        resource["sourceAttachment"] = {
            "title": "Schriftelijke toestemmingsverklaring",
            "hash": _hex_to_base64(statement.evidence_sha256),
        }
    if not resource["extension"]:
        del resource["extension"]
    return FhirConsent.model_validate(resource)


def out_to_fhir(consent: ConsentOut) -> FhirConsent:
    """A registered consent as the caller may see it (only its own lines for a recipient)."""
    statement = ConsentIn.model_validate(
        {
            "subject": consent.subject.model_dump(),
            "form": consent.form,
            "evidence_sha256": consent.evidence_sha256,
            "note": consent.note,
            "explicit": consent.explicit,
            "given_at": consent.given_at,
            "valid_until": consent.valid_until,
            "signatories": [s.model_dump() for s in consent.signatories],
            "other_parent_statement": consent.other_parent_statement,
            "subject_incapable": consent.subject_incapable,
            "legal_representation": consent.legal_representation,
            "sole_authority": consent.sole_authority,
            "authorisation_evidence_sha256": consent.authorisation_evidence_sha256,
            "obtained_on_behalf_of": consent.obtained_on_behalf_of,
            "grants": [
                {
                    "recipient": g.recipient,
                    "categories": g.categories,
                    "purpose": g.purpose,
                    "granted": g.granted,
                }
                for g in consent.grants
            ],
            "professional": consent.professional.model_dump() if consent.professional else None,
        }
    )
    stored = StoredFacts(
        id=consent.id,
        status=consent.status,
        obtained_by=consent.obtained_by,
        valid_until=consent.valid_until,
        grant_ids=[g.id for g in consent.grants],
        withdrawn_at={g.id: g.withdrawn_at for g in consent.grants if g.withdrawn_at is not None},
    )
    return to_fhir(statement, stored)


def fhir_json(resource: FhirConsent) -> str:
    return resource.model_dump_json(exclude_none=True)


def _patient(statement: ConsentIn) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": _PATIENT_REF[1:],
        "identifier": [{"system": BSN_SYSTEM, "value": statement.subject.bsn}],
        "birthDate": statement.subject.birth_date.isoformat(),
    }


def _related_persons(statement: ConsentIn) -> list[dict[str, Any]]:
    persons = []
    for i, signatory in enumerate(statement.signatories):
        person: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": f"signatory-{i}",
            "patient": {"reference": _PATIENT_REF},
            "relationship": [{"coding": [{"system": SIGNATORY_SYSTEM, "code": signatory.role.value}]}],
            "name": [{"text": signatory.name}],
        }
        if signatory.bsn is not None:
            person["identifier"] = [{"system": BSN_SYSTEM, "value": signatory.bsn}]
        persons.append(person)
    return persons


def _statement_extensions(statement: ConsentIn, stored: StoredFacts | None) -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = [
        {"url": EXT + "consent-form", "valueCode": statement.form.value},
        {"url": EXT + "explicit", "valueBoolean": statement.explicit},
    ]
    if stored is not None:
        ext.append({"url": EXT + "consent-status", "valueCode": stored.status.value})
    for name, text in (
        ("oral-note", statement.note),
        ("other-parent-statement", statement.other_parent_statement),
        ("authorisation-evidence-sha256", statement.authorisation_evidence_sha256),
    ):
        if text is not None:
            ext.append({"url": EXT + name, "valueString": text})
    for name, flag in (
        ("subject-incapable", statement.subject_incapable),
        ("legal-representation", statement.legal_representation),
        ("sole-authority", statement.sole_authority),
    ):
        if flag:
            ext.append({"url": EXT + name, "valueBoolean": True})
    if statement.obtained_on_behalf_of is not None:
        ext.append(
            {
                "url": EXT + "obtained-on-behalf-of",
                "valueIdentifier": {"system": OIN_SYSTEM, "value": statement.obtained_on_behalf_of},
            }
        )
    if statement.professional is not None:
        ext.append(
            {
                "url": EXT + "professional",
                "extension": [
                    {"url": key, "valueString": value}
                    for key, value in statement.professional.model_dump().items()
                ],
            }
        )
    return ext


def _provision(statement: ConsentIn, stored: StoredFacts | None) -> dict[str, Any]:
    """Opt-in: the root provision denies, each yes/no line is a nested permit or deny."""
    period: dict[str, str] = {"start": _instant(statement.given_at)}
    valid_until = stored.valid_until if stored is not None else statement.valid_until
    if valid_until is not None:
        period["end"] = _instant(valid_until)
    lines = []
    for i, grant in enumerate(statement.grants):
        line: dict[str, Any] = {
            "type": "permit" if grant.granted else "deny",
            "actor": [{"role": _RECIPIENT_ROLE, "reference": _organisation(grant.recipient)}],
            "code": [{"coding": [{"system": CATEGORY_SYSTEM, "code": code}]} for code in grant.categories],
            "extension": [{"url": EXT + "purpose", "valueString": grant.purpose}],
        }
        if stored is not None:
            grant_id = stored.grant_ids[i]
            line["id"] = grant_id
            withdrawn = stored.withdrawn_at.get(grant_id)
            if withdrawn is not None:
                line["extension"].append({"url": EXT + "withdrawn-at", "valueDateTime": _instant(withdrawn)})
                line["period"] = {"start": period["start"], "end": _instant(withdrawn)}
        lines.append(line)
    return {"type": "deny", "period": period, "provision": lines}


def _organisation(oin: str) -> dict[str, Any]:
    return {"type": "Organization", "identifier": {"system": OIN_SYSTEM, "value": oin}}


def _instant(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _hex_to_base64(digest: str) -> str:
    # FHIR's Attachment.hash is base64; a hash that is not hex (a violation the rules name, art. 6
    # lid 4) travels as its UTF-8 bytes so the same violation comes back on the way in.
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = digest.encode()
    return base64.b64encode(raw).decode()


# ------------------------------------------------------------------- FHIR -> ours


def from_fhir(document: Any) -> ConsentIn:
    """Read a FHIR Consent (as parsed JSON) as the statement the art. 6 rules judge.

    Raises `FhirConsentInvalid` when it is not a valid R4 Consent or lacks what we need (the BSN and
    birth date of the patient, a dateTime, provisions). The rules themselves are not applied here.
    """
    if not isinstance(document, dict) or document.get("resourceType") != "Consent":
        raise FhirConsentInvalid([("fhir_not_consent", "the body is not a FHIR Consent resource.")])
    try:
        resource = FhirConsent.model_validate(document)
    except ValidationError as exc:
        raise FhirConsentInvalid(_library_problems(exc)) from None
    contained: dict[str, Any] = {str(c.id): c for c in resource.contained or [] if getattr(c, "id", None)}
    problems: list[tuple[str, str]] = []
    patient = _contained(contained, resource.patient.reference if resource.patient else None, "Patient")
    subject: dict[str, Any] = {}
    if patient is None:
        problems.append(("fhir_patient_missing", "patient must reference a contained Patient."))
    else:
        subject = {"bsn": _identifier(patient.identifier, BSN_SYSTEM), "birth_date": patient.birthDate}
        if subject["bsn"] is None:
            problems.append(("fhir_bsn_missing", f"the Patient needs an identifier of system {BSN_SYSTEM}."))
        if subject["birth_date"] is None:
            problems.append(("fhir_birth_date_missing", "the Patient needs a birthDate (art. 6 lid 5-9)."))
    if resource.dateTime is None:
        problems.append(("fhir_datetime_missing", "dateTime (when consent was given) is required."))
    signatories = []
    for performer in resource.performer or []:
        person = _contained(contained, performer.reference, "RelatedPerson")
        if person is None:
            problems.append(
                ("fhir_performer_invalid", "each performer must reference a contained RelatedPerson.")
            )
            continue
        signatories.append(
            {
                "role": _code(person.relationship or [], SIGNATORY_SYSTEM),
                "name": person.name[0].text if person.name else None,
                "bsn": _identifier(person.identifier, BSN_SYSTEM),
            }
        )
    root = resource.provision
    if root is None or not root.provision:
        problems.append(("fhir_provision_missing", "provision.provision must hold one provision per line."))
    if problems:
        raise FhirConsentInvalid(problems)
    assert root is not None and root.provision is not None and resource.dateTime is not None
    ext = _extensions(resource.extension)
    professional = _professional(resource.extension)
    body: dict[str, Any] = {
        "subject": subject,
        "form": ext.get("consent-form", "written" if resource.sourceAttachment else "oral"),
        "evidence_sha256": _base64_to_hex(resource.sourceAttachment.hash)
        if resource.sourceAttachment and resource.sourceAttachment.hash
        else None,
        "note": ext.get("oral-note"),
        "explicit": ext.get("explicit", False),
        "given_at": resource.dateTime,
        "valid_until": root.period.end if root.period else None,
        "signatories": [{k: v for k, v in s.items() if v is not None} for s in signatories],
        "other_parent_statement": ext.get("other-parent-statement"),
        "subject_incapable": ext.get("subject-incapable", False),
        "legal_representation": ext.get("legal-representation", False),
        "sole_authority": ext.get("sole-authority", False),
        "authorisation_evidence_sha256": ext.get("authorisation-evidence-sha256"),
        "obtained_on_behalf_of": ext.get("obtained-on-behalf-of"),
        "grants": [_grant(line) for line in root.provision],
        "professional": professional,
    }
    try:
        return ConsentIn.model_validate(body)
    except ValidationError as exc:
        raise FhirConsentInvalid(_library_problems(exc)) from None


def _grant(line: Any) -> dict[str, Any]:
    actors = [a for a in line.actor or [] if a.reference is not None]
    ext = _extensions(line.extension)
    return {
        "recipient": _identifier([actors[0].reference.identifier], OIN_SYSTEM)
        if actors and actors[0].reference.identifier is not None
        else None,
        "categories": [c for concept in line.code or [] for c in _codes(concept, CATEGORY_SYSTEM)],
        "purpose": ext.get("purpose"),
        "granted": {"permit": True, "deny": False}.get(line.type),
    }


def _contained(contained: dict[str, Any], reference: str | None, kind: str) -> Any:
    if reference is None or not reference.startswith("#"):
        return None
    found = contained.get(reference[1:])
    return found if found is not None and found.get_resource_type() == kind else None


def _identifier(identifiers: Iterable[Any] | None, system: str) -> str | None:
    for identifier in identifiers or []:
        if identifier is not None and identifier.system == system and identifier.value:
            return str(identifier.value)
    return None


def _codes(concept: Any, system: str) -> list[str]:
    return [str(c.code) for c in concept.coding or [] if c.system == system and c.code]


def _code(concepts: Iterable[Any], system: str) -> str | None:
    found = [code for concept in concepts for code in _codes(concept, system)]
    return found[0] if found else None


def _extensions(extensions: Iterable[Any] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for ext in extensions or []:
        if not ext.url.startswith(EXT):
            continue
        name = ext.url[len(EXT) :]
        for attribute in ("valueString", "valueBoolean", "valueCode", "valueDateTime"):
            value = getattr(ext, attribute, None)
            if value is not None:
                values[name] = value
        if ext.valueIdentifier is not None:
            values[name] = ext.valueIdentifier.value
    return values


def _professional(extensions: Iterable[Any] | None) -> dict[str, Any] | None:
    for ext in extensions or []:
        if ext.url == EXT + "professional":
            return {part.url: part.valueString for part in ext.extension or []}
    return None


def _base64_to_hex(value: str | bytes) -> str:
    # The library hands base64Binary over already decoded, as bytes.
    try:
        raw = value if isinstance(value, bytes) else base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return str(value)
    if len(raw) == 32:
        return raw.hex()
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.hex()


def _library_problems(exc: ValidationError) -> list[tuple[str, str]]:
    return [
        ("fhir_invalid", f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        for error in exc.errors(include_input=False, include_url=False)
    ][:20]
