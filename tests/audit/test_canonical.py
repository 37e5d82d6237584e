"""Canonical JSON of register content (the body of every leaf, art. 8 lid 1): deterministic, injective."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.canonical import canonical_json


def canonical_bytes(fields: dict[str, object] | Any) -> bytes:
    return canonical_json(fields).encode("utf-8")


def make_entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "entry_id": "0b7f6f8e-5a55-4f43-9d1a-3f0c2f1d9a10",
        "seq": 41,
        "occurred_at": "2025-11-23T18:28:00.123456Z",
        "sender": "urn:oid:2.16.528.1.1007.99.1234",
        "recipient": "urn:oid:2.16.528.1.1007.99.5678",
        "subject": "hmac-sha256:6f1c",
        "purpose": "zorgverlening",
        "categories": ["medicatie", "allergieën"],
        "decision": {"outcome": "permit", "override": None, "emergency": False},
    }
    entry.update(overrides)
    return entry


def test_encoding_is_compact_sorted_json() -> None:
    data = canonical_bytes({"b": 1, "a": "é", "c": {"z": None, "y": [True, False]}})
    assert data == b'{"a":"\xc3\xa9","b":1,"c":{"y":[true,false],"z":null}}'


def test_golden_entry_pins_the_encoding() -> None:
    # If this fails, the encoding changed: every existing leaf hash and signed
    # tree head would stop verifying. Introduce a new leaf version instead.
    data = canonical_bytes(make_entry())
    assert data == (
        b'{"categories":["medicatie","allergie\xc3\xabn"],'
        b'"decision":{"emergency":false,"outcome":"permit","override":null},'
        b'"entry_id":"0b7f6f8e-5a55-4f43-9d1a-3f0c2f1d9a10",'
        b'"occurred_at":"2025-11-23T18:28:00.123456Z","purpose":"zorgverlening",'
        b'"recipient":"urn:oid:2.16.528.1.1007.99.5678",'
        b'"sender":"urn:oid:2.16.528.1.1007.99.1234","seq":41,"subject":"hmac-sha256:6f1c"}'
    )


def test_field_order_does_not_matter() -> None:
    entry = make_entry()
    reversed_entry = dict(reversed(list(entry.items())))
    assert canonical_bytes(reversed_entry) == canonical_bytes(entry)


def test_any_mapping_is_accepted() -> None:
    assert canonical_bytes(MappingProxyType(make_entry())) == canonical_bytes(make_entry())


def test_tuples_encode_as_lists() -> None:
    assert canonical_bytes({"a": ("x", "y")}) == canonical_bytes({"a": ["x", "y"]})


def test_enums_encode_as_their_values() -> None:
    class Outcome(StrEnum):
        PERMIT = "permit"

    class Level(IntEnum):
        HIGH = 3

    assert canonical_bytes({"o": Outcome.PERMIT, "l": Level.HIGH}) == canonical_bytes({"o": "permit", "l": 3})


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": True}, {"x": 1}),
        ({"x": False}, {"x": 0}),
        ({"x": None}, {"x": "null"}),
        ({"x": "1"}, {"x": 1}),
        ({"x": []}, {"x": {}}),
        ({"x": ["a,b"]}, {"x": ["a", "b"]}),
        ({"x": "a", "y": "b"}, {"x": 'a","y":"b'}),
    ],
)
def test_different_entries_never_share_bytes(a: dict[str, object], b: dict[str, object]) -> None:
    assert canonical_bytes(a) != canonical_bytes(b)


@pytest.mark.parametrize(
    "fields",
    [
        {"x": 1.0},
        {"x": math.nan},
        {"x": [1, 2.5]},
        {"x": {"y": math.inf}},
        {"x": b"bytes"},
        {"x": {"a"}},
        {"x": datetime(2025, 1, 1, tzinfo=UTC)},
        {"x": object()},
        {"x": {1: "a"}},
        {"x": [{"y": {None: 1}}]},
        {1: "a"},
        {("a",): "b"},
    ],
)
def test_values_without_a_canonical_form_are_refused(fields: dict[Any, object]) -> None:
    with pytest.raises(TypeError):
        canonical_bytes(cast("dict[str, object]", fields))


def test_invalid_unicode_is_refused() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes({"x": "\ud800"})


def _strictly_equal(decoded: object, original: object) -> bool:
    """Equality that tells True from 1 and treats a tuple as the list it encodes to."""
    if isinstance(original, tuple):
        original = list(original)
    if type(decoded) is not type(original):
        return False
    if isinstance(original, dict):
        assert isinstance(decoded, dict)
        return decoded.keys() == original.keys() and all(
            _strictly_equal(decoded[k], original[k]) for k in original
        )
    if isinstance(original, list):
        assert isinstance(decoded, list)
        return len(decoded) == len(original) and all(
            _strictly_equal(d, o) for d, o in zip(decoded, original, strict=True)
        )
    return decoded == original


scalars = st.none() | st.booleans() | st.integers() | st.text()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
entries = st.dictionaries(st.text(max_size=12), values, max_size=8)


@given(entries)
def test_encoding_round_trips_so_it_is_injective(fields: dict[str, object]) -> None:
    data = canonical_bytes(fields)
    # Decoding recovers the exact entry, so no two different entries encode alike.
    assert _strictly_equal(json.loads(data.decode("utf-8")), fields)


@given(entries, st.randoms(use_true_random=False))
def test_encoding_is_independent_of_insertion_order(fields: dict[str, object], rnd: Any) -> None:
    items = list(fields.items())
    rnd.shuffle(items)
    assert canonical_bytes(dict(items)) == canonical_bytes(fields)


def test_self_referencing_values_are_refused() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(RecursionError):
        canonical_bytes({"x": loop})


def test_prepared_entries_carry_exactly_the_inserted_columns() -> None:
    """`prepare` + the send path's one-statement insert write the same columns as `record`."""
    import datetime as dt

    from audit.service import ENTRY_COLUMNS, EntryDraft, entry_columns, prepare

    draft = EntryDraft(
        kind="disclosure_sent", occurred_at=dt.datetime.now(dt.UTC), actor="x", actor_role="partner"
    )
    assert tuple(entry_columns(draft)) == ENTRY_COLUMNS
    entry = prepare(draft)
    assert tuple(entry.columns) == ENTRY_COLUMNS and len(entry.leaf_hash) == 32
