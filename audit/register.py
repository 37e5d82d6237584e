"""Reading the register: officer and partner queries, the CSV export, checkpoints and proofs.

Every read of register entries is itself registered (`register_accessed`, NEN 7513 style: who,
in which role, for which organisation, when, with which filter — the BSN replaced by its keyed
hash), in the same transaction as the read: no log entry, no answer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from audit.canonical import rfc3339
from audit.proofs import RegisterInconsistent, latest_head, prove_inclusion
from audit.repository import RegisterFilter, find_entry, list_entries
from audit.schemas import checkpoint_view, csv_chunks, entry_view, proof_view
from audit.service import EntryDraft, EntryKind, record
from consent.bsn import is_valid_bsn
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import Forbidden, NotFound, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = [
    "RegisterQuery",
    "current_checkpoint",
    "export_register",
    "inclusion",
    "list_register",
    "log_access",
]

EXPORT_PAGE = 1000
_ARTICLE_ACCESS = "art. 8, 18.3"


@dataclass(frozen=True)
class RegisterQuery:
    """The filters as the client sent them (`GET /v1/register` and `/v1/register/export.csv`)."""

    subject_bsn: str | None = None
    partner: str | None = None
    category: str | None = None
    legal_basis: str | None = None
    kind: str | None = None
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None


def _require_reader(viewer: Principal) -> None:
    if isinstance(viewer, CitizenPrincipal):
        raise Forbidden(
            "The register is read by partners and privacy officers; citizens see their data "
            "through a subject access request (art. 10).",
            slug="register-not-for-citizens",
        )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _resolve(runtime: Runtime, query: RegisterQuery) -> RegisterFilter:
    violations: list[RuleViolation] = []
    if query.subject_bsn is not None and not is_valid_bsn(query.subject_bsn):
        violations.append(RuleViolation("invalid_bsn", "SPEC §8", "subject_bsn is not a valid BSN"))
    if query.partner is not None and not (len(query.partner) == 20 and query.partner.isdigit()):
        violations.append(RuleViolation("invalid_oin", "SPEC §5", "partner must be a 20-digit OIN"))
    if query.category is not None and query.category not in runtime.categories:
        violations.append(
            RuleViolation("unknown_category", "SPEC §4", f"unknown category {query.category!r}")
        )
    if query.kind is not None and query.kind not in EntryKind.all():
        violations.append(
            RuleViolation("unknown_kind", _ARTICLE_ACCESS, f"unknown entry kind {query.kind!r}")
        )
    occurred_from, occurred_to = _utc(query.occurred_from), _utc(query.occurred_to)
    if occurred_from is not None and occurred_to is not None and occurred_from >= occurred_to:
        violations.append(RuleViolation("empty_period", _ARTICLE_ACCESS, "from must be before to"))
    if violations:
        raise RuleBroken("The register filter is not valid.", violations=violations)
    return RegisterFilter(
        subject_hash=runtime.bsn_hash(query.subject_bsn) if query.subject_bsn is not None else None,
        partner=query.partner,
        category=query.category,
        legal_basis=query.legal_basis,
        kind=query.kind,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )


def _who(viewer: Principal) -> tuple[str, str, str | None, dict[str, Any]]:
    """(actor, role, organisation, extra details) of a register reader."""
    if isinstance(viewer, OfficerPrincipal):
        return viewer.subject, "privacy_officer", viewer.org, {"actor_name": viewer.name}
    if isinstance(viewer, PartnerPrincipal):
        return (
            viewer.oin,
            "partner",
            viewer.oin,
            {"certificate_serial": format(viewer.certificate_serial, "x")},
        )
    # Citizens read only their own access report (art. 10), which is logged like any register read.
    return viewer.subject, "citizen", None, {}


def _log_access(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    register_filter: RegisterFilter,
    *,
    action: str,
    returned: int | None,
    more: Mapping[str, Any] | None = None,
) -> None:
    """Registratie van inzage in het register (NEN 7513: wie, rol, organisatie, wanneer, wat)."""
    actor, role, org, extra = _who(viewer)
    shown = {
        "subject_hash": register_filter.subject_hash,
        "partner": register_filter.partner,
        "category": register_filter.category,
        "legal_basis": register_filter.legal_basis,
        "kind": register_filter.kind,
        "from": rfc3339(register_filter.occurred_from) if register_filter.occurred_from else None,
        "to": rfc3339(register_filter.occurred_to) if register_filter.occurred_to else None,
    }
    details: dict[str, Any] = {
        "action": action,
        "filter": {key: value for key, value in shown.items() if value is not None},
        **{key: value for key, value in extra.items() if value is not None},
    }
    if returned is not None:
        details["returned"] = returned
    details.update(more or {})
    record(
        session,
        EntryDraft(
            kind=EntryKind.REGISTER_ACCESSED,
            occurred_at=runtime.clock(),
            actor=actor,
            actor_role=role,
            actor_org=org,
            subject_hash=register_filter.subject_hash,
            reason=f"register {action}",
            details=details,
        ),
    )


#: Public name for other contexts (the access report, art. 10) that read register entries.
log_access = _log_access


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.isdigit():
            raise ValueError(cursor)
        return int(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem("The cursor is not one this API returned.", slug="invalid-cursor") from None


def list_register(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    query: RegisterQuery,
    *,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """A page of the entries `viewer` may see, oldest first, and a cursor for the next page."""
    _require_reader(viewer)
    register_filter = _resolve(runtime, query)
    after = decode_cursor(cursor) if cursor else None
    rows = list_entries(session, viewer, register_filter, after_seq=after, limit=limit + 1)
    page = rows[:limit]
    items = [entry_view(entry) for entry in page]
    _log_access(session, runtime, viewer, register_filter, action="list", returned=len(items))
    last_seq = page[-1].seq if len(rows) > limit else None
    return {"items": items, "next_cursor": encode_cursor(last_seq) if last_seq is not None else None}


def export_register(
    session: Session, runtime: Runtime, viewer: Principal, query: RegisterQuery
) -> Iterator[str]:
    """The CSV export, streamed page by page after the access entry was written.

    The caller's unit of work commits the access entry before the first row is sent, so an export
    is never delivered unlogged; each page is then read in its own short transaction.
    """
    _require_reader(viewer)
    register_filter = _resolve(runtime, query)
    _log_access(session, runtime, viewer, register_filter, action="export", returned=None)

    def pages() -> Iterable[list[Any]]:
        after: int | None = None
        while True:
            with Session(runtime.engine) as reader:
                rows = list(list_entries(reader, viewer, register_filter, after_seq=after, limit=EXPORT_PAGE))
            if rows:
                yield rows
            if len(rows) < EXPORT_PAGE:
                return
            after = rows[-1].seq

    return iter(csv_chunks(pages()))


def current_checkpoint(session: Session, runtime: Runtime, viewer: Principal) -> dict[str, Any]:
    """The latest signed tree head, with the gateway's public key to check it."""
    _require_reader(viewer)
    head = latest_head(session)
    if head is None:
        raise NotFound("No tree head has been signed yet.", slug="no-checkpoint")
    return checkpoint_view(head, runtime.signer.public_jwk)


def inclusion(session: Session, runtime: Runtime, viewer: Principal, entry_id: str) -> dict[str, Any]:
    """Inclusion proof of an entry `viewer` may see, against the latest signed tree head."""
    _require_reader(viewer)
    entry = find_entry(session, viewer, entry_id)
    if entry is None:
        raise NotFound("No such register entry.", slug="unknown-entry")
    head = latest_head(session)
    if entry.leaf_index is None or head is None or entry.leaf_index >= head.size:
        wait = math.ceil(
            runtime.settings.checkpoint_interval_seconds + runtime.settings.sequencer_interval_seconds
        )
        raise Problem(
            "The entry is registered but not yet covered by a signed tree head; retry shortly.",
            status=409,
            slug="not-yet-in-checkpoint",
            title="Not yet in a checkpoint",
            headers={"Retry-After": str(wait)},
        )
    try:
        return proof_view(prove_inclusion(session, entry, head))
    except RegisterInconsistent:
        raise Problem(
            "The stored tree does not reproduce the signed tree head; the operators are alerted.",
            status=500,
            slug="register-inconsistent",
            title="Register inconsistent",
        ) from None
