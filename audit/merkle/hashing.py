"""The hashes of the tree (RFC 6962 §2.1): a leaf, an interior node, and the root over a row.

The domain-separation prefixes (0x00 for a leaf, 0x01 for a node) and the Merkle Tree Hash live
only here; the node rows, the proofs and the compact range all hash through `leaf_hash`,
`node_hash` and `root_from_leaf_hashes`, so they cannot disagree on what a node is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree (RFC 6962 §2.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# Hashing is dominated by per-call set-up, not by the 65 bytes hashed: copying
# a context that already absorbed the 0x01 prefix is ~10% faster than building
# a fresh one and concatenating. The shared context is only ever copied, never
# updated, so concurrent use is safe.
_NODE_CONTEXT = hashlib.sha256(_NODE_PREFIX)


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
