"""Full verification of the art. 8 register: every leaf, the whole tree, every signed tree head.

`verify_register` (behind `meerpunt-gateway audit verify` and `POST /v1/audit/verify`):

1. checks the signature (by `kid`, current or earlier key: `audit.keyring`) and the stored columns of
   every tree head, and of every *trusted checkpoint* handed in (a head saved outside the database
   by a partner or officer, which an attacker cannot delete);
2. reads every sequenced entry in leaf order inside one read-only snapshot and recomputes its leaf
   hash from the stored columns and body (`audit.leaf`): an edited field *or column* changes it,
   and names exactly that entry;
3. checks that leaf indexes are exactly 0..n-1 (a deleted entry leaves a gap);
4. recomputes the tree and compares the root at every signed size with that head, and the stored
   level-8 tiles and the sequencer's frontier with the entries;
5. checks the leaf hashes of entries still waiting for the sequencer;
6. checks that signatures cover the register: entries without any signed head, or sequenced
   entries that the newest head has not covered for longer than a checkpoint interval plus
   `CHECKPOINT_GRACE_SECONDS`, are findings of their own (a deleted head, or a stalled sequencer).

It stops at the first break and says what kind it is (`finding`). Where the evidence pins one
entry (its content no longer matches its leaf hash, or a gap left by a moved entry), that entry
is named; where only a signed root disagrees, the report gives the leaf index range between the
last head that verified and the first that did not (`bad_range`) and names no entry: an entry
whose leaf hash was rewritten together with its content cannot be told apart from its neighbours
by anything inside the database.

Speed (see bench/register.py): on PostgreSQL the database renders and hashes each entry's leaf
input itself and returns blocks of 16,384 leaf hashes as one value (`audit.verify_reader`), so
Python builds the tree while reader threads fetch the next blocks. On SQLite the same bytes are
rendered and hashed in Python from the stored columns.

The report is defined in `audit.verify_report`; trusted checkpoints are read by `audit.verify_trusted`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from array import array
from collections.abc import Sequence
from typing import Any, NoReturn

from jose.exceptions import JOSEError

from audit.canonical import rfc3339
from audit.keyring import Keyring, keyring
from audit.merkle import EMPTY_ROOT, TILE_HEIGHT, CompactRange, border_in_block, tree_levels
from audit.sequencer import CHECKPOINT_GRACE_SECONDS, CHECKPOINT_TYP, head_claims
from audit.verify_reader import HASH, Block, Head, Source, VerificationBusy, open_reader, read_blocks
from audit.verify_report import Finding, VerificationReport
from audit.verify_trusted import TrustedCheckpointError, parse_trusted_checkpoint
from gateway.runtime import Runtime

__all__ = [
    "CHECKPOINT_GRACE_SECONDS",
    "Finding",
    "TrustedCheckpointError",
    "VerificationBusy",
    "VerificationReport",
    "parse_trusted_checkpoint",
    "verify_register",
]

BLOCK_HEIGHT = 14
BLOCK = 1 << BLOCK_HEIGHT
"""Leaves per read: aligned, so each block is a perfect subtree (about 8 MB of leaf inputs)."""


class _Break(Exception):
    """The first break found. Entries are named only after reading stopped (`_Verifier.resolve`)."""

    def __init__(
        self,
        finding: str,
        message: str,
        *,
        leaf_index: int | None = None,
        entry_id: str | None = None,
        name_at: int | None = None,
        look_for_moved: bool = False,
        bad_range: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.finding = finding
        self.message = message
        self.leaf_index = leaf_index
        self.entry_id = entry_id
        self.name_at = name_at  # name the entry stored at this leaf index
        self.look_for_moved = look_for_moved  # a position is empty: name an entry moved out of the tree
        self.bad_range = bad_range


def _same_positions(indexes: Sequence[int], expected: range) -> bool:
    if isinstance(indexes, array):
        return indexes == array("q", expected)
    return list(indexes) == list(expected)


def _leaf_hashes(inputs: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    return [sha256(data).digest() for data in inputs]


def _changed_claims(head: Head, claims: dict[str, Any], kid: str) -> list[str]:
    """Names of the signed claims that differ from the head's stored columns."""
    expected: dict[str, Any] = head_claims(head.size, head.root_hash, head.signed_at, kid)
    return sorted(k for k in expected.keys() | claims.keys() if claims.get(k) != expected.get(k))


