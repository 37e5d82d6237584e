"""Merkle tree of the art. 8 register: hashing, compact ranges and proofs.

Tamper evidence for the *register van verstrekkingen* (art. 8 Privacyreglement
Meerpunt) follows Certificate Transparency: every register entry is a leaf of
an append-only Merkle tree as defined in RFC 6962 §2.1 (re-stated as RFC 9162
§2.1). The sequencer keeps a :class:`CompactRange` to append in O(log n) and
sign tree heads; auditors recompute the root with :func:`root_from_leaf_hashes`
and check inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4).

Everything here is pure: no I/O, no clock. Storage plugs in through a
:data:`NodeSource`, a callable ``node(level, index)`` that returns the hash of
the perfect subtree at height ``level`` covering leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash. A
store that persists "tiles" (see :func:`perfect_nodes_above` and
:func:`node_source`) can then serve proofs without reading every leaf.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TILE_HEIGHT",
    "CompactRange",
    "NodeSource",
    "border_in_block",
    "consistency_proof",
    "consistency_proof_from_leaves",
    "inclusion_proof",
    "inclusion_proof_from_leaves",
    "leaf_hash",
    "node_hash",
    "node_source",
    "perfect_nodes_above",
    "root_from_leaf_hashes",
    "subtree_hash",
    "tree_levels",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree (RFC 6962 §2.1)."""

TILE_HEIGHT = 8
"""Height of a storage tile: one persisted node per 2**8 = 256 nodes below."""

NodeSource = Callable[[int, int], bytes]
"""``node(level, index)``: hash of the perfect subtree over leaves
``[index << level, (index + 1) << level)``; ``node(0, i)`` is leaf hash ``i``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# Hashing is dominated by per-call set-up, not by the 65 bytes hashed: copying
# a context that already absorbed the 0x01 prefix is ~10% faster than building
# a fresh one and concatenating. The shared context is only ever copied, never
# updated, so concurrent use is safe.
_NODE_CONTEXT = hashlib.sha256(_NODE_PREFIX)

_FRONTIER_VERSION = 1
_FRONTIER_HEADER = 1 + 8  # version byte, 64-bit big-endian size


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 6962 §2.1).

    The 0x00 prefix separates leaves from interior nodes, so no leaf can be
    presented as a node (second-preimage attack on the tree).
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node SHA-256(0x01 || left || right) (RFC 6962 §2.1)."""
    h = _NODE_CONTEXT.copy()
    h.update(left)
    h.update(right)
    return h.digest()


def _hash_pairs(hashes: Sequence[bytes]) -> list[bytes]:
    """Hash the adjacent pairs (0, 1), (2, 3), …; an odd last hash is dropped.

    This is the hot loop of root computation, hence the bound locals.
    """
    it = iter(hashes)
    copy = _NODE_CONTEXT.copy
    out: list[bytes] = []
    append = out.append
    for left, right in zip(it, it, strict=False):  # pairs from one iterator
        h = copy()
        h.update(left)
        h.update(right)
        append(h.digest())
    return out


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash MTH(D[n]) of the given leaf hashes (RFC 6962 §2.1).

    Computed bottom-up, level by level: adjacent pairs are hashed and an odd
    last node is carried up unchanged. This equals the RFC's recursive
    definition (split at the largest power of two k < n) for every n: at each
    level the list holds, for every aligned block of 2**level leaves, the MTH
    of that block cut off at n, and a carried node is exactly the right child
    that the RFC recursion reaches further up.

    The inputs are not re-hashed, so this also folds a row of perfect nodes of
    any level into the node above them. Hash lengths are not checked here (the
    verifier's hot path); a wrong-length hash simply yields a different root.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    level: Sequence[bytes] = leaf_hashes
    while n > 1:
        parents = _hash_pairs(level)
        if n & 1:
            parents.append(level[-1])
        level = parents
        n = len(level)
    return level[0]


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


def _path(index: int, level: int, size: int, node: NodeSource) -> list[bytes]:
    """Sibling hashes from node ``(level, index)`` up to the root of a tree of ``size``.

    At each height the sibling is either a perfect subtree, the partially
    filled right edge (hashed with :func:`subtree_hash`), or absent (the node
    is carried up unchanged and contributes nothing to the path).
    """
    path: list[bytes] = []
    last = size - 1
    while last >> level:  # the node holding ``index`` is not yet the root
        sibling = index ^ 1
        begin = sibling << level
        if begin < size:
            end = begin + (1 << level)
            if end <= size:
                path.append(node(level, sibling))
            else:
                path.append(subtree_hash(begin, size, node))
        index >>= 1
        level += 1
    return path


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """Audit path PATH(index, D[size]) (RFC 6962 §2.1.1, RFC 9162 §2.1.3.1).

    Hashes are ordered from the leaf's sibling up to the child of the root, as
    :func:`verify_inclusion` expects. ``node`` is asked only for perfect
    subtrees inside ``[0, size)``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of size {size}")
    return _path(index, 0, size, node)


def consistency_proof(old_size: int, new_size: int, node: NodeSource) -> list[bytes]:
    """Consistency proof PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2, RFC 9162 §2.1.4.1).

    The proof is the root of the last perfect subtree of the old tree (omitted
    when the old tree is itself perfect, as the verifier already holds its
    root) followed by that node's path to the root of the new tree. It is
    empty when ``old_size`` is 0 or equal to ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove consistency from size {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    level = (old_size & -old_size).bit_length() - 1  # trailing zero bits
    index = (old_size >> level) - 1
    proof = [node(level, index)] if index else []
    proof.extend(_path(index, level, new_size, node))
    return proof


def _leaf_node_source(leaf_hashes: Sequence[bytes]) -> NodeSource:
    return node_source({0: leaf_hashes})


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`inclusion_proof` for a tree given by all its leaf hashes (O(n) hashing)."""
    return inclusion_proof(index, len(leaf_hashes), _leaf_node_source(leaf_hashes))


def consistency_proof_from_leaves(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`consistency_proof` to the tree of all given leaf hashes (O(n) hashing)."""
    return consistency_proof(old_size, len(leaf_hashes), _leaf_node_source(leaf_hashes))


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Check an inclusion proof as in RFC 9162 §2.1.3.2.

    Returns False (never raises) for any malformed input: an index outside
    the tree, a proof that is too short or too long, or a root mismatch.
    """
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False  # proof longer than the path: reject padding
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Right edge: skip the levels at which this node is carried up.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """Check that the tree of ``old_size`` is a prefix of the tree of ``new_size``.

    Implements RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. For equal
    sizes the proof must be empty and the roots equal; from the empty tree the
    proof must be empty and ``old_root`` must be :data:`EMPTY_ROOT`. Returns
    False (never raises) for any malformed input.
    """
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


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
