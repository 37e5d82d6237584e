"""Builders for register entries in the audit tests (small on purpose; each test adds its own)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine

from audit.models import RegisterEntry
from audit.service import EntryDraft, EntryKind, record
from gateway.db import unit_of_work

MOMENT = dt.datetime(2025, 11, 23, 18, 28, 0, 123456, tzinfo=dt.UTC)


def make_draft(**overrides: Any) -> EntryDraft:
    fields: dict[str, Any] = {
        "kind": EntryKind.DISCLOSURE_SENT,
        "occurred_at": MOMENT,
        "actor": "p-17",
        "actor_role": "partner",
        "actor_org": "99990000000000000001",
        "sender": "99990000000000000001",
        "recipient": "99990000000000000004",
        "subject_hash": uuid.uuid4().hex * 2,
        "categories": ["identification", "care_progress"],
        "reason": "Afstemming gezinsplan na overleg met de ouders",
        "description": "Voortgangsverslag",
        "legal_basis": {"type": "consent", "consent_id": str(uuid.uuid4())},
        "professional": {"id": "p-17", "name": "Anna de Vries", "role": "jeugdconsulent"},
        "disclosure_id": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return EntryDraft(**fields)


def record_all(engine: Engine, drafts: Iterable[EntryDraft]) -> list[RegisterEntry]:
    """Record the drafts, one transaction each (as requests do), and return the stored entries."""
    entries = []
    for draft in drafts:
        with unit_of_work(engine) as session:
            entries.append(record(session, draft))
    return entries


def varied_drafts(count: int) -> list[EntryDraft]:
    """Entries with the kinds of values that break naive encoders: quotes, backslashes, emoji, NULLs."""
    drafts = []
    for i in range(count):
        if i % 5 == 0:
            drafts.append(make_draft(reason='Zorg "dringend" \\ nodig — ñ 😀', description=None))
        elif i % 5 == 1:
            drafts.append(
                make_draft(
                    kind=EntryKind.CONSENT_REGISTERED,
                    sender=None,
                    recipient=None,
                    disclosure_id=None,
                    legal_basis=None,
                    categories=[],
                    details={"consent_id": str(uuid.uuid4()), "note": "regel 1\nregel 2\ttab"},
                )
            )
        elif i % 5 == 2:
            drafts.append(make_draft(occurred_at=dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)))
        elif i % 5 == 3:
            drafts.append(
                make_draft(
                    occurred_at=dt.datetime(2026, 3, 29, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                    actor="Ämber van 't Hof",
                )
            )
        else:
            drafts.append(make_draft(legal_basis={"type": "override", "ground": "art7_3_refused_consent"}))
    return drafts