class _Verifier:
    """One run over a snapshot (`source`): `run` raises the first `_Break`, `resolve` names its entry."""

    def __init__(
        self, source: Source, ring: Keyring, trusted: Sequence[Head], *, now: dt.datetime, max_age: float
    ) -> None:
        self.source = source
        self.ring = ring
        self.trusted = list(trusted)
        self.now = now
        self.max_age = max_age  # seconds sequenced entries may wait for a signed head
        self.sequenced = 0
        self.pending = 0
        self.heads: list[Head] = []
        self.root: bytes = EMPTY_ROOT
        self.bad_tile: tuple[int, int, int] | None = None  # (tile index, first leaf, stop)

    def run(self) -> None:
        """The checks of the module docstring; raises `_Break` at the first break."""
        self.heads = self.source.heads()
        self._check_head_signatures()
        self.sequenced, self.pending, tile_count = self.source.counts()
        by_size = sorted([*self.heads, *self.trusted], key=lambda head: (head.size, head.trusted, head.id))
        self._check_equivocation(by_size)
        border, verified_size = self._check_tree(by_size)
        for head in by_size:
            if head.size > self.sequenced:
                # A checkpoint kept outside the database that is ahead of it: the register was
                # rolled back (an older backup restored) or cut short; nothing inside can tell which.
                rolled_back = "the register was rolled back (an older backup restored?) or truncated: "
                raise _Break(
                    self._finding(head, Finding.ENTRIES_DELETED),
                    f"{rolled_back if head.trusted else ''}"
                    f"{head.name} signs {head.size} entries but only {self.sequenced} are stored: "
                    f"entries from leaf index {self.sequenced} on were deleted or unsequenced",
                    leaf_index=self.sequenced,
                    bad_range=(self.sequenced, head.size),
                )
        if self.bad_tile is not None:
            self._tile_break(verified_size)
        self._check_state(border, verified_size)
        if tile_count != self.sequenced >> TILE_HEIGHT:
            raise _Break(
                Finding.TILE_MISMATCH,
                f"{tile_count} tiles stored for {self.sequenced} entries: tiles added or deleted",
            )
        self._check_pending()
        self._check_coverage()

    def _check_tree(self, by_size: list[Head]) -> tuple[list[bytes], int]:
        """Hash the sequenced entries block by block and compare every signed root with them.

        Returns the border of the whole tree (its compact range) and the largest signed size that
        verified. Stored tiles are compared on the way; a stale one is only noted (`bad_tile`).
        """
        for head in by_size:
            if head.size == 0 and head.root_hash != EMPTY_ROOT:
                raise _Break(self._finding(head, Finding.TREE_MISMATCH), f"{head.name}: wrong empty root")
        verified_size = 0
        border: list[bytes] = []
        outer = CompactRange()  # perfect blocks of BLOCK leaves, as one compact range
        heads = iter([head for head in by_size if 0 < head.size <= self.sequenced])
        next_head = next(heads, None)
        spans = [(a, min(a + BLOCK, self.sequenced)) for a in range(0, self.sequenced, BLOCK)]
        blocks = read_blocks(self.source, spans)
        try:
            for block, (start, stop) in zip(blocks, spans, strict=False):
                levels = self._check_block(block, stop)
                self._note_tiles(block, levels)
                while next_head is not None and next_head.size <= stop:
                    inside = border_in_block(levels, next_head.size - start)
                    root = CompactRange(next_head.size, [*outer.hashes, *inside]).root()
                    if root != next_head.root_hash:
                        self._tree_break(verified_size, next_head)
                    verified_size = next_head.size
                    next_head = next(heads, None)
                if stop - start == BLOCK:
                    outer.append(levels[BLOCK_HEIGHT][0])
                    border = list(outer.hashes)
                else:
                    border = [*outer.hashes, *border_in_block(levels, stop - start)]
        finally:
            blocks.close()  # stops the reader before anyone else uses the connection
        self.root = CompactRange(self.sequenced, border).root()
        return border, verified_size

    @staticmethod
    def _finding(head: Head, default: str) -> str:
        return Finding.TRUSTED_CHECKPOINT if head.trusted else default

    def _check_head_signatures(self) -> None:
        for head in self.heads:
            try:
                kid, claims = self.ring.verify(head.jws, typ=CHECKPOINT_TYP)
            except (JOSEError, ValueError) as exc:
                raise _Break(
                    Finding.HEAD_SIGNATURE, f"{head.name}: signature does not verify ({exc})"
                ) from exc
            changed = _changed_claims(head, claims, kid)
            if changed:
                raise _Break(
                    Finding.HEAD_SIGNATURE,
                    f"{head.name}: stored {', '.join(changed)} differ from the signed ones",
                )

    def _check_equivocation(self, by_size: list[Head]) -> None:
        """Two signed roots for one size: the gateway's key signed two different registers."""
        roots: dict[int, Head] = {}
        for head in by_size:
            seen = roots.setdefault(head.size, head)
            if seen.root_hash != head.root_hash:
                raise _Break(
                    Finding.TRUSTED_CHECKPOINT if head.trusted or seen.trusted else Finding.TREE_MISMATCH,
                    f"{seen.name} and {head.name} sign different roots for the same size: "
                    "the register was rewritten and re-signed (is the signing key compromised?)",
                    bad_range=(0, head.size),
                )

    def _check_block(self, block: Block, stop: int) -> list[list[bytes]]:
        start = block.start
        expected = range(start, stop)
        if not _same_positions(block.indexes, expected) or block.size != len(expected):
            self._index_break(block, list(expected))
        if block.computed is not None:  # hashed by the database (audit.verify_reader)
            joined = block.computed
            hashes = [joined[i : i + HASH] for i in range(0, len(joined), HASH)]
        else:
            hashes = _leaf_hashes(block.inputs)
            joined = b"".join(hashes)
        if joined != block.stored:
            stored = block.stored
            for offset, value in enumerate(hashes):
                if stored[offset * HASH : (offset + 1) * HASH] != value:
                    index = start + offset
                    raise _Break(
                        Finding.ENTRY_CHANGED,
                        f"the entry at leaf index {index} no longer matches its leaf hash: "
                        "a stored field or indexed column (or the hash) was changed",
                        leaf_index=index,
                        name_at=index,
                        bad_range=(index, index + 1),
                    )
        return tree_levels(hashes)

    def _index_break(self, block: Block, expected: list[int]) -> NoReturn:
        found = block.indexes
        for offset, index in enumerate(expected):
            actual = found[offset] if offset < len(found) else None
            if actual == index:
                continue
            if actual is not None and offset > 0 and actual == found[offset - 1]:
                raise _Break(
                    Finding.ENTRY_MISSING,
                    f"two entries hold leaf index {actual}: one was moved there or inserted",
                    leaf_index=actual,
                    bad_range=(actual, actual + 1),
                )
            raise _Break(
                Finding.ENTRY_MISSING,
                f"leaf index {index} is missing: its entry was deleted, moved or unsequenced",
                leaf_index=index,
                look_for_moved=True,
                bad_range=(index, index + 1),
            )
        raise _Break(
            Finding.ENTRY_MISSING, f"more than one entry in leaf index range {expected[0]}..{expected[-1]}"
        )

    def _note_tiles(self, block: Block, levels: list[list[bytes]]) -> None:
        """Remember the first stored tile that disagrees; signed heads decide what it means."""
        if self.bad_tile is not None:
            return
        computed = levels[TILE_HEIGHT] if len(levels) > TILE_HEIGHT else []
        first = block.start >> TILE_HEIGHT
        expected = [(first + i, value) for i, value in enumerate(computed)]
        if block.tiles == expected:
            return
        for offset, pair in enumerate(expected):
            stored = block.tiles[offset] if offset < len(block.tiles) else None
            if stored != pair:
                start = pair[0] << TILE_HEIGHT
                self.bad_tile = (pair[0], start, start + (1 << TILE_HEIGHT))
                return
        raise _Break(
            Finding.TILE_MISMATCH,
            f"an extra tile is stored after leaf index {block.start + len(block.indexes) - 1}",
        )

    def _tree_break(self, start: int, head: Head) -> NoReturn:
        stop = head.size
        hint = ""
        if self.bad_tile is not None and self.bad_tile[1] < stop and self.bad_tile[2] > start:
            tile, first, end = self.bad_tile
            hint = f"; stored tile {tile} (leaf indexes {first}..{end - 1}) no longer matches them either"
        if stop - start == 1:
            raise _Break(
                self._finding(head, Finding.TREE_MISMATCH),
                f"{head.name} does not match the entries: the entry at leaf index {start} was replaced, "
                f"its leaf hash rewritten with it{hint}",
                leaf_index=start,
                name_at=start,
                bad_range=(start, stop),
            )
        raise _Break(
            self._finding(head, Finding.TREE_MISMATCH),
            f"{head.name} does not match the entries: in leaf index range {start}..{stop - 1} entries "
            "were replaced, reordered, inserted or deleted and renumbered, with their leaf hashes "
            f"rewritten; nothing stored tells which one{hint}",
            bad_range=(start, stop),
        )

    def _tile_break(self, verified_size: int) -> NoReturn:
        assert self.bad_tile is not None
        tile, first, end = self.bad_tile
        if end <= verified_size:
            raise _Break(
                Finding.TILE_MISMATCH,
                f"stored tile {tile} (leaf indexes {first}..{end - 1}) was altered: the entries under "
                "it reproduce every signed tree head",
                bad_range=(first, end),
            )
        start = max(first, verified_size)
        raise _Break(
            Finding.TILE_MISMATCH,
            f"stored tile {tile} does not match leaf indexes {first}..{end - 1}, of which "
            f"{start}..{end - 1} no signed tree head covers yet: the tile or those entries were changed",
            bad_range=(start, end),
        )

    def resolve(self, broken: _Break) -> _Break:
        """Name the entry of a break (reading has stopped, so the connection is free again)."""
        if broken.name_at is not None and broken.entry_id is None:
            broken.entry_id = self.source.entry_at(broken.name_at)
        elif broken.look_for_moved:
            state = self.source.state()
            bound = max([self.sequenced, state[0] if state else 0, *(h.size for h in self.heads)])
            moved = self.source.misplaced(bound)
            if moved:
                broken.entry_id = moved[0][1]
                broken.message += f" (an entry now holds leaf index {moved[0][0]}, outside the tree)"
        return broken

    def _check_state(self, border: list[bytes], verified_size: int) -> None:
        state = self.source.state()
        if state is None:
            if self.sequenced:
                raise _Break(Finding.STATE_MISMATCH, "the sequencer's tree state is missing")
            return
        size, frontier = state
        if size != self.sequenced:
            extra = self.source.misplaced(size) if size < self.sequenced else []
            raise _Break(
                Finding.STATE_MISMATCH,
                f"the sequencer's tree state has {size} entries, {self.sequenced} are sequenced",
                leaf_index=extra[0][0] if extra else None,
                entry_id=extra[0][1] if extra else None,
                bad_range=(min(size, self.sequenced), max(size, self.sequenced)),
            )
        try:
            stored = CompactRange.from_bytes(frontier)
        except ValueError as exc:
            raise _Break(Finding.STATE_MISMATCH, f"the sequencer's frontier is unreadable ({exc})") from exc
        if list(stored.hashes) != border:
            raise _Break(
                Finding.STATE_MISMATCH,
                "the sequencer's frontier does not match the entries: it, or an entry in leaf index "
                f"range {verified_size}..{self.sequenced - 1} (not covered by a signed tree head), "
                "was changed",
                bad_range=(verified_size, self.sequenced),
            )

    def _check_pending(self) -> None:
        queued = self.source.pending()
        if len(queued) != self.pending:
            # The queue (audit_0003) is filled by a trigger in the inserting statement and emptied
            # only for placed entries: a difference means someone bypassed that, and an entry
            # outside both would never be sequenced or signed.
            raise _Break(
                Finding.STATE_MISMATCH,
                f"{self.pending} entries have no tree position but {len(queued)} await the sequencer: "
                "an entry was taken off its queue without a place in the tree, or a position points "
                "at no entry",
            )
        for entry_id, data, stored in queued:
            if hashlib.sha256(data).digest() != stored:
                raise _Break(
                    Finding.ENTRY_CHANGED,
                    "an entry awaiting the sequencer no longer matches its leaf hash",
                    entry_id=entry_id,
                )

    def _check_coverage(self) -> None:
        """Signatures must cover what is stored (a deleted head would otherwise go unnoticed)."""
        if not self.heads:
            if self.sequenced or self.pending:
                raise _Break(
                    Finding.NO_SIGNED_HEAD,
                    f"{self.sequenced + self.pending} entries but no signed tree head: nothing proves "
                    "they were not rewritten (a new gateway signs one within seconds; otherwise the "
                    "heads were deleted; `meerpunt-gateway audit checkpoint` signs one now)",
                    bad_range=(0, self.sequenced) if self.sequenced else None,
                )
            return
        newest = max(self.heads, key=lambda head: (head.size, head.signed_at))
        if newest.size >= self.sequenced:
            return
        age = (self.now - newest.signed_at).total_seconds()
        if age > self.max_age:
            raise _Break(
                Finding.STALE_CHECKPOINT,
                f"the newest signed tree head ({newest.name}, signed {rfc3339(newest.signed_at)}) is "
                f"{age:.0f} s old, but {self.sequenced} entries are sequenced: leaf indexes "
                f"{newest.size}..{self.sequenced - 1} are covered by no signature (a deleted head, or "
                "a stalled sequencer)",
                leaf_index=newest.size,
                bad_range=(newest.size, self.sequenced),
            )


