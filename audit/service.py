"""Writing the register: `record(session, draft)` inside the caller's transaction.

Every registrable event (art. 8 lid 1-2, and the access to the register itself) goes through here, in
the same transaction as the action it records: no entry, no action (fail closed). The request only
inserts its entry with its leaf hash; the sequencer assigns tree positions later, in batches, so
appends never serialise the gateway on one lock.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from audit.canonical import canonical_json, rfc3339
from audit.leaf import HEADER_FIELDS, encode_line, header_values, line_leaf_hash
from audit.models import RegisterEntry
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal

__all__ = [
    "ENTRY_COLUMNS",
    "EntryDraft",
    "EntryKind",
    "PreparedEntry",
    "bind_traceparent",
    "caller_operation",
    "encode_categories",
    "entry_body",
    "entry_columns",
    "new_trace_id",
    "parse_traceparent",
    "prepare",
    "professional_from_headers",
    "record",
    "record_read",
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
    #: An e-mail partner in `notify` mode was sent the notification with the pickup link (no
    #: personal data in it); reading the message is the acknowledgement (`disclosure_received`).
    DELIVERY_NOTIFIED = "delivery_notified"
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
    #: A follow-up right (art. 11-14) asked for from the portal, and its outcome.
    RIGHTS_REQUEST_RECEIVED = "rights_request_received"
    RIGHTS_REQUEST_HANDLED = "rights_request_handled"
    REGISTER_ACCESSED = "register_accessed"
    #: Coordination of help (Spoorboekje §10.2-10.3): who coordinates a household's help.
    COORDINATION_DESIGNATED = "coordination_designated"
    COORDINATION_HANDED_OVER = "coordination_handed_over"
    COORDINATION_ENDED = "coordination_ended"

    @classmethod
    def all(cls) -> frozenset[str]:
        return frozenset(
            value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)
        )


_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_NO_TRACE = "0" * 32
_NO_PARENT = "0" * 16

# The trace id the caller sent with this request (W3C `traceparent`), if any. Set once per request
# by the gateway's partner authentication (gateway/deps.py); each request runs in its own context.
_CALL_TRACE: ContextVar[str | None] = ContextVar("meerpunt_call_trace", default=None)
# The caller's own operation (trace id and parent/span id of its `traceparent`): the link from a
# register entry to the record the other organisation keeps of the same exchange (Logboek
# Dataverwerkingen `foreign_operation`, docs/register.md).
_CALL_OPERATION: ContextVar[tuple[str, str] | None] = ContextVar("meerpunt_call_operation", default=None)


def parse_traceparent(value: str | None) -> str | None:
    """The trace id of a W3C Trace Context `traceparent` header, or None if absent or malformed.

    Version 00 is exactly `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`, lowercase. A
    later version may append fields after a further `-` (the spec asks parsers to accept that);
    version `ff` and all-zero ids are invalid. A malformed header is ignored, not an error: the
    gateway then starts a trace of its own, as the spec prescribes.
    """
    if value is None or len(value) > 512:
        return None
    value = value.strip(" \t")
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version == "ff" or trace_id == _NO_TRACE or parent_id == _NO_PARENT:
        return None
    if len(value) != 55 and (version == "00" or value[55] != "-"):
        return None
    return trace_id


def bind_traceparent(value: str | None) -> None:
    """Use the caller's trace id, if its `traceparent` is valid, for the register entries of this call."""
    trace_id = parse_traceparent(value)
    _CALL_TRACE.set(trace_id)
    # parse_traceparent accepted it, so the parent id is the 16 hex digits after the trace id.
    _CALL_OPERATION.set((trace_id, value.strip(" \t")[36:52]) if trace_id is not None and value else None)


def caller_operation() -> dict[str, str] | None:
    """The calling organisation's operation of this call (`traceparent` trace and parent id), if any."""
    operation = _CALL_OPERATION.get()
    return {"trace_id": operation[0], "span_id": operation[1]} if operation is not None else None


def new_trace_id() -> str:
    """A W3C trace-context trace id (32 lowercase hex), shared by both sides of one exchange.

    Inside a partner's call that carried a valid `traceparent`, the caller's trace id, so that its
    own logs and the register's entries of that call line up; otherwise a fresh one.
    """
    return _CALL_TRACE.get() or secrets.token_hex(16)


def traceparent(trace_id: str) -> str:
    """A `traceparent` header continuing `trace_id` (for push deliveries), with a new span id."""
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
    #: The caller's operation (`caller_operation`), kept in the hashed body only when present, so
    #: entries made without a `traceparent` hash exactly as before.
    caller_operation: Mapping[str, str] | None = field(default_factory=caller_operation)


def encode_categories(categories: Sequence[str]) -> str:
    """`,a,b,` so that a category filter is a portable `LIKE '%,a,%'` on SQLite and PostgreSQL."""
    return "," + ",".join(categories) + "," if categories else ""


