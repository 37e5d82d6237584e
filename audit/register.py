"""Reading the register: officer and partner queries and the CSV export (`audit.evidence`: proofs).

Every read of register entries is itself registered (`register_accessed`, NEN 7513 style: who,
in which role, for which organisation, when, with which filter — the BSN replaced by its keyed
hash), in the same transaction as the read: no log entry, no answer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from audit.canonical import rfc3339
from audit.models import MAX_POSITION, RegisterEntry
from audit.repository import (
    RegisterFilter,
    count_entries,
    entries_by_id,
    ids_beyond,
    list_entries,
    list_pending,
)
from audit.schemas import csv_chunks, entry_view
from audit.service import EntryKind, record_read
from consent.bsn import is_valid_bsn
from gateway.principals import CitizenPrincipal, Principal
from gateway.problems import Forbidden, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = [
    "RegisterQuery",
    "export_register",
    "list_register",
    "require_reader",
    "validate_query",
]

EXPORT_PAGE = 1000
EXPORT_PENDING = 10_000  # entries awaiting the sequencer in one export (normally a handful)
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
    sender: str | None = None
    recipient: str | None = None
    #: Set by the console instead of `subject_bsn`: the search form posts the BSN, the gateway
    #: keeps only its keyed hash, so the BSN never appears in a URL.
    subject_hash: str | None = None


def require_reader(viewer: Principal) -> None:
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
    for name in ("partner", "sender", "recipient"):
        value = getattr(query, name)
        if value is not None and not (len(value) == 20 and value.isdigit()):
            violations.append(RuleViolation("invalid_oin", "SPEC §5", f"{name} must be a 20-digit OIN"))
    if query.category is not None and query.category not in runtime.categories:
        violations.append(
            RuleViolation("unknown_category", "SPEC §4", f"unknown category {query.category!r}")
        )
    if query.kind is not None and query.kind not in EntryKind.all():
        violations.append(
            RuleViolation("unknown_kind", _ARTICLE_ACCESS, f"unknown entry kind {query.kind!r}")
        )
    try:
        occurred_from, occurred_to = _utc(query.occurred_from), _utc(query.occurred_to)
    except OverflowError:  # year 1 with a positive offset, or 9999 with a negative one
        occurred_from = occurred_to = None
        violations.append(
            RuleViolation(
                "invalid_time", _ARTICLE_ACCESS, "from and to must lie within the years 1-9999 in UTC"
            )
        )
    if occurred_from is not None and occurred_to is not None and occurred_from >= occurred_to:
        violations.append(RuleViolation("empty_period", _ARTICLE_ACCESS, "from must be before to"))
    if violations:
        raise RuleBroken("The register filter is not valid.", violations=violations)
    return RegisterFilter(
        subject_hash=runtime.bsn_hash(query.subject_bsn)
        if query.subject_bsn is not None
        else query.subject_hash,
        partner=query.partner,
        sender=query.sender,
        recipient=query.recipient,
        category=query.category,
        legal_basis=query.legal_basis,
        kind=query.kind,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )


def validate_query(runtime: Runtime, query: RegisterQuery) -> None:
    """Raise the same `RuleBroken` a list or export of `query` would (for a search form)."""
    _resolve(runtime, query)


def _filter_view(register_filter: RegisterFilter) -> dict[str, Any]:
    return {
        "subject_hash": register_filter.subject_hash,
        "partner": register_filter.partner,
        "sender": register_filter.sender,
        "recipient": register_filter.recipient,
        "category": register_filter.category,
        "legal_basis": register_filter.legal_basis,
        "kind": register_filter.kind,
        "from": rfc3339(register_filter.occurred_from) if register_filter.occurred_from else None,
        "to": rfc3339(register_filter.occurred_to) if register_filter.occurred_to else None,
    }


def _log_access(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    register_filter: RegisterFilter,
    *,
    action: str,
    returned: int,
    positions: tuple[int, int] | None,
    unplaced: Sequence[str],
    professional: Mapping[str, Any] | None,
) -> None:
    """Registratie van inzage in het register (NEN 7513: wie, rol, organisatie, wanneer, wat).

    `positions` (first and last leaf index returned) with the filter tells exactly which sequenced
    entries were shown: entries never change, so the filter over that range gives them again.
    Entries shown outside that range (`unplaced`: awaiting the sequencer then) are named by id.
    """
    record_read(
        session,
        viewer,
        at=runtime.clock(),
        action=action,
        subject_hash=register_filter.subject_hash,
        query=_filter_view(register_filter),
        returned=returned,
        entry_ids=unplaced,
        professional=professional,
        details={"leaf_range": list(positions)} if positions is not None else None,
    )


_CURSOR = re.compile(r"L(-1|0|[1-9][0-9]{0,18}):(0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last tree position shown and, while entries await the sequencer in
    numbers beyond one page, the last of those shown (by `seq`)."""

    leaf_index: int = -1
    pending_seq: int = 0


