"""Merkle tree of the art. 8 register against RFC 6962 §2.1 / RFC 9162 §2.1.

Known answers come from two places: the RFC 6962 test vectors published with
Certificate Transparency (transparency-dev/merkle), and a deliberately naive
recursive transcription of the RFC's MTH, PATH and PROOF definitions below,
which shares no code with ``audit.merkle``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    TILE_HEIGHT,
    CompactRange,
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    node_hash,
    node_source,
    perfect_nodes_above,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# --- Reference: RFC 6962 §2.1, transcribed literally --------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return _sha256(b"")
    if len(d) == 1:
        return _sha256(b"\x00" + d[0])
    k = _split(len(d))
    return _sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _split(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# --- Builders -----------------------------------------------------------------


@cache
def make_entries(n: int) -> tuple[bytes, ...]:
    return tuple(f"register entry {i}".encode() for i in range(n))


@cache
def make_leaf_hashes(n: int) -> tuple[bytes, ...]:
    return tuple(leaf_hash(e) for e in make_entries(n))


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


# --- RFC 6962 test vectors (Certificate Transparency) -------------------------

CT_ENTRIES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CT_CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_LEAF_HASHES = [leaf_hash(e) for e in CT_ENTRIES]


def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root_from_leaf_hashes([]).hex() == expected
    assert CompactRange().root().hex() == expected


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    assert leaf_hash(b"abc") == _sha256(b"\x00abc")
    a, b = _sha256(b"a"), _sha256(b"b")
    assert node_hash(a, b) == _sha256(b"\x01" + a + b)
    assert node_hash(a, b) != node_hash(b, a)


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_roots_match_the_ct_vectors(size: int) -> None:
    leaves = CT_LEAF_HASHES[:size]
    assert root_from_leaf_hashes(leaves).hex() == CT_ROOTS[size]
    assert CompactRange.from_leaf_hashes(leaves).root().hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_inclusion_proofs_match_the_ct_vectors(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    leaves = CT_LEAF_HASHES[:size]
    assert inclusion_proof_from_leaves(index, leaves) == expected
    root = bytes.fromhex(CT_ROOTS[size])
    assert verify_inclusion(leaves[index], index, size, expected, root)


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_consistency_proofs_match_the_ct_vectors(old: int, new: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert consistency_proof_from_leaves(old, CT_LEAF_HASHES[:new]) == expected
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, expected)


# --- Against the reference, exhaustively for small trees ---------------------


@pytest.mark.parametrize("size", range(1, 71))
def test_root_and_all_proofs_match_the_reference(size: int) -> None:
    entries = make_entries(size)
    leaves = make_leaf_hashes(size)
    root = root_from_leaf_hashes(leaves)
    assert root == ref_mth(entries)
    node = node_source({0: leaves})

    for index in range(size):
        proof = inclusion_proof(index, size, node)
        assert proof == ref_path(index, entries)
        assert verify_inclusion(leaves[index], index, size, proof, root)

    for old in range(1, size + 1):
        proof = consistency_proof(old, size, node)
        assert proof == ref_proof(old, entries)
        assert verify_consistency(old, size, ref_mth(entries[:old]), root, proof)


@pytest.mark.parametrize("size", range(1, 71))
def test_altered_inclusion_proofs_fail(size: int) -> None:
    leaves = make_leaf_hashes(size)
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        proof = inclusion_proof_from_leaves(index, leaves)
        leaf = leaves[index]
        assert not verify_inclusion(flip(leaf), index, size, proof, root)
        assert not verify_inclusion(leaf, index, size, proof, flip(root))
        assert not verify_inclusion(leaf, index ^ 1, size, proof, root)
        assert not verify_inclusion(leaf, -1, size, proof, root)
        assert not verify_inclusion(leaf, size, size, proof, root)
        assert not verify_inclusion(leaf, index, index, proof, root)
        assert not verify_inclusion(leaf, index, size, [*proof, proof[-1] if proof else leaf], root)
        if proof:
            assert not verify_inclusion(leaf, index, size, proof[:-1], root)
            assert not verify_inclusion(leaf, index, size, proof[1:], root)
        for i in range(len(proof)):
            altered = [*proof[:i], flip(proof[i]), *proof[i + 1 :]]
            assert not verify_inclusion(leaf, index, size, altered, root)


@pytest.mark.parametrize("size", range(2, 71))
def test_altered_consistency_proofs_fail(size: int) -> None:
    leaves = make_leaf_hashes(size)
    root = root_from_leaf_hashes(leaves)
    for old in range(1, size):
        old_root = root_from_leaf_hashes(leaves[:old])
        proof = consistency_proof_from_leaves(old, leaves)
        assert not verify_consistency(old, size, flip(old_root), root, proof)
        assert not verify_consistency(old, size, old_root, flip(root), proof)
        assert not verify_consistency(old, size, old_root, root, [])
        assert not verify_consistency(old, size, old_root, root, proof[:-1])
        assert not verify_consistency(old, size, old_root, root, [*proof, proof[-1]])
        assert not verify_consistency(size, old, root, old_root, proof)
        for i in range(len(proof)):
            altered = [*proof[:i], flip(proof[i]), *proof[i + 1 :]]
            assert not verify_consistency(old, size, old_root, root, altered)


def test_consistency_edge_sizes() -> None:
    leaves = make_leaf_hashes(5)
    root = root_from_leaf_hashes(leaves)
    assert consistency_proof_from_leaves(0, leaves) == []
    assert consistency_proof_from_leaves(5, leaves) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, root, root, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, root, [root])
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, flip(root), [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(-1, 5, EMPTY_ROOT, root, [])


def test_invalid_proof_requests_are_refused() -> None:
    leaves = make_leaf_hashes(4)
    with pytest.raises(ValueError):
        inclusion_proof_from_leaves(4, leaves)
    with pytest.raises(ValueError):
        inclusion_proof_from_leaves(-1, leaves)
    with pytest.raises(ValueError):
        inclusion_proof_from_leaves(0, [])
    with pytest.raises(ValueError):
        consistency_proof_from_leaves(5, leaves)
    with pytest.raises(ValueError):
        consistency_proof_from_leaves(-1, leaves)


# --- Against the reference, randomly for larger trees -------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=2000))
def test_random_trees_match_the_reference(data: st.DataObject, size: int) -> None:
    entries = make_entries(size)
    leaves = make_leaf_hashes(size)
    root = root_from_leaf_hashes(leaves)
    assert root == ref_mth(entries)
    assert CompactRange.from_leaf_hashes(leaves).root() == root

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = inclusion_proof_from_leaves(index, leaves)
    assert proof == ref_path(index, entries)
    assert verify_inclusion(leaves[index], index, size, proof, root)

    old = data.draw(st.integers(min_value=1, max_value=size), label="old size")
    proof = consistency_proof_from_leaves(old, leaves)
    assert proof == ref_proof(old, entries)
    assert verify_consistency(old, size, ref_mth(entries[:old]), root, proof)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    size=st.integers(min_value=1, max_value=2000),
    rows=st.sets(st.integers(min_value=1, max_value=11), max_size=3),
)
def test_proofs_served_from_tiles_equal_proofs_from_leaves(
    data: st.DataObject, size: int, rows: set[int]
) -> None:
    leaves = make_leaf_hashes(size)
    stored = {level: perfect_nodes_above(leaves, level) for level in rows}
    node = node_source({0: leaves, **stored})
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    old = data.draw(st.integers(min_value=0, max_value=size), label="old size")
    assert inclusion_proof(index, size, node) == inclusion_proof_from_leaves(index, leaves)
    assert consistency_proof(old, size, node) == consistency_proof_from_leaves(old, leaves)
    assert subtree_hash(0, size, node) == root_from_leaf_hashes(leaves)


# --- Tampering with the register ------------------------------------------------

TAMPER_SIZE = 23
TAMPER_POSITIONS = [0, 1, 7, 8, 15, 21, 22]


def _tampered(position: int, how: str) -> list[bytes]:
    entries = list(make_entries(TAMPER_SIZE))
    if how == "flip":
        entries[position] = entries[position][:-1] + bytes([entries[position][-1] ^ 1])
    elif how == "swap":
        other = (position + 5) % TAMPER_SIZE
        entries[position], entries[other] = entries[other], entries[position]
    else:
        del entries[position]
    return [leaf_hash(e) for e in entries]


@pytest.mark.parametrize("how", ["flip", "swap", "drop"])
@pytest.mark.parametrize("position", TAMPER_POSITIONS)
def test_tampering_changes_the_root_and_breaks_proofs(position: int, how: str) -> None:
    honest = make_leaf_hashes(TAMPER_SIZE)
    signed_root = root_from_leaf_hashes(honest)
    forged = _tampered(position, how)
    forged_size = len(forged)

    assert root_from_leaf_hashes(forged) != signed_root
    assert CompactRange.from_leaf_hashes(forged).root() != signed_root

    # No proof computed over the forged register ties a changed leaf to the
    # signed root.
    for index in range(forged_size):
        if index < TAMPER_SIZE and forged[index] == honest[index]:
            continue
        proof = inclusion_proof_from_leaves(index, forged)
        assert not verify_inclusion(forged[index], index, TAMPER_SIZE, proof, signed_root)
        assert not verify_inclusion(forged[index], index, forged_size, proof, signed_root)

    # An earlier signed head that covers the changed position is not
    # consistent with the forged register, whether it is extended or not.
    extended = [*forged, *(leaf_hash(b"later %d" % i) for i in range(9))]
    # Dropping the last entry changes no position, it truncates the register.
    first_changed = next((i for i in range(forged_size) if forged[i] != honest[i]), forged_size)
    for old in range(first_changed + 1, TAMPER_SIZE + 1):
        old_root = root_from_leaf_hashes(honest[:old])
        for tree in (forged, extended):
            if old > len(tree):
                continue
            proof = consistency_proof_from_leaves(old, tree)
            new_root = root_from_leaf_hashes(tree)
            assert not verify_consistency(old, len(tree), old_root, new_root, proof)


# --- Subtrees, tiles and node sources -----------------------------------------


def test_subtree_hash_of_every_range_matches_the_reference() -> None:
    entries = make_entries(40)
    node = node_source({0: make_leaf_hashes(40)})
    for start in range(41):
        for end in range(start, 41):
            assert subtree_hash(start, end, node) == ref_mth(entries[start:end])
    with pytest.raises(ValueError):
        subtree_hash(3, 2, node)


def test_perfect_nodes_above_are_the_complete_subtree_roots() -> None:
    entries = make_entries(70)
    leaves = make_leaf_hashes(70)
    assert perfect_nodes_above(leaves, 0) == list(leaves)
    for level in range(1, 8):
        width = 1 << level
        expected = [ref_mth(entries[i : i + width]) for i in range(0, 70 - width + 1, width)]
        assert perfect_nodes_above(leaves, level) == expected
    with pytest.raises(ValueError):
        perfect_nodes_above(leaves, -1)


def test_node_source_refuses_what_it_cannot_serve() -> None:
    leaves = make_leaf_hashes(10)
    with pytest.raises(ValueError):
        node_source({3: perfect_nodes_above(leaves, 3)})
    node = node_source({0: leaves})
    with pytest.raises(IndexError):
        node(2, 2)  # leaves 8..11: only 8 and 9 exist
    with pytest.raises(ValueError):
        node(-1, 0)


class CountingRow(Sequence[bytes]):
    """A stored row that counts how many hashes are read from it."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self._hashes = hashes
        self.reads = 0

    def __len__(self) -> int:
        return len(self._hashes)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            chunk = self._hashes[index]
            self.reads += len(chunk)
            return chunk
        self.reads += 1
        return self._hashes[index]

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("a node source must not scan a whole row")


