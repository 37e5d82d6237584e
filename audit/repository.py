"""Queries on the register. Every query that returns entries is scoped with `scoped_to(viewer)`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from audit.models import PendingEntry, RegisterEntry, RegisterPosition
from gateway.principals import OfficerPrincipal, PartnerPrincipal, Principal

__all__ = [
    "RegisterFilter",
    "count_entries",
    "entries_by_id",
    "find_entry",
    "ids_beyond",
    "list_entries",
    "list_pending",
    "scoped_to",
]


def scoped_to(viewer: Principal) -> ColumnElement[bool]:
    """Which entries `viewer` may see (art. 8 and 18.3 Privacyreglement Meerpunt).

    A partner system and a partner's privacy officer see the entries in which their organisation
    is the sender, the recipient or the acting organisation; the central Meerpunt officer sees all.
    Citizens see nothing here (their view is the subject access report, art. 10). The one place
    that decides this, so that no endpoint can forget the organisation filter.
    """
    if isinstance(viewer, OfficerPrincipal):
        if viewer.is_central:
            return sa.true()
        org = viewer.org
    elif isinstance(viewer, PartnerPrincipal):
        org = viewer.oin
    else:
        return sa.false()
    return sa.or_(
        col(RegisterEntry.sender) == org,
        col(RegisterEntry.recipient) == org,
        col(RegisterEntry.actor_org) == org,
    )


@dataclass(frozen=True)
class RegisterFilter:
    """Filters of `GET /v1/register`, already validated; times are UTC, `to` is exclusive."""

    subject_hash: str | None = None
    partner: str | None = None
    sender: str | None = None
    recipient: str | None = None
    category: str | None = None
    legal_basis: str | None = None
    kind: str | None = None
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.subject_hash is not None:
            clauses.append(col(RegisterEntry.subject_hash) == self.subject_hash)
        if self.partner is not None:
            clauses.append(
                sa.or_(
                    col(RegisterEntry.sender) == self.partner, col(RegisterEntry.recipient) == self.partner
                )
            )
        if self.sender is not None:
            clauses.append(col(RegisterEntry.sender) == self.sender)
        if self.recipient is not None:
            clauses.append(col(RegisterEntry.recipient) == self.recipient)
        if self.category is not None:
            # Categories are stored as ",a,b,"; "_" and "%" would be LIKE wildcards.
            code = self.category.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(col(RegisterEntry.categories).like(f"%,{code},%", escape="\\"))
        if self.legal_basis is not None:
            clauses.append(col(RegisterEntry.legal_basis) == self.legal_basis)
        if self.kind is not None:
            clauses.append(col(RegisterEntry.kind) == self.kind)
        if self.occurred_from is not None:
            clauses.append(col(RegisterEntry.occurred_at) >= self.occurred_from)
        if self.occurred_to is not None:
            clauses.append(col(RegisterEntry.occurred_at) < self.occurred_to)
        return clauses


def list_entries(
    session: Session,
    viewer: Principal,
    register_filter: RegisterFilter,
    *,
    after_leaf: int | None,
    limit: int,
    up_to_leaf: int | None = None,
) -> Sequence[RegisterEntry]:
    """Sequenced entries visible to `viewer` matching the filter, in leaf order, after the cursor.

    Paging by tree position, not by `seq`: the sequencer makes positions visible strictly in order
    (one batch per transaction, each after the previous one committed), so every reader sees a
    prefix of the tree and a cursor never passes an entry that becomes visible later. `seq` is
    allocated at INSERT and committed in any order: an entry with a lower `seq` can appear after a
    client's cursor went past it.
    """
    position = col(RegisterPosition.leaf_index)
    statement = (
        select(RegisterEntry)
        .join(RegisterPosition, col(RegisterPosition.entry_seq) == col(RegisterEntry.seq))
        .where(scoped_to(viewer), *register_filter.clauses())
    )
    if after_leaf is not None:
        statement = statement.where(position > after_leaf)
    if up_to_leaf is not None:
        statement = statement.where(position <= up_to_leaf)
    return session.exec(statement.order_by(position).limit(limit)).all()


def list_pending(
    session: Session, viewer: Principal, register_filter: RegisterFilter, *, after_seq: int, limit: int
) -> Sequence[RegisterEntry]:
    """Entries visible to `viewer` that still await the sequencer (normally for under a second)."""
    statement = (
        select(RegisterEntry)
        .join(PendingEntry, col(PendingEntry.seq) == col(RegisterEntry.seq))
        .where(scoped_to(viewer), *register_filter.clauses(), col(RegisterEntry.seq) > after_seq)
    )
    return session.exec(statement.order_by(col(RegisterEntry.seq)).limit(limit)).all()


def count_entries(
    session: Session, viewer: Principal, register_filter: RegisterFilter
) -> tuple[int, int | None]:
    """(how many sequenced entries `viewer` may see match the filter, the highest tree position now).

    Both up to that position, so that a later read with the same bound finds exactly these entries.
    """
    up_to_leaf = session.exec(select(sa.func.max(RegisterPosition.leaf_index))).one()
    if up_to_leaf is None:
        return 0, None
    statement = (
        select(sa.func.count())
        .select_from(RegisterEntry)
        .join(RegisterPosition, col(RegisterPosition.entry_seq) == col(RegisterEntry.seq))
        .where(scoped_to(viewer), *register_filter.clauses(), col(RegisterPosition.leaf_index) <= up_to_leaf)
    )
    return int(session.exec(statement).one()), int(up_to_leaf)


def entries_by_id(session: Session, viewer: Principal, ids: Sequence[str]) -> Sequence[RegisterEntry]:
    """The given entries that `viewer` may see, in `seq` order."""
    if not ids:
        return []
    statement = select(RegisterEntry).where(col(RegisterEntry.id).in_(ids), scoped_to(viewer))
    return session.exec(statement.order_by(col(RegisterEntry.seq))).all()


def ids_beyond(session: Session, viewer: Principal, ids: Sequence[str], *, bound: int | None) -> list[str]:
    """Those of the given entries (that `viewer` may see) without a tree position up to `bound`:
    awaiting the sequencer, or placed after it. In `seq` order."""
    if not ids:
        return []
    position = col(RegisterPosition.leaf_index)
    beyond = sa.true() if bound is None else sa.or_(position.is_(None), position > bound)
    statement = (
        select(RegisterEntry.id)
        .outerjoin(RegisterPosition, col(RegisterPosition.entry_seq) == col(RegisterEntry.seq))
        .where(col(RegisterEntry.id).in_(ids), scoped_to(viewer), beyond)
    )
    return list(session.exec(statement.order_by(col(RegisterEntry.seq))).all())


def find_entry(session: Session, viewer: Principal, entry_id: str) -> RegisterEntry | None:
    """One entry by id, if `viewer` may see it (otherwise as if it did not exist)."""
    return session.exec(
        select(RegisterEntry).where(col(RegisterEntry.id) == entry_id, scoped_to(viewer))
    ).first()