def encode_cursor(cursor: Cursor) -> str:
    raw = f"L{cursor.leaf_index}:{cursor.pending_seq}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    """The position a cursor continues after (cursors of the former `seq` paging are refused)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _CURSOR.fullmatch(text)
        if match is None or max(int(match[1]), int(match[2])) > MAX_POSITION:
            raise ValueError(cursor)
        return Cursor(int(match[1]), int(match[2]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem("The cursor is not one this API returned.", slug="invalid-cursor") from None


def _positions(entries: Sequence[RegisterEntry]) -> tuple[int, int] | None:
    indexes = [entry.leaf_index for entry in entries if entry.leaf_index is not None]
    return (min(indexes), max(indexes)) if indexes else None


def list_register(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    query: RegisterQuery,
    *,
    cursor: str | None,
    limit: int,
    professional: Mapping[str, Any] | None = None,
    view: Callable[[RegisterEntry], dict[str, Any]] = entry_view,
    action: str = "list",
) -> dict[str, Any]:
    """A page of the entries `viewer` may see, in tree order, and a cursor for the next page.

    `view` shapes each entry (the register's own shape, or a Logboek Dataverwerkingen line);
    `action` names the read in its access entry.

    Pages run over sequenced entries by tree position (`audit.repository.list_entries` explains
    why that never skips one). Entries still awaiting the sequencer — normally for less than a
    second — come after them, on the last page, `leaf_index` null, oldest first; a client that
    lists again later finds them in their tree position.
    """
    require_reader(viewer)
    register_filter = _resolve(runtime, query)
    at = decode_cursor(cursor) if cursor else Cursor()
    # The waiting entries first, then the sequenced ones, each in its own statement: an entry the
    # sequencer places in between is in both lists (and shown once), never in neither.
    waiting = list(list_pending(session, viewer, register_filter, after_seq=at.pending_seq, limit=limit + 1))
    rows = list(list_entries(session, viewer, register_filter, after_leaf=at.leaf_index, limit=limit + 1))
    page: list[RegisterEntry] = rows[:limit]
    after: Cursor | None = None
    if len(rows) > limit:
        after = Cursor(rows[limit - 1].leaf_index or 0, at.pending_seq)
    else:
        placed = {entry.id for entry in rows}
        pending = [entry for entry in waiting if entry.id not in placed]
        room = limit - len(rows)
        if len(pending) <= room:
            page = rows + pending  # the last page
        elif rows:
            after = Cursor(rows[-1].leaf_index or 0, at.pending_seq)  # the waiting ones come next
        else:
            # More entries await the sequencer than fit on a page (a backlog, which the sequencer
            # metrics alert on): page through them by `seq`. Entries shown here appear again, in
            # their tree position, if the client keeps paging after they are sequenced.
            page = pending[:limit]
            after = Cursor(at.leaf_index, page[-1].seq or 0)
    items = [view(entry) for entry in page]
    _log_access(
        session,
        runtime,
        viewer,
        register_filter,
        action=action,
        returned=len(items),
        positions=_positions(page),
        unplaced=[entry.id for entry in page if entry.leaf_index is None],
        professional=professional,
    )
    return {"items": items, "next_cursor": encode_cursor(after) if after is not None else None}


def export_register(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    query: RegisterQuery,
    *,
    professional: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """The CSV export, streamed page by page after the access entry was written.

    The export is fixed when it is asked for: the sequenced entries up to the highest tree position
    visible then, and the entries awaiting the sequencer at that moment (at most EXPORT_PENDING);
    the access entry records how many that are. The caller's unit of work commits the access entry
    before the first row is sent, so an export is never delivered unlogged; each page is then read
    in its own short transaction.
    """
    require_reader(viewer)
    register_filter = _resolve(runtime, query)
    # Read in this order, each in its own statement: the entries waiting now, then the highest tree
    # position. Every entry committed before the export is then in one of the two sets; one that
    # the sequencer placed in between is in both, and is sent once, with the sequenced ones.
    waiting = list_pending(session, viewer, register_filter, after_seq=0, limit=EXPORT_PENDING)
    sequenced, bound = count_entries(session, viewer, register_filter)
    # Tree positions never change: these stay outside 0..bound, and are sent after the range.
    unplaced = ids_beyond(session, viewer, [entry.id for entry in waiting], bound=bound)
    _log_access(
        session,
        runtime,
        viewer,
        register_filter,
        action="export",
        returned=sequenced + len(unplaced),
        positions=(0, bound) if bound is not None else None,
        unplaced=unplaced,
        professional=professional,
    )

    def pages() -> Iterable[list[Any]]:
        after: int | None = None
        while bound is not None:
            with Session(runtime.engine) as reader:
                rows = list(
                    list_entries(
                        reader, viewer, register_filter, after_leaf=after, up_to_leaf=bound, limit=EXPORT_PAGE
                    )
                )
            if rows:
                yield rows
            if len(rows) < EXPORT_PAGE:
                break
            after = rows[-1].leaf_index
        if unplaced:
            with Session(runtime.engine) as reader:
                yield list(entries_by_id(reader, viewer, unplaced))

    return iter(csv_chunks(pages()))