def entry_body(draft: EntryDraft) -> str:
    """The hashed content that is not an indexed column, as canonical JSON (see `audit.leaf`)."""
    body: dict[str, Any] = {
        "actor_role": draft.actor_role,
        "reason": draft.reason,
        "description": draft.description,
        "legal_basis": dict(draft.legal_basis) if draft.legal_basis is not None else None,
        "professional": dict(draft.professional) if draft.professional is not None else None,
        "details": dict(draft.details),
    }
    if draft.caller_operation is not None:
        body["caller_operation"] = dict(draft.caller_operation)
    return canonical_json(body)


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


@dataclass(frozen=True)
class PreparedEntry:
    """A new entry's stored columns (`ENTRY_COLUMNS`), computed but not yet inserted.

    A plain value, not a `RegisterEntry`: building a SQLModel table object costs more CPU than
    the cryptography of a whole disclosure.
    """

    columns: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.columns["id"])

    @property
    def leaf_hash(self) -> bytes:
        return bytes(self.columns["leaf_hash"])


def prepare(draft: EntryDraft) -> PreparedEntry:
    """A new entry with its id and leaf hash, not yet stored (pure: no I/O).

    For the one caller that writes its entry in the same statement as the rows it registers (the
    send path, `exchange.sending`: message, payload, outbox row and entry in one round trip),
    inserting exactly `ENTRY_COLUMNS`. Everyone else appends with `record`.
    """
    return PreparedEntry(entry_columns(draft))


#: The columns a new entry is inserted with (`entry_columns`); `seq` comes from the database.
ENTRY_COLUMNS = (*HEADER_FIELDS, "body", "leaf_hash")


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


_HEADER_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def professional_from_headers(
    professional_id: str | None, name: str | None, role: str | None
) -> dict[str, str] | None:
    """`{id, name, role}` from the `Meerpunt-Professional-*` headers, or None when none was sent.

    Art. 18.3 Privacyreglement Meerpunt: the partner says which of its employees acts. Raises
    ValueError when a name or role comes without an id, or a value is empty, too long (> 200) or
    holds a control character.
    """
    if professional_id is None and name is None and role is None:
        return None
    if professional_id is None:
        raise ValueError("Meerpunt-Professional-Id is required when a professional's name or role is sent")
    values = {"id": professional_id, "name": name, "role": role}
    for key, value in values.items():
        if value is not None and not _HEADER_TEXT.fullmatch(value.strip()):
            raise ValueError(f"the professional's {key} must be 1-200 characters without control characters")
    return {key: value.strip() for key, value in values.items() if value is not None}


def _reader(viewer: Principal) -> tuple[str, str, str | None, dict[str, Any]]:
    """(actor, role, organisation, extra details) of someone reading the register or personal data.

    The central Meerpunt officer acts for no partner organisation: `actor_org` is None, as in
    every other entry the central officer causes (`details.central` says who it was).
    """
    if isinstance(viewer, OfficerPrincipal):
        extra: dict[str, Any] = {"actor_name": viewer.name}
        if viewer.is_central:
            return viewer.subject, "privacy_officer", None, {**extra, "central": True}
        return viewer.subject, "privacy_officer", viewer.org, extra
    if isinstance(viewer, PartnerPrincipal):
        return (
            viewer.oin,
            "partner",
            viewer.oin,
            {"certificate_serial": format(viewer.certificate_serial, "x")},
        )
    if isinstance(viewer, CitizenPrincipal):
        return viewer.subject, "citizen", None, {}
    raise TypeError(f"not a principal: {viewer!r}")


def record_read(
    session: Session,
    viewer: Principal,
    *,
    at: dt.datetime,
    action: str,
    subject_hash: str | None = None,
    query: Mapping[str, Any] | None = None,
    returned: int | None = None,
    entry_ids: Sequence[str] = (),
    professional: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> RegisterEntry:
    """Registratie van inzage (art. 8, 18.3; NEN 7513): one read of the register or of personal data.

    Records who read (actor, role, organisation; for a partner system the acting professional if
    named), when, what was asked (`query`: the filter, BSNs only as keyed hashes), about whom
    (`subject_hash`), how much was returned and, where no filter says it, which (`entry_ids`).
    In the caller's transaction, like `record`: no log entry, no answer. Returns the entry.
    """
    actor, role, org, extra = _reader(viewer)
    body: dict[str, Any] = {"action": action}
    if query is not None:
        body["filter"] = {key: value for key, value in query.items() if value is not None}
    if returned is not None:
        body["returned"] = returned
    if entry_ids:
        body["entry_ids"] = list(entry_ids)
    body.update({key: value for key, value in extra.items() if value is not None})
    body.update(details or {})
    return record(
        session,
        EntryDraft(
            kind=EntryKind.REGISTER_ACCESSED,
            occurred_at=at,
            actor=actor,
            actor_role=role,
            actor_org=org,
            subject_hash=subject_hash,
            reason=reason or f"register {action}",
            professional=professional,
            details=body,
        ),
    )
