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

One module per part, each importing only the ones before it: `hashing` (leaf and
node hashes, the root of a row), `nodes` (rows of perfect nodes, tiles, the
:data:`NodeSource`), `proofs` (inclusion and consistency proofs, made and
checked) and `compact_range` (the sequencer's frontier, which needs only
`hashing`). Import from `audit.merkle`: it re-exports every public name.
"""

from __future__ import annotations

from audit.merkle.compact_range import CompactRange
from audit.merkle.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, root_from_leaf_hashes
from audit.merkle.nodes import (
    TILE_HEIGHT,
    NodeSource,
    border_in_block,
    node_source,
    perfect_nodes_above,
    subtree_hash,
    tree_levels,
)
from audit.merkle.proofs import (
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_proof,
    inclusion_proof_from_leaves,
    verify_consistency,
    verify_inclusion,
)

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
