"""Appending a batch of leaves (audit.tiles) equals appending them one by one."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import TILE_HEIGHT, CompactRange, perfect_nodes_above
from audit.tiles import TILE_SIZE, append_leaves


def _leaves(count: int, salt: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{salt}:{i}".encode()).digest() for i in range(count)]


@pytest.mark.parametrize(
    ("before", "batch"),
    [
        (0, 0),
        (0, 1),
        (0, 255),
        (0, 256),
        (0, 257),
        (1, 255),
        (1, 256),
        (100, 1000),
        (255, 1),
        (256, 4096),
        (300, 4096),
        (511, 3 * TILE_SIZE + 2),
        (1000, 10),
    ],
)
def test_a_batch_gives_the_same_frontier_and_tiles_as_single_appends(before: int, batch: int) -> None:
    earlier, leaves = _leaves(before, salt=1), _leaves(batch, salt=2)
    frontier = CompactRange.from_leaf_hashes(earlier)

    tiles = append_leaves(frontier, leaves)

    every = earlier + leaves
    assert frontier == CompactRange.from_leaf_hashes(every)
    assert frontier.root() == CompactRange.from_leaf_hashes(every).root()
    expected = list(enumerate(perfect_nodes_above(every, TILE_HEIGHT)))[before // TILE_SIZE :]
    assert tiles == expected


def test_a_subtree_cannot_start_off_its_boundary() -> None:
    frontier = CompactRange.from_leaf_hashes(_leaves(3))
    with pytest.raises(ValueError, match="cannot start at leaf 3"):
        frontier.append_subtree(b"\x00" * 32, TILE_HEIGHT)