def test_tiles_keep_proofs_over_a_large_register_cheap() -> None:
    size = 200_003
    leaves = [leaf_hash(b"%d" % i) for i in range(size)]
    rows = {
        0: CountingRow(leaves),
        TILE_HEIGHT: CountingRow(perfect_nodes_above(leaves, TILE_HEIGHT)),
        2 * TILE_HEIGHT: CountingRow(perfect_nodes_above(leaves, 2 * TILE_HEIGHT)),
    }
    node = node_source(rows)
    root = root_from_leaf_hashes(leaves)
    for index in (0, 77_777, size - 1):
        proof = inclusion_proof(index, size, node)
        assert verify_inclusion(leaves[index], index, size, proof, root)
    old = 150_001
    proof = consistency_proof(old, size, node)
    assert verify_consistency(old, size, root_from_leaf_hashes(leaves[:old]), root, proof)
    # Four proofs, each reading at most ~256 hashes per stored row.
    assert sum(row.reads for row in rows.values()) < 4 * 3 * 256


# --- Compact range ------------------------------------------------------------


def test_compact_range_root_equals_the_tree_root_at_every_size() -> None:
    leaves = make_leaf_hashes(300)
    frontier = CompactRange()
    for size in range(301):
        assert frontier.size == size
        assert len(frontier.hashes) == size.bit_count()
        assert frontier.root() == root_from_leaf_hashes(leaves[:size])
        assert CompactRange.from_leaf_hashes(leaves[:size]) == frontier
        if size < 300:
            frontier.append(leaves[size])


