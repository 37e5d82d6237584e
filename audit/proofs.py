"""Signed tree heads and inclusion proofs, served from the stored leaf hashes and level-8 tiles."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

from sqlmodel import Session, col, select

from audit.merkle import (
    TILE_HEIGHT,
    NodeSource,
    consistency_proof,
    inclusion_proof,
    node_source,
    verify_consistency,
    verify_inclusion,
)
from audit.models import RegisterEntry, RegisterPosition, TreeHead, TreeTile

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "RegisterInconsistent",
    "head_of_size",
    "latest_head",
    "prove_consistency",
    "prove_inclusion",
]

log = logging.getLogger("meerpunt.audit.proofs")


class RegisterInconsistent(RuntimeError):
    """Stored hashes do not reproduce a signed tree head: never hand out such a proof."""


def latest_head(session: Session) -> TreeHead | None:
    return session.exec(select(TreeHead).order_by(col(TreeHead.id).desc()).limit(1)).first()


def head_of_size(session: Session, size: int) -> TreeHead | None:
    """The (latest) signed tree head of exactly `size` entries, if one was signed."""
    return session.exec(
        select(TreeHead).where(col(TreeHead.size) == size).order_by(col(TreeHead.id).desc()).limit(1)
    ).first()


class _StoredRow(Sequence[bytes]):
    """Row `level` of the tree (0: leaf hashes, 8: tiles) as a lazy sequence read by slices."""

    def __init__(self, session: Session, level: int, length: int) -> None:
        self._session = session
        self._level = level
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step != 1:
                raise ValueError("stored rows are read in contiguous slices")
            return self._read(start, stop)
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._read(index, index + 1)[0]

    def _read(self, start: int, stop: int) -> list[bytes]:
        if stop <= start:
            return []
        if self._level == 0:
            position = col(RegisterPosition.leaf_index)
            statement = select(position, col(RegisterEntry.leaf_hash)).join(
                RegisterEntry, col(RegisterEntry.seq) == col(RegisterPosition.entry_seq)
            )
        else:
            position = col(TreeTile.tile_index)
            statement = select(position, col(TreeTile.hash))
        rows = self._session.exec(
            statement.where(position >= start, position < stop).order_by(position)
        ).all()
        if [row[0] for row in rows] != list(range(start, stop)):
            raise RegisterInconsistent(f"level {self._level}, positions {start}..{stop - 1}: not all stored")
        return [bytes(row[1]) for row in rows]


@dataclass(frozen=True)
class InclusionProof:
    entry_id: str
    leaf_index: int
    leaf_hash: bytes
    head: TreeHead
    path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old: TreeHead
    new: TreeHead
    path: list[bytes]


def _stored_nodes(session: Session, size: int) -> NodeSource:
    return node_source(
        {
            0: _StoredRow(session, 0, size),
            TILE_HEIGHT: _StoredRow(session, TILE_HEIGHT, size >> TILE_HEIGHT),
        }
    )


def prove_consistency(session: Session, old: TreeHead, new: TreeHead) -> ConsistencyProof:
    """Consistency proof (RFC 9162 §2.1.4) that `old`'s tree is a prefix of `new`'s, checked first.

    With it, whoever saved `old` (a partner, an officer) checks that the register did not rewrite
    anything `old` signed, without reading the entries. The caller makes sure old.size <= new.size.
    """
    assert 0 <= old.size <= new.size
    path = consistency_proof(old.size, new.size, _stored_nodes(session, new.size))
    if not verify_consistency(old.size, new.size, old.root_hash, new.root_hash, path):
        log.error("tree heads %s and %s are not consistent with the stored tree", old.id, new.id)
        raise RegisterInconsistent("the stored tree does not connect the two signed tree heads")
    return ConsistencyProof(old=old, new=new, path=path)


def prove_inclusion(session: Session, entry: RegisterEntry, head: TreeHead) -> InclusionProof:
    """Audit path of `entry` in the tree of `head` (RFC 9162 §2.1.3), checked before it is returned.

    Reads at most one tile's leaf hashes per level below 8 and slices of the tile row above it.
    The caller makes sure the entry is in the tree (`leaf_index < head.size`).
    """
    assert entry.leaf_index is not None and entry.leaf_index < head.size
    size = head.size
    path = inclusion_proof(entry.leaf_index, size, _stored_nodes(session, size))
    if not verify_inclusion(entry.leaf_hash, entry.leaf_index, size, path, head.root_hash):
        # Tampered leaf hashes or tiles: `audit verify` names the entry; the client gets a 500.
        log.error("inclusion proof of leaf %d does not reach tree head %s", entry.leaf_index, head.id)
        raise RegisterInconsistent("the stored tree does not reproduce the signed tree head")
    return InclusionProof(
        entry_id=entry.id, leaf_index=entry.leaf_index, leaf_hash=entry.leaf_hash, head=head, path=path
    )
