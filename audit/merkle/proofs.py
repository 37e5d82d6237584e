"""Inclusion and consistency proofs: made from a :data:`NodeSource`, checked from hashes alone.

Making a proof (RFC 9162 §2.1.3.1, §2.1.4.1) asks only for perfect subtrees, so stored tiles answer
it without reading every leaf; checking one (§2.1.3.2, §2.1.4.2) needs nothing but the proof, the
sizes and the roots, which is what an auditor has. Serving proofs from the database and signed tree
heads is `audit.proofs`.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.merkle.hashing import EMPTY_ROOT, node_hash
from audit.merkle.nodes import NodeSource, node_source, subtree_hash


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
