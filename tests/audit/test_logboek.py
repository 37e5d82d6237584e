"""The register as a Logboek Dataverwerkingen (Logius standard): mapping, conformance, API.

Conformance is checked against `data/logboek_logregel.schema.json`, a JSON Schema we transcribed
from the standard's interface table (the standard publishes the table, no schema or example file
of its own), and the OTLP form against the OTLP/JSON trace shape.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy.orm.attributes import set_committed_value

from audit import logboek
from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, entry_columns
from gateway.runtime import Runtime
from gateway.settings import DEFAULT_DATA_DIR
from tests.consent.test_api import consent_body
from tests.support import JGZ, MUNICIPALITY, SCHOOL, DevEnv

Client = Callable[[str], httpx.Client]
SCHEMA = json.loads((Path(__file__).parent / "data" / "logboek_logregel.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
ACTIVITIES = logboek.load_processing_activities(DEFAULT_DATA_DIR / "processing_activities.toml")


def conforms(record: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(record), key=str)
    assert not errors, [e.message for e in errors]


def entry(kind: str, **overrides: Any) -> RegisterEntry:
    fields: dict[str, Any] = {
        "kind": kind,
        "occurred_at": dt.datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=dt.UTC),
        "actor": MUNICIPALITY,
        "actor_role": "partner",
        "actor_org": MUNICIPALITY,
        "sender": MUNICIPALITY,
        "recipient": JGZ,
        "subject_hash": "ab" * 32,
        "categories": ["contact"],
        "trace_id": TRACE,
        "caller_operation": None,
    }
    fields.update(overrides)
    entry = RegisterEntry(**entry_columns(EntryDraft(**fields)), seq=1)
    set_committed_value(entry, "leaf_index", 7)  # as if read back with its position
    return entry


# ------------------------------------------------------------------ pure mapping


def test_the_schema_itself_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("kind", sorted(EntryKind.all()))
def test_every_kind_maps_to_a_conforming_line_with_its_activity(kind: str) -> None:
    record = logboek.log_record(entry(kind), ACTIVITIES, "1.0")
    conforms(record)
    activity = {a["key"]: a["value"] for a in record["attributes"]}["dpl.core.processing_activity_id"]
    assert activity == ACTIVITIES.uri(ACTIVITIES.for_kind(kind))
    assert record["name"] == kind


def test_the_fields_the_standard_names() -> None:
    record = logboek.log_record(
        entry(EntryKind.DISCLOSURE_SENT, caller_operation={"trace_id": TRACE, "span_id": CALLER_SPAN}),
        ACTIVITIES,
        "1.0",
    )
    attributes = {a["key"]: a["value"] for a in record["attributes"]}
    assert record["trace_id"] == TRACE
    assert len(record["span_id"]) == 16 and record["span_id"] != CALLER_SPAN
    assert record["status_code"] == "STATUS_CODE_OK"
    assert record["start_time"] == record["end_time"] == "2026-12-04T10:30:15.123Z"
    assert attributes["dpl.core.data_subject_id"] == "ab" * 32  # the keyed hash, never the BSN
    assert attributes["dpl.core.data_subject_id_type"] == ACTIVITIES.data_subject_id_type
    assert record["foreign_operation"] == {
        "trace_id": TRACE,
        "span_id": CALLER_SPAN,
        "entity": f"https://meerpunt.zoetermeer.nl/v1/partners/{MUNICIPALITY}",
    }
    assert attributes["meerpunt.leaf_index"] == "7"


def test_status_codes_follow_the_standard() -> None:
    assert logboek.log_record(entry(EntryKind.DISCLOSURE_REFUSED), ACTIVITIES, "1")["status_code"] == (
        "STATUS_CODE_UNSET"  # refused: the client's error (4xx) stays Unset
    )
    assert logboek.log_record(entry(EntryKind.DELIVERY_FAILED), ACTIVITIES, "1")["status_code"] == (
        "STATUS_CODE_ERROR"
    )


def test_a_line_without_subject_has_no_subject_attributes() -> None:
    record = logboek.log_record(entry(EntryKind.REGISTER_ACCESSED, subject_hash=None), ACTIVITIES, "1")
    conforms(record)
    assert not [a for a in record["attributes"] if a["key"].startswith("dpl.core.data_subject")]


def test_span_ids_are_stable_and_distinct() -> None:
    assert logboek.span_id("a") == logboek.span_id("a") != logboek.span_id("b")


def test_otlp_form() -> None:
    record = logboek.log_record(
        entry(EntryKind.DISCLOSURE_SENT, caller_operation={"trace_id": TRACE, "span_id": CALLER_SPAN}),
        ACTIVITIES,
        "1.0",
    )
    otlp = logboek.to_otlp([record], "1.0")
    [span] = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert span["traceId"] == TRACE and span["spanId"] == record["span_id"]
    seconds = int(dt.datetime(2026, 12, 4, 10, 30, 15, tzinfo=dt.UTC).timestamp())
    assert span["startTimeUnixNano"] == str(seconds * 10**9 + 123_000_000)
    assert span["status"] == {"code": 1}
    assert span["links"][0]["spanId"] == CALLER_SPAN
    assert {"key": "dpl.core.data_subject_id", "value": {"stringValue": "ab" * 32}} in span["attributes"]


def test_a_kind_without_activity_is_a_configuration_error(tmp_path: Path) -> None:
    source = (DEFAULT_DATA_DIR / "processing_activities.toml").read_text()
    broken = tmp_path / "activities.toml"
    broken.write_text(source.replace('"register_accessed"', '"no_such_kind"'))
    with pytest.raises(logboek.ProcessingActivityError, match="register_accessed"):
        logboek.load_processing_activities(broken)


# ------------------------------------------------------------------------- API


def test_export_over_mtls_conforms_and_links_the_callers_operation(
    client_for: Client, runtime: Runtime, dev_env: DevEnv
) -> None:
    body = consent_body(grants=None)
    bsn = body["subject"]["bsn"]
    caller = client_for(MUNICIPALITY)
    created = caller.post("/v1/consents", json=body, headers={"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01"})
    assert created.status_code == 201, created.text

    response = caller.get("/v1/register/logboek", params={"subject_bsn": bsn})
    assert response.status_code == 200, response.text
    assert bsn not in response.text
    items = response.json()["items"]
    [line] = [i for i in items if i["name"] == EntryKind.CONSENT_REGISTERED]
    conforms(line)
    assert line["trace_id"] == TRACE
    assert line["foreign_operation"]["span_id"] == CALLER_SPAN
    attributes = {a["key"]: a["value"] for a in line["attributes"]}
    assert attributes["dpl.core.data_subject_id"] == runtime.bsn_hash(bsn)

    # The activity URI resolves in the gateway's register of processing activities.
    path = attributes["dpl.core.processing_activity_id"].split("/v1/", 1)[1]
    version = caller.get(f"/v1/{path}")
    assert version.status_code == 200, version.text
    assert version.json()["version"] == 1 and "Consent" in version.json()["legalBasis"]
    activity_id = path.split("/")[1]
    assert caller.get(f"/v1/processing-activities/{activity_id}").json()["latestVersion"] == 1
    assert caller.get(f"/v1/processing-activities/{activity_id}/versions/9").status_code == 404

    otlp = caller.get("/v1/register/logboek/otlp", params={"subject_bsn": bsn})
    assert otlp.status_code == 200
    spans = otlp.json()["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert line["span_id"] in {s["spanId"] for s in spans}

    # Scoped like GET /v1/register: a partner not involved sees none of it.
    other = client_for(SCHOOL).get("/v1/register/logboek", params={"subject_bsn": bsn}).json()["items"]
    assert [i for i in other if i["name"] == EntryKind.CONSENT_REGISTERED] == []


def test_citizens_do_not_read_the_logboek(anonymous: httpx.Client, dev_env: DevEnv) -> None:
    response = anonymous.get("/v1/register/logboek", headers=dev_env.citizen_headers("111222333"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
