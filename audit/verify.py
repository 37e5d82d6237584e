"""Full verification of the art. 8 register: every leaf, the whole tree, every signed tree head.

`verify_register` (behind `meerpunt-gateway audit verify` and `POST /v1/audit/verify`):

1. checks the signature and the stored columns of every tree head (a head whose root or size was
   edited no longer matches its JWS);
2. reads every sequenced entry in leaf order inside one read-only snapshot and recomputes its leaf
   hash from the stored columns and body (`audit.leaf`): an edited field *or column* changes it;
3. checks that leaf indexes are exactly 0..n-1 (a deleted entry leaves a gap);
4. recomputes the tree, compares every stored level-8 tile, and compares the root at every signed
   size with that head (a reordered or replaced entry changes them), and the sequencer's frontier;
5. checks the leaf hashes of entries still waiting for the sequencer.

It stops at the first break in leaf order and names that entry.

Speed (see bench/register.py): on PostgreSQL the database renders each entry's leaf input itself
and returns blocks of 16,384 as one value (`audit.verify_reader`), so Python does little more than
hashing, while reader threads fetch the next blocks. On SQLite the same bytes are rendered in
Python from the stored columns.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from jose import jws
from jose.exceptions import JOSEError

from audit.canonical import rfc3339
from audit.merkle import EMPTY_ROOT, TILE_HEIGHT, CompactRange, border_in_block, tree_levels
from audit.sequencer import CHECKPOINT_TYP
from audit.verify_reader import HASH, Block, Head, Source, open_reader, read_blocks
from gateway.runtime import Runtime

__all__ = ["VerificationReport", "verify_register"]

BLOCK_HEIGHT = 14
BLOCK = 1 << BLOCK_HEIGHT
"""Leaves per read: aligned, so each block is a perfect subtree (about 8 MB of leaf inputs)."""


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    entries: int
    first_bad_entry: str | None
    message: str
    first_bad_leaf_index: int | None = None
    pending: int = 0
    tree_heads: int = 0
    tree_size: int = 0
    root_hash: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        if self.ok:
            return (
                f"register OK: {self.entries} entries, {self.tree_heads} signed tree heads, "
                f"root {self.root_hash}, {self.pending} awaiting the sequencer ({self.seconds:.2f} s)"
            )
        where = []
        if self.first_bad_entry is not None:
            where.append(f"first bad entry {self.first_bad_entry}")
        if self.first_bad_leaf_index is not None:
            where.append(f"leaf index {self.first_bad_leaf_index}")
        located = f" [{', '.join(where)}]" if where else ""
        return f"register BROKEN: {self.message}{located}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Break(Exception):
    """The first break found. Entries are named only after reading stopped (`_Verifier.resolve`)."""

    def __init__(
        self,
        message: str,
        *,
        leaf_index: int | None = None,
        entry_id: str | None = None,
        name_at: int | None = None,
        moved: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.leaf_index = leaf_index
        self.entry_id = entry_id
        self.name_at = name_at  # name the entry stored at this leaf index
        self.moved = moved  # every entry matched its own hash; the tree over this range did not


def _leaf_hashes(inputs: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    return [sha256(data).digest() for data in inputs]


class _Verifier:
    def __init__(self, runtime: Runtime, source: Source) -> None:
        self.runtime = runtime
        self.source = source
        self.sequenced = 0
        self.pending = 0
        self.heads: list[Head] = []
        self.root: bytes = EMPTY_ROOT

    def run(self) -> None:
        self.heads = self.source.heads()
        self._check_head_signatures()
        self.sequenced, self.pending, tile_count = self.source.counts()
        by_size = sorted(self.heads, key=lambda head: (head.size, head.id))
        for head in by_size:
            if head.size > self.sequenced:
                # Checked after the entries: a break inside them is the better explanation.
                break
            if head.size == 0 and head.root_hash != EMPTY_ROOT:
                raise _Break(f"tree head #{head.id} of the empty tree has a wrong root")
        verified_size = 0
        border: list[bytes] = []
        outer = CompactRange()  # perfect blocks of BLOCK leaves, as one compact range
        head_iter = iter([h for h in by_size if 0 < h.size <= self.sequenced])
        next_head = next(head_iter, None)
        spans = [(a, min(a + BLOCK, self.sequenced)) for a in range(0, self.sequenced, BLOCK)]
        blocks = read_blocks(self.source, spans)
        try:
            for block, (start, stop) in zip(blocks, spans, strict=False):
                levels = self._check_block(block, stop)
                self._check_tiles(block, levels)
                while next_head is not None and next_head.size <= stop:
                    inside = border_in_block(levels, next_head.size - start)
                    root = CompactRange(next_head.size, [*outer.hashes, *inside]).root()
                    if root != next_head.root_hash:
                        self._localised(
                            verified_size,
                            next_head.size,
                            f"tree head #{next_head.id} (size {next_head.size}) does not match the entries",
                        )
                    verified_size = next_head.size
                    next_head = next(head_iter, None)
                if stop - start == BLOCK:
                    outer.append(levels[BLOCK_HEIGHT][0])
                    border = list(outer.hashes)
                else:
                    border = [*outer.hashes, *border_in_block(levels, stop - start)]
        finally:
            blocks.close()  # stops the reader before anyone else uses the connection
        self.root = CompactRange(self.sequenced, border).root() if self.sequenced else EMPTY_ROOT
        for head in by_size:
            if head.size > self.sequenced:
                raise _Break(
                    f"tree head #{head.id} signs {head.size} entries but only {self.sequenced} are stored: "
                    f"entries from leaf index {self.sequenced} on were deleted",
                    leaf_index=self.sequenced,
                )
        self._check_state(border, verified_size)
        if tile_count != self.sequenced >> TILE_HEIGHT:
            raise _Break(f"{tile_count} tiles stored for {self.sequenced} entries: tiles added or deleted")
        self._check_pending()

    def _check_head_signatures(self) -> None:
        kid = self.runtime.signer.key_id
        for head in self.heads:
            try:
                if jws.get_unverified_header(head.jws).get("typ") != CHECKPOINT_TYP:
                    raise _Break(f"tree head #{head.id} is not a checkpoint signature")
                claims = self.runtime.signer.verify(head.jws)
            except (JOSEError, ValueError) as exc:
                raise _Break(f"tree head #{head.id}: signature does not verify ({exc})") from exc
            expected = {
                "size": head.size,
                "root_hash": base64.b64encode(head.root_hash).decode("ascii"),
                "signed_at": rfc3339(head.signed_at),
                "kid": kid,
            }
            if claims != expected:
                changed = sorted(
                    k for k in expected.keys() | claims.keys() if claims.get(k) != expected.get(k)
                )
                raise _Break(f"tree head #{head.id}: stored {', '.join(changed)} differ from the signed ones")

    def _check_block(self, block: Block, stop: int) -> list[list[bytes]]:
        start = block.start
        expected = list(range(start, stop))
        if block.indexes != expected or len(block.inputs) != len(expected):
            self._index_break(block, expected)
        hashes = _leaf_hashes(block.inputs)
        if b"".join(hashes) != block.stored:
            stored = block.stored
            for offset, value in enumerate(hashes):
                if stored[offset * HASH : (offset + 1) * HASH] != value:
                    index = start + offset
                    raise _Break(
                        f"entry at leaf index {index} no longer matches its leaf hash: "
                        "a stored field or indexed column was changed",
                        leaf_index=index,
                        name_at=index,
                    )
        return tree_levels(hashes)

    def _index_break(self, block: Block, expected: list[int]) -> NoReturn:
        found = block.indexes
        for offset, index in enumerate(expected):
            actual = found[offset] if offset < len(found) else None
            if actual == index:
                continue
            if actual is not None and offset > 0 and actual == found[offset - 1]:
                raise _Break(f"two entries hold leaf index {actual}", leaf_index=actual, name_at=actual)
            if actual is None:
                raise _Break(
                    f"leaf index {index} is missing: an entry was deleted or moved", leaf_index=index
                )
            raise _Break(
                f"leaf index {index} is missing: an entry was deleted or moved "
                f"(named: the entry now following the gap, at leaf index {actual})",
                leaf_index=index,
                name_at=actual,
            )
        raise _Break(f"more than one entry in leaf index range {expected[0]}..{expected[-1]}")

    def _check_tiles(self, block: Block, levels: list[list[bytes]]) -> None:
        computed = levels[TILE_HEIGHT] if len(levels) > TILE_HEIGHT else []
        first = block.start >> TILE_HEIGHT
        expected = [(first + i, value) for i, value in enumerate(computed)]
        if block.tiles == expected:
            return
        for offset, pair in enumerate(expected):
            stored = block.tiles[offset] if offset < len(block.tiles) else None
            if stored != pair:
                tile_start = pair[0] << TILE_HEIGHT
                self._localised(
                    tile_start,
                    tile_start + (1 << TILE_HEIGHT),
                    f"stored tile {pair[0]} (from leaf index {tile_start}) does not match the entries",
                )
        raise _Break(f"an extra tile is stored after leaf index {block.start + len(block.indexes) - 1}")

    def _localised(self, start: int, stop: int, message: str) -> NoReturn:
        raise _Break(
            f"{message}: entries in leaf index range {start}..{stop - 1} were reordered or replaced",
            leaf_index=start,
            moved=(start, stop),
        )

    def resolve(self, broken: _Break) -> _Break:
        """Name the entry of a break (reading has stopped, so the connection is free again).

        For moved entries: they are sequenced in `seq` order, so the first entry out of that order
        in the range is named; if there is none (seq was rewritten too), the range's first entry.
        """
        if broken.moved is not None:
            rows = self.source.order_in(*broken.moved)
            culprit = rows[0] if rows else None
            for previous, current in itertools.pairwise(rows):
                if current[1] < previous[1]:
                    culprit = previous
                    break
            if culprit is not None:
                broken.leaf_index, broken.entry_id = culprit[0], culprit[2]
        elif broken.name_at is not None and broken.entry_id is None:
            broken.entry_id = self.source.entry_at(broken.name_at)
        return broken

    def _check_state(self, border: list[bytes], verified_size: int) -> None:
        state = self.source.state()
        if state is None:
            if self.sequenced:
                raise _Break("the sequencer's tree state is missing")
            return
        size, frontier = state
        if size != self.sequenced:
            raise _Break(f"the sequencer's tree state has {size} entries, {self.sequenced} are sequenced")
        try:
            stored = CompactRange.from_bytes(frontier)
        except ValueError as exc:
            raise _Break(f"the sequencer's frontier is unreadable ({exc})") from exc
        if list(stored.hashes) != border:
            self._localised(verified_size, self.sequenced, "the sequencer's frontier does not match")

    def _check_pending(self) -> None:
        for entry_id, data, stored in self.source.pending():
            if hashlib.sha256(data).digest() != stored:
                raise _Break(
                    f"entry {entry_id}, awaiting the sequencer, no longer matches its leaf hash",
                    entry_id=entry_id,
                )


def verify_register(runtime: Runtime) -> VerificationReport:
    """Verify the whole register (see the module docstring); never raises for a broken register."""
    began = time.perf_counter()
    source = open_reader(runtime)
    verifier = _Verifier(runtime, source)
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
    )
