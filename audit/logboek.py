"""The art. 8 register as a Logboek Dataverwerkingen (Logius standard), in pure functions.

Dutch government standardises how processing of personal data is logged: the Logius standard
*Logboek Dataverwerkingen* (built on W3C Trace Context and OpenTelemetry) prescribes, per action of
a processing ("Dataverwerking"), one log line ("Logregel") with `trace_id`, `span_id`,
`status_code`, `name`, `start_time`, `end_time`, optional `parent_span_id`, `foreign_operation` and
`resource`, and `attributes` in the `dpl.` namespace: the processing activity
(`dpl.core.processing_activity_id`, a URI into the register of processing activities) and the data
subject (`dpl.core.data_subject_id`, pseudonymised, and its `_type`). The register already holds
one entry per action with at most one subject, so each entry is exactly one log line.

The standard does not prescribe a transport; it recommends OTLP between application and logbook,
so the export is offered both in the standard's own field names and as OTLP/JSON
(`ExportTraceServiceRequest`). docs/register.md has the field table and what the gateway adds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.models import RegisterEntry, decode_categories
from audit.service import EntryKind

SERVICE_NAME = "meerpunt-gateway"

STATUS_UNSET, STATUS_OK, STATUS_ERROR = "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"
_OTLP_STATUS = {STATUS_UNSET: 0, STATUS_OK: 1, STATUS_ERROR: 2}

# A refused attempt is the client's error (the standard: 4xx stays Unset); a failed delivery is
# the gateway's own failure to complete the processing (Error); everything else completed (Ok).
_STATUS_BY_KIND = {EntryKind.DISCLOSURE_REFUSED: STATUS_UNSET, EntryKind.DELIVERY_FAILED: STATUS_ERROR}


class ProcessingActivityError(ValueError):
    """The register of processing activities is incomplete or malformed (refused at start-up)."""


@dataclass(frozen=True)
class ProcessingActivity:
    """Verwerkingsactiviteit (AVG art. 30), in the shape of the standard's register interface."""

    id: str
    version: int
    name: str
    purpose: str
    legal_basis: tuple[str, ...]
    processing_options: tuple[str, ...]
    data_subjects: tuple[str, ...]
    retention: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class ProcessingActivities:
    """The configured register: which activity each kind of register entry belongs to."""

    base_uri: str
    entity_uri: str
    data_subject_id_type: str
    activities: tuple[ProcessingActivity, ...]

    def for_kind(self, kind: str) -> ProcessingActivity:
        for activity in self.activities:
            if kind in activity.kinds:
                return activity
        raise ProcessingActivityError(f"no processing activity for register entry kind {kind!r}")

    def uri(self, activity: ProcessingActivity) -> str:
        """A versioned URI: a changed activity gets a new version, old lines keep theirs."""
        return f"{self.base_uri.rstrip('/')}/{activity.id}/versions/{activity.version}"

    def by_id(self, activity_id: str) -> ProcessingActivity | None:
        return next((a for a in self.activities if a.id == activity_id), None)


def load_processing_activities(path: Path) -> ProcessingActivities:
    """Read the register; every kind of register entry must belong to exactly one activity.

    The standard requires each processing of personal data to reference its activity, so a kind
    without one is a configuration error, not a line without `processing_activity_id`.
    """
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ProcessingActivityError(f"{path}: {exc}") from exc
    activities = tuple(
        ProcessingActivity(
            id=str(raw["id"]),
            version=int(raw["version"]),
            name=str(raw["name"]),
            purpose=str(raw["purpose"]),
            legal_basis=tuple(raw.get("legal_basis", ())),
            processing_options=tuple(raw.get("processing_options", ())),
            data_subjects=tuple(raw.get("data_subjects", ())),
            retention=str(raw.get("retention", "")),
            kinds=tuple(raw.get("kinds", ())),
        )
        for raw in data.get("activities", [])
    )
    claimed = [kind for activity in activities for kind in activity.kinds]
    missing = sorted(EntryKind.all() - set(claimed))
    twice = sorted({kind for kind in claimed if claimed.count(kind) > 1})
    unknown = sorted(set(claimed) - EntryKind.all())
    if missing or twice or unknown:
        raise ProcessingActivityError(
            f"{path}: kinds without an activity {missing}, in several {twice}, unknown {unknown}"
        )
    return ProcessingActivities(
        base_uri=str(data["base_uri"]),
        entity_uri=str(data["entity_uri"]),
        data_subject_id_type=str(data["data_subject_id_type"]),
        activities=activities,
    )


# ------------------------------------------------------------------- entry -> Logregel


def span_id(entry_id: str) -> str:
    """The entry's action id: 8 bytes derived from the entry id, so every export gives the same one."""
    digest = hashlib.sha256(b"meerpunt logboek span\x00" + entry_id.encode()).digest()
    span = digest[:8] if any(digest[:8]) else digest[8:16]  # all-zero is invalid in Trace Context
    return span.hex()


