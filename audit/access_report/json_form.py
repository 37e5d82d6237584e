"""The report in the structured, machine-readable form of art. 15 lid 1: a JSON document.

Kept apart from `report`: it is one more rendering of the same values, next to the Dutch page
(`audit.access.html`) and the portal's PDF, and only reads a finished `AccessReport`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audit.access_report.inputs import PartnerName
from audit.access_report.labels import withheld_ground_label
from audit.access_report.report import AccessReport, LabelledCategory, ReportConsent, ReportDisclosure
from audit.access_report.rights import RESPONSE_PERIOD, RESPONSE_PERIOD_TEXT
from audit.canonical import rfc3339


def report_to_json(report: AccessReport) -> dict[str, Any]:
    """Gestructureerde, gangbare en machineleesbare vorm (art. 15 lid 1) of the report.

    English keys, RFC 3339 UTC times, category codes with their Dutch labels. Withheld entries
    appear only as a count and a ground (art. 10 lid 6-7), never by id.
    """
    withheld: dict[str, Any] = {"count": report.withheld_count, "ground": report.withheld_ground}
    if report.withheld_count:
        withheld["ground_label"] = withheld_ground_label(report.withheld_ground)
    return {
        "outcome": "released",
        "request": {
            "id": report.request_id,
            "requested_by": report.requested_by,
            "received_at": rfc3339(report.received_at),
            "decided_at": rfc3339(report.decided_at),
        },
        "subject": {"label": report.subject_label},
        "generated_at": rfc3339(report.generated_at),
        "restricted": report.restricted,
        "disclosures": [_disclosure_json(d) for d in report.disclosures],
        "withheld": withheld,
        "consents": [_consent_json(c) for c in report.consents],
        "rights": [
            {"code": r.code, "title": r.title, "article": r.article, "description": r.description}
            for r in report.rights
        ],
        "response_period": {
            "duration": RESPONSE_PERIOD,
            "article": "10.3",
            "description": RESPONSE_PERIOD_TEXT,
        },
    }


def _partner_json(partner: PartnerName) -> dict[str, str]:
    return {"oin": partner.oin, "name": partner.name}


def _categories_json(categories: Iterable[LabelledCategory]) -> list[dict[str, str]]:
    return [{"code": c.code, "label": c.label} for c in categories]


def _disclosure_json(d: ReportDisclosure) -> dict[str, Any]:
    basis: dict[str, Any] = {"type": d.legal_basis.type}
    if d.legal_basis.consent_given_at is not None:
        basis["consent_given_at"] = rfc3339(d.legal_basis.consent_given_at)
    if d.legal_basis.ground is not None:
        basis["ground"] = d.legal_basis.ground
    basis["ground_label"] = d.legal_basis.label
    return {
        "id": d.entry_id,
        "kind": d.kind,
        "occurred_at": rfc3339(d.occurred_at),
        "sender": _partner_json(d.sender),
        "recipient": _partner_json(d.recipient),
        "categories": _categories_json(d.categories),
        "reason": d.reason,
        "description": d.description,
        "legal_basis": basis,
        "acknowledged": d.acknowledged,
        "acknowledged_at": rfc3339(d.acknowledged_at) if d.acknowledged_at else None,
        "delivery": d.delivery,
        "delivery_label": d.delivery_label,
        "erased_at": rfc3339(d.erased_at) if d.erased_at else None,
    }


def _consent_json(c: ReportConsent) -> dict[str, Any]:
    return {
        "id": c.consent_id,
        "obtained_by": _partner_json(c.obtained_by),
        "form": c.form,
        "given_at": rfc3339(c.given_at),
        "valid_until": rfc3339(c.valid_until),
        "withdrawn_at": rfc3339(c.withdrawn_at) if c.withdrawn_at else None,
        "status": str(c.status),
        "status_label": c.status_label,
        "grants": [
            {
                "recipient": _partner_json(g.recipient),
                "categories": _categories_json(g.categories),
                "purpose": g.purpose,
                "granted": g.granted,
                "status": g.status,
                "status_label": g.status_label,
                "withdrawn_at": rfc3339(g.withdrawn_at) if g.withdrawn_at else None,
            }
            for g in c.grants
        ],
    }