def test_compact_range_survives_persistence() -> None:
    leaves = make_leaf_hashes(300)
    for size in range(0, 300, 7):
        frontier = CompactRange.from_leaf_hashes(leaves[:size])
        stored = frontier.to_bytes()
        assert len(stored) == 9 + 32 * size.bit_count()
        restored = CompactRange.from_bytes(stored)
        assert restored == frontier
        restored.extend(leaves[size:])
        assert restored.root() == root_from_leaf_hashes(leaves)
        again = CompactRange(frontier.size, frontier.hashes)
        assert again == frontier


def test_compact_range_copy_is_independent() -> None:
    leaves = make_leaf_hashes(5)
    frontier = CompactRange.from_leaf_hashes(leaves[:4])
    copy = frontier.copy()
    copy.append(leaves[4])
    assert frontier.size == 4
    assert frontier.root() == root_from_leaf_hashes(leaves[:4])
    assert copy.root() == root_from_leaf_hashes(leaves)


@pytest.mark.parametrize(
    "stored",
    [
        b"",
        b"\x01",
        b"\x02" + (0).to_bytes(8, "big"),
        b"\x01" + (1).to_bytes(8, "big"),
        b"\x01" + (1).to_bytes(8, "big") + bytes(31),
        b"\x01" + (1).to_bytes(8, "big") + bytes(33),
        b"\x01" + (3).to_bytes(8, "big") + bytes(32),
        b"\x01" + (0).to_bytes(8, "big") + bytes(32),
    ],
)
def test_malformed_stored_frontiers_are_refused(stored: bytes) -> None:
    with pytest.raises(ValueError):
        CompactRange.from_bytes(stored)


def test_compact_range_refuses_inconsistent_state() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [bytes(32)])
    with pytest.raises(ValueError):
        CompactRange(1, [bytes(31)])
    with pytest.raises(ValueError):
        CompactRange(-1, [])
    with pytest.raises(ValueError):
        CompactRange().append(bytes(31))
    with pytest.raises(ValueError):
        CompactRange.from_leaf_hashes([bytes(32), b"short"])
