"""Appending a batch of leaves to the register's tree: the frontier and the level-8 tiles at once.

The sequencer's hot loop (issue 16). Leaf by leaf, every leaf was hashed into the frontier and
again into the partial tile: about two node hashes and their Python bookkeeping per leaf. Here every
whole tile in the batch is hashed level by level (255 node hashes per 256 leaves, in one tight
loop), and its root joins the frontier as one subtree; only the leaves before the first tile
boundary and after the last one go in one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.merkle import TILE_HEIGHT, CompactRange, perfect_nodes_above

__all__ = ["TILE_SIZE", "append_leaves"]

TILE_SIZE = 1 << TILE_HEIGHT


def _partial_tile(frontier: CompactRange) -> CompactRange:
    """The compact range of the unfinished tile at the frontier's end: its border subtrees below
    level 8 are exactly the frontier's last hashes."""
    partial = frontier.size % TILE_SIZE
    hashes = frontier.hashes
    return CompactRange(partial, hashes[len(hashes) - partial.bit_count() :])


def append_leaves(frontier: CompactRange, leaves: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Append `leaves` to `frontier` (in place); return the tiles they complete, as (index, hash).

    The result equals appending each leaf to the frontier and to the partial tile in turn.
    """
    tiles: list[tuple[int, bytes]] = []
    taken = 0
    if frontier.size % TILE_SIZE:
        tile = _partial_tile(frontier)
        taken = min(len(leaves), TILE_SIZE - tile.size)
        for leaf in leaves[:taken]:
            frontier.append(leaf)
            tile.append(leaf)
        if tile.size == TILE_SIZE:
            tiles.append(((frontier.size >> TILE_HEIGHT) - 1, tile.root()))
    whole = (len(leaves) - taken) // TILE_SIZE * TILE_SIZE
    for root in perfect_nodes_above(leaves[taken : taken + whole], TILE_HEIGHT):
        frontier.append_subtree(root, TILE_HEIGHT)
        tiles.append(((frontier.size >> TILE_HEIGHT) - 1, root))
    for leaf in leaves[taken + whole :]:
        frontier.append(leaf)
    return tiles