def _timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC to the millisecond (the standard's "timestamp (ms)")."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_record(entry: RegisterEntry, activities: ProcessingActivities, version: str) -> dict[str, Any]:
    """One register entry as a Logregel of the standard's Logboek interface (plus `meerpunt.*`)."""
    body = entry.body_fields
    activity = activities.for_kind(entry.kind)
    attributes: list[dict[str, str]] = [
        {"key": "dpl.core.processing_activity_id", "value": activities.uri(activity)},
    ]
    if entry.subject_hash is not None:
        attributes += [
            {"key": "dpl.core.data_subject_id", "value": entry.subject_hash},
            {"key": "dpl.core.data_subject_id_type", "value": activities.data_subject_id_type},
        ]
    extra: Mapping[str, Any] = {
        "meerpunt.register_entry_id": entry.id,
        "meerpunt.leaf_index": entry.leaf_index,
        "meerpunt.leaf_hash": entry.leaf_hash.hex(),
        "meerpunt.actor_org": entry.actor_org,
        "meerpunt.actor_role": body.get("actor_role"),
        "meerpunt.sender": entry.sender,
        "meerpunt.recipient": entry.recipient,
        "meerpunt.categories": ",".join(decode_categories(entry.categories)) or None,
        "meerpunt.legal_basis": entry.legal_basis,
        "meerpunt.disclosure_id": entry.disclosure_id,
    }
    attributes += [{"key": key, "value": str(value)} for key, value in extra.items() if value is not None]
    record: dict[str, Any] = {
        "trace_id": entry.trace_id,
        "span_id": span_id(entry.id),
        "status_code": _STATUS_BY_KIND.get(entry.kind, STATUS_OK),
        "name": entry.kind,
        "start_time": _timestamp(entry.occurred_at),
        "end_time": _timestamp(entry.occurred_at),
        "resource": {
            "attributes": [
                {"key": "service.name", "value": SERVICE_NAME},
                {"key": "service.version", "value": version},
            ]
        },
        "attributes": attributes,
    }
    caller = body.get("caller_operation")
    if caller is not None and entry.actor_org and entry.actor_org.isdigit():
        # The calling organisation's own record of this exchange, from the `traceparent` it sent.
        record["foreign_operation"] = {
            "trace_id": caller["trace_id"],
            "span_id": caller["span_id"],
            "entity": activities.entity_uri.format(oin=entry.actor_org),
        }
    return record


# ------------------------------------------------------------------------ OTLP/JSON


def _any_value(value: str) -> dict[str, str]:
    return {"stringValue": value}


def _unix_nano(rfc3339: str) -> str:
    moment = dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    # Integer arithmetic: a float of nanoseconds since 1970 loses the last digits.
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return str((delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000)


def to_otlp(records: Sequence[Mapping[str, Any]], version: str) -> dict[str, Any]:
    """Log lines as an OTLP/JSON `ExportTraceServiceRequest` (one span per line, ids in hex).

    `foreign_operation` becomes a span link to the other organisation's span, with its entity as
    a link attribute; OTLP/JSON encodes 64-bit integers (the times) as strings.
    """
    spans = []
    for record in records:
        span: dict[str, Any] = {
            "traceId": record["trace_id"],
            "spanId": record["span_id"],
            "name": record["name"],
            "kind": 1,  # SPAN_KIND_INTERNAL
            "startTimeUnixNano": _unix_nano(record["start_time"]),
            "endTimeUnixNano": _unix_nano(record["end_time"]),
            "attributes": [{"key": a["key"], "value": _any_value(a["value"])} for a in record["attributes"]],
            "status": {"code": _OTLP_STATUS[record["status_code"]]},
        }
        if record.get("parent_span_id"):
            span["parentSpanId"] = record["parent_span_id"]
        foreign = record.get("foreign_operation")
        if foreign is not None:
            span["links"] = [
                {
                    "traceId": foreign["trace_id"],
                    "spanId": foreign["span_id"],
                    "attributes": [
                        {"key": "dpl.core.foreign_operation.entity", "value": _any_value(foreign["entity"])}
                    ],
                }
            ]
        spans.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": _any_value(SERVICE_NAME)},
                        {"key": "service.version", "value": _any_value(version)},
                    ]
                },
                "scopeSpans": [
                    {"scope": {"name": "meerpunt-gateway.register", "version": version}, "spans": spans}
                ],
            }
        ]
    }


# --------------------------------------------------------------- register interface


def activity_view(activity: ProcessingActivity) -> dict[str, Any]:
    """`ProcessingActivity` of the standard's register interface (read-only)."""
    return {"id": activity.id, "active": True, "latestVersion": activity.version}


def activity_version_view(activity: ProcessingActivity, categories: Sequence[str]) -> dict[str, Any]:
    """`ProcessingActivityVersion` of the standard's register interface (read-only)."""
    return {
        "name": activity.name,
        "version": activity.version,
        "purpose": activity.purpose,
        "legalBasis": list(activity.legal_basis),
        "processingOptions": list(activity.processing_options),
        "dataSubjects": list(activity.data_subjects),
        "personalData": {"categories": list(categories), "retentionPeriod": activity.retention},
    }