def verify_register(
    runtime: Runtime,
    *,
    trusted_checkpoints: Sequence[str] = (),
    wait: bool = True,
    grace_seconds: float = CHECKPOINT_GRACE_SECONDS,
) -> VerificationReport:
    """Verify the whole register (see the module docstring); never raises for a broken register.

    `trusted_checkpoints`: checkpoints (JWS, or the checkpoint endpoint's JSON) saved outside the
    database; the stored register must extend each of them. Raises `TrustedCheckpointError` if one
    is not a checkpoint of this gateway, and `VerificationBusy` if `wait` is False and another
    verification is running.
    """
    began = time.perf_counter()
    ring = keyring(runtime)
    trusted = [parse_trusted_checkpoint(text, ring, number=i) for i, text in enumerate(trusted_checkpoints)]
    source = open_reader(runtime, wait=wait)
    max_age = runtime.settings.checkpoint_interval_seconds + grace_seconds
    verifier = _Verifier(source, ring, trusted, now=runtime.clock(), max_age=max_age)
    try:
        verifier.run()
    except _Break as found:
        broken = verifier.resolve(found)
        return VerificationReport(
            ok=False,
            entries=verifier.sequenced,
            first_bad_entry=broken.entry_id,
            message=broken.message,
            first_bad_leaf_index=broken.leaf_index,
            pending=verifier.pending,
            tree_heads=len(verifier.heads),
            tree_size=verifier.sequenced,
            seconds=time.perf_counter() - began,
            finding=broken.finding,
            bad_range=broken.bad_range,
            trusted_checkpoints=len(trusted),
        )
    finally:
        source.close()
    return VerificationReport(
        ok=True,
        entries=verifier.sequenced,
        first_bad_entry=None,
        message="every entry, tile and signed tree head verifies",
        pending=verifier.pending,
        tree_heads=len(verifier.heads),
        tree_size=verifier.sequenced,
        root_hash=base64.b64encode(verifier.root).decode("ascii"),
        seconds=time.perf_counter() - began,
        trusted_checkpoints=len(trusted),
    )
