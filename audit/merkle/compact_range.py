"""The compact range (Merkle frontier): all the sequencer keeps of the tree, O(log n) hashes.

It appends a leaf, or a whole tile by its root, without reading old leaves, gives the root (MTH)
for every signed tree head, and has the versioned byte form the sequencer persists. It needs only
the hashes (`hashing`), not the node rows or the proofs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from audit.merkle.hashing import EMPTY_ROOT, HASH_SIZE, _hash_pairs, node_hash

_FRONTIER_VERSION = 1
_FRONTIER_HEADER = 1 + 8  # version byte, 64-bit big-endian size


def _check_hash(h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ValueError(f"expected a {HASH_SIZE}-byte hash, got {len(h)} bytes")


class CompactRange:
    """Merkle frontier of a tree of ``size`` leaves (a "compact range" [0, size) in Trillian).

    Holds the roots of the perfect subtrees along the right border, one per
    set bit of ``size``, largest (leftmost) first. That is all the sequencer
    needs to append a leaf in O(log n) and to compute MTH (RFC 6962 §2.1)
    without reading old leaves. Persist it with :meth:`to_bytes`.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        hashes = list(hashes)
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} border hashes, got {len(hashes)}")
        for h in hashes:
            _check_hash(h)
        self._size = size
        self._hashes = hashes

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> CompactRange:
        """Frontier of the tree over ``leaf_hashes``, in O(n) hashing."""
        for h in leaf_hashes:
            _check_hash(h)
        border: list[bytes] = []
        row: Sequence[bytes] = leaf_hashes
        # Row ``level`` holds every complete node at that height; when it has
        # an odd number of nodes, the last one is the border subtree for bit
        # ``level`` of the size.
        while row:
            if len(row) & 1:
                border.append(row[-1])
            row = _hash_pairs(row)
        border.reverse()
        return cls(len(leaf_hashes), border)

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Border subtree roots, largest first; ``len == size.bit_count()``."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash in O(log n) (amortised O(1)) hashing."""
        _check_hash(leaf_hash)
        h = leaf_hash
        size = self._size
        hashes = self._hashes
        while size & 1:  # merge equal-sized subtrees, like carrying in binary addition
            h = node_hash(hashes.pop(), h)
            size >>= 1
        hashes.append(h)
        self._size += 1

    def append_subtree(self, root: bytes, height: int) -> None:
        """Add a perfect subtree of 2**height leaves by its root: the same as appending its leaves
        one by one, but only the merges above `height` are hashed. The tree size must be a multiple
        of 2**height (a subtree starts only at such a position in an RFC 6962 tree)."""
        _check_hash(root)
        if self._size % (1 << height):
            raise ValueError(f"a subtree of height {height} cannot start at leaf {self._size}")
        h = root
        size = self._size >> height
        hashes = self._hashes
        while size & 1:
            h = node_hash(hashes.pop(), h)
            size >>= 1
        hashes.append(h)
        self._size += 1 << height

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the tree: the border subtrees folded from right to left."""
        if not self._hashes:
            return EMPTY_ROOT
        it = reversed(self._hashes)
        r = next(it)
        for h in it:
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactRange:
        """An independent frontier with the same state."""
        return CompactRange(self._size, self._hashes)

    def to_bytes(self) -> bytes:
        """Persistent form: version 0x01, size as 8 bytes big-endian, border hashes."""
        return bytes([_FRONTIER_VERSION]) + self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Inverse of :meth:`to_bytes`; raises ValueError on any malformed input."""
        if len(data) < _FRONTIER_HEADER or data[0] != _FRONTIER_VERSION:
            raise ValueError("not a version 1 compact range")
        size = int.from_bytes(data[1:_FRONTIER_HEADER], "big")
        body = data[_FRONTIER_HEADER:]
        count = size.bit_count()
        if len(body) != count * HASH_SIZE:
            raise ValueError(
                f"a tree of size {size} needs {count * HASH_SIZE} bytes of hashes, got {len(body)}"
            )
        return cls(size, [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
