"""Writing the register: `record(session, draft)` inside the caller's transaction.

Every registrable event (art. 8 lid 1-2, and the access to the register itself) goes through here, in
the same transaction as the action it records: no entry, no action (fail closed). The request only
inserts its entry with its leaf hash; the sequencer assigns tree positions later, in batches, so
appends never serialise the gateway on one lock.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from audit.canonical import canonical_json, rfc3339
from audit.leaf import encode_line, header_values, line_leaf_hash
from audit.models import RegisterEntry

__all__ = [
    "EntryDraft",
    "EntryKind",
    "encode_categories",
    "entry_body",
    "entry_columns",
    "entry_content",
    "new_trace_id",
    "record",
    "rfc3339",
    "traceparent",
]


class EntryKind:
    """The kinds of register entries (closed list; the officer API filters on them)."""

    DISCLOSURE_SENT = "disclosure_sent"
    DISCLOSURE_RECEIVED = "disclosure_received"
    DISCLOSURE_REFUSED = "disclosure_refused"
    DISCLOSURE_APPROVED = "disclosure_approved"
    DISCLOSURE_EXPIRED = "disclosure_expired"
    OVERRIDE_HELD = "override_held"
    DELIVERY_FAILED = "delivery_failed"
    INFORMATION_REQUEST_SENT = "information_request_sent"
    INFORMATION_REQUEST_DECLINED = "information_request_declined"
    #: The holder acknowledged an information request (art. 8.2 applies to disclosures only;
    #: a request or notice discloses no case data, so it is not a `disclosure_received`).
    INFORMATION_REQUEST_RECEIVED = "information_request_received"
    NOTICE_RECEIVED = "notice_received"
    CORRECTION_SENT = "correction_sent"
    CONSENT_REGISTERED = "consent_registered"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OVERRIDE_REVIEWED = "override_reviewed"
    SUBJECT_INFORMED = "subject_informed"
    RESTRICTION_SET = "restriction_set"
    RESTRICTION_LIFTED = "restriction_lifted"
    ERASURE = "erasure"
    ACCESS_REQUEST_RECEIVED = "access_request_received"
    ACCESS_REQUEST_DECIDED = "access_request_decided"
    ACCESS_REQUEST_CONFIRMED = "access_request_confirmed"
    ACCESS_REQUEST_VERIFIED = "access_request_verified"
    REGISTER_ACCESSED = "register_accessed"

    @classmethod
    def all(cls) -> frozenset[str]:
        return frozenset(
            value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)
        )


def new_trace_id() -> str:
    """A W3C trace-context trace id (32 lowercase hex), shared by both sides of one exchange."""
    return secrets.token_hex(16)


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


@dataclass(frozen=True)
class EntryDraft:
    """What a caller knows about the event; the register adds id, hash and position."""

    kind: str
    occurred_at: dt.datetime
    actor: str
    actor_role: str
    actor_org: str | None = None
    sender: str | None = None
    recipient: str | None = None
    subject_hash: str | None = None
    categories: Sequence[str] = ()
    reason: str | None = None
    description: str | None = None
    legal_basis: Mapping[str, Any] | None = None
    professional: Mapping[str, Any] | None = None
    trace_id: str = field(default_factory=new_trace_id)
    disclosure_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def entry_content(entry_id: str, draft: EntryDraft) -> dict[str, Any]:
    """Everything the register says about the event, as `RegisterEntry.content` returns it."""
    return {
        "id": entry_id,
        "kind": draft.kind,
        "occurred_at": rfc3339(draft.occurred_at),
        "actor": draft.actor,
        "actor_role": draft.actor_role,
        "actor_org": draft.actor_org,
        "sender": draft.sender,
        "recipient": draft.recipient,
        "subject_hash": draft.subject_hash,
        "categories": list(draft.categories),
        "reason": draft.reason,
        "description": draft.description,
        "legal_basis": dict(draft.legal_basis) if draft.legal_basis is not None else None,
        "professional": dict(draft.professional) if draft.professional is not None else None,
        "trace_id": draft.trace_id,
        "disclosure_id": draft.disclosure_id,
        "details": dict(draft.details),
    }


def encode_categories(categories: Sequence[str]) -> str:
    """`,a,b,` so that a category filter is a portable `LIKE '%,a,%'` on SQLite and PostgreSQL."""
    return "," + ",".join(categories) + "," if categories else ""


def entry_body(draft: EntryDraft) -> str:
    """The hashed content that is not an indexed column, as canonical JSON (see `audit.leaf`)."""
    return canonical_json(
        {
            "actor_role": draft.actor_role,
            "reason": draft.reason,
            "description": draft.description,
            "legal_basis": dict(draft.legal_basis) if draft.legal_basis is not None else None,
            "professional": dict(draft.professional) if draft.professional is not None else None,
            "details": dict(draft.details),
        }
    )


def entry_columns(draft: EntryDraft, entry_id: str | None = None) -> dict[str, Any]:
    """Every stored column of a new entry, including `body` and `leaf_hash` (pure: no I/O).

    Raises ValueError for a naive `occurred_at` or a control character in an indexed field.
    """
    if draft.occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    legal_basis_type = draft.legal_basis.get("type") if draft.legal_basis else None
    columns: dict[str, Any] = {
        "id": entry_id or str(uuid.uuid4()),
        "kind": draft.kind,
        # Stored in UTC: SQLite drops the offset, and the leaf encodes the instant.
        "occurred_at": draft.occurred_at.astimezone(dt.UTC),
        "actor": draft.actor,
        # "" and None both mean "absent" and hash the same; store one of them.
        "actor_org": draft.actor_org or None,
        "sender": draft.sender or None,
        "recipient": draft.recipient or None,
        "subject_hash": draft.subject_hash or None,
        "categories": encode_categories(draft.categories),
        "legal_basis": str(legal_basis_type) if legal_basis_type else None,
        "trace_id": draft.trace_id,
        "disclosure_id": draft.disclosure_id or None,
    }
    body = entry_body(draft)
    columns["body"] = body
    columns["leaf_hash"] = line_leaf_hash(encode_line(header_values(columns), body))
    return columns


def record(session: Session, draft: EntryDraft) -> RegisterEntry:
    """Append an entry in the caller's transaction (flush only: the caller's unit of work commits).

    Only an INSERT: no lock, no tree work. The sequencer gives the entry its tree position within
    `sequencer_interval_seconds`; its inclusion proof is available after the next checkpoint.
    Raises ValueError for a naive `occurred_at` or a control character in an indexed field.
    """
    columns = entry_columns(draft)
    session.flush()  # the caller's pending objects first, as an ORM flush of the entry would do
    # A Core INSERT in the session's transaction rather than an ORM flush: same statement, same
    # transaction, a fraction of the unit-of-work bookkeeping on the hottest path of the gateway.
    seq = session.connection().execute(_INSERT, columns).scalar_one()
    return RegisterEntry(**columns, seq=seq)


# Built once: a statement made per call with .values() costs more than the INSERT itself.
_INSERT = sa.insert(RegisterEntry).returning(col(RegisterEntry.seq))
