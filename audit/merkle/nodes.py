"""Perfect subtrees above the leaves, and the :data:`NodeSource` that serves them from storage.

Rows of complete nodes (:func:`perfect_nodes_above`, :func:`tree_levels`) are what the sequencer
persists as tiles and what the verifier computes per block; :func:`node_source` answers
``node(level, index)`` from such stored rows and :func:`subtree_hash` assembles the hash of any
range from them. The proofs ask for nodes only through a :data:`NodeSource`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence

from audit.merkle.hashing import EMPTY_ROOT, _hash_pairs, node_hash, root_from_leaf_hashes

TILE_HEIGHT = 8
"""Height of a storage tile: one persisted node per 2**8 = 256 nodes below."""

NodeSource = Callable[[int, int], bytes]
"""``node(level, index)``: hash of the perfect subtree over leaves
``[index << level, (index + 1) << level)``; ``node(0, i)`` is leaf hash ``i``."""


def perfect_nodes_above(leaf_hashes: Sequence[bytes], level: int) -> list[bytes]:
    """All complete nodes at height ``level`` above the given leaves, left to right.

    Element ``i`` is ``node(level, i)``, the root of leaves
    ``[i << level, (i + 1) << level)``; a trailing partial block is left out
    because its hash changes as the register grows. With ``level =
    TILE_HEIGHT`` this yields one hash per tile of 256 leaves; persisting
    those (and, for large registers, the level-16 row as well) lets
    :func:`node_source` answer any proof over 1,000,000 entries from a few
    hundred stored hashes instead of every leaf.
    """
    if level < 0:
        raise ValueError(f"level must be >= 0, got {level}")
    row = list(leaf_hashes)
    for _ in range(level):
        row = _hash_pairs(row)
    return row


def tree_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every row of complete nodes above the leaves: ``levels[l][i] == node(l, i)``.

    ``levels[0]`` is the leaf hashes; each next row is :func:`perfect_nodes_above`
    by one level, until a row has fewer than two nodes. A verifier that streams
    the register in aligned blocks computes each block's rows once and reads
    from them both the block's root and the border of any tree size that ends
    inside it (:func:`border_in_block`).
    """
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        levels.append(_hash_pairs(levels[-1]))
    return levels


def border_in_block(levels: Sequence[Sequence[bytes]], count: int) -> list[bytes]:
    """Border subtree roots (largest first) of the first ``count`` leaves of a block.

    ``levels`` is :func:`tree_levels` of the block. Together with the border of
    everything before an aligned block, this is the compact range of any tree
    size ending inside the block.
    """
    border: list[bytes] = []
    position = 0
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            border.append(levels[level][position >> level])
            position += 1 << level
    return border


def node_source(stored: Mapping[int, Sequence[bytes]]) -> NodeSource:
    """A :data:`NodeSource` over stored rows of perfect nodes ("tiles").

    ``stored[level]`` holds ``node(level, i)`` for ``i = 0, 1, …`` (as produced by
    :func:`perfect_nodes_above`); ``stored[0]``, the leaf hashes, is required.
    A request for ``node(level, i)`` is served from the highest stored row at
    or below ``level``, folding at most ``2**(level - row)`` stored hashes. The
    rows may be lazy sequences backed by storage; only slices of them are read.
    """
    if 0 not in stored:
        raise ValueError("stored rows must include level 0 (the leaf hashes)")
    rows = sorted(stored)
    if rows[0] < 0:
        raise ValueError(f"levels must be >= 0, got {rows[0]}")

    def node(level: int, index: int) -> bytes:
        if level < 0 or index < 0:
            raise ValueError(f"no node at level {level}, index {index}")
        base = rows[bisect_right(rows, level) - 1]
        row = stored[base]
        if base == level:
            return row[index]
        width = 1 << (level - base)
        block = row[index * width : (index + 1) * width]
        if len(block) != width:
            raise IndexError(f"node ({level}, {index}) is not complete in row {base}")
        return root_from_leaf_hashes(block)

    return node


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH(D[start:end]) for any range, assembled from perfect subtrees.

    Follows the RFC 6962 §2.1 split (largest power of two k < n) and asks
    ``node`` for every block that is an aligned perfect subtree. Ranges that
    occur in proofs start at a multiple of the largest power of two not above
    their length (e.g. the right edge of a tree whose size is not a power of
    two), so they cost O(log n) node lookups; an unaligned range falls back to
    smaller subtrees, down to single leaves. The empty range gives
    :data:`EMPTY_ROOT`.
    """
    if not 0 <= start <= end:
        raise ValueError(f"invalid range [{start}, {end})")
    if start == end:
        return EMPTY_ROOT
    return _range_hash(start, end, node)


def _range_hash(start: int, end: int, node: NodeSource) -> bytes:
    size = end - start
    if size & (size - 1) == 0 and start & (size - 1) == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = 1 << ((size - 1).bit_length() - 1)  # largest power of two < size
    return node_hash(_range_hash(start, start + k, node), _range_hash(start + k, end, node))
