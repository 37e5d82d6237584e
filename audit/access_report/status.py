"""Where a toestemmingsverklaring and each of its lines stand at a moment (Bijlage VIII).

The statement's status is the rule partners see too (`consent.rules.consent_status`), applied to
the report's records; the status of one line (given, refused, withdrawn) is the report's own.
"""

from __future__ import annotations

from datetime import datetime

from audit.access_report.inputs import ConsentGrantRecord, ConsentRecord, _require_aware
from consent import rules as consent_rules
from consent.rules import ConsentStatus


def consent_status(consent: ConsentRecord, at: datetime) -> ConsentStatus:
    """Status of a toestemmingsverklaring at ``at``: the rule partners see too
    (``consent.rules.consent_status``, Bijlage VIII)."""
    return consent_rules.consent_status(
        given_at=consent.given_at,
        valid_until=consent.valid_until,
        withdrawn_at=consent.withdrawn_at,
        lines=[(g.granted, g.withdrawn_at) for g in consent.grants],
        at=at,
    )


def _grant_withdrawn(grant: ConsentGrantRecord, at: datetime) -> bool:
    if grant.withdrawn_at is None:
        return False
    _require_aware(withdrawn_at=grant.withdrawn_at)
    return grant.withdrawn_at <= at


def grant_status(grant: ConsentGrantRecord, consent_withdrawn_at: datetime | None, at: datetime) -> str:
    """``granted`` | ``refused`` | ``withdrawn`` for one line of the form at ``at`` (Bijlage VIII)."""
    if not grant.granted:
        return "refused"
    whole = consent_withdrawn_at is not None and consent_withdrawn_at <= at
    return "withdrawn" if whole or _grant_withdrawn(grant, at) else "granted"
