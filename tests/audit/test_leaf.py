"""The version-2 leaf input of register entries: pinned bytes, injective, and what record() stores."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.leaf import (
    HEADER_FIELDS,
    decode_time,
    encode_line,
    encode_time,
    leaf_input,
    line_leaf_hash,
    parse_line,
    render_line,
)
from audit.merkle import leaf_hash
from audit.service import entry_body, record
from gateway.db import unit_of_work
from gateway.runtime import Runtime
from tests.audit.builders import make_draft

HEADER = [
    "0b7f6f8e-5a55-4f43-9d1a-3f0c2f1d9a10",
    "disclosure_sent",
    "0002ec8b0a0c6b80",
    "p-17",
    "99990000000000000001",
    "99990000000000000001",
    "99990000000000000004",
    None,
    ",identification,",
    "consent",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    None,
]
BODY = '{"actor_role":"partner","reason":"Zorg — ñ"}'


def test_golden_line_pins_the_version_2_encoding() -> None:
    # If this fails, the leaf encoding changed: every stored leaf hash and signed tree head would
    # stop verifying. Introduce a new version instead.
    line = encode_line(HEADER, BODY)
    assert leaf_input(line) == (
        b"\x02"
        b"0b7f6f8e-5a55-4f43-9d1a-3f0c2f1d9a10\x1fdisclosure_sent\x1f0002ec8b0a0c6b80\x1fp-17\x1f"
        b"99990000000000000001\x1f99990000000000000001\x1f99990000000000000004\x1f\x1f"
        b",identification,\x1fconsent\x1f4bf92f3577b34da6a3ce929d0e0e4736\x1f\x1f"
        b'{"actor_role":"partner","reason":"Zorg \xe2\x80\x94 \xc3\xb1"}'
    )
    assert line_leaf_hash(line) == leaf_hash(leaf_input(line))
    assert line_leaf_hash(line) == hashlib.sha256(b"\x00" + leaf_input(line)).digest()


def test_time_is_postgres_microseconds_since_2000() -> None:
    assert encode_time(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == "0000000000000000"
    assert encode_time(dt.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC)) == "0000000000000001"
    assert encode_time(dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)) == "ffffffffffffffff"
    amsterdam = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2025, 11, 23, 19, 28, tzinfo=amsterdam)
    assert encode_time(moment) == encode_time(moment.astimezone(dt.UTC))
    assert encode_time(moment.replace(tzinfo=None) - dt.timedelta(hours=1)) == encode_time(
        moment
    )  # naive = UTC
    assert decode_time(encode_time(moment)) == moment


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_time_round_trips(moment: dt.datetime) -> None:
    aware = moment.replace(tzinfo=dt.UTC)
    assert decode_time(encode_time(aware)) == aware


@pytest.mark.parametrize("bad", ["a\x1fb", "a\nb", "a\x00", "\x1e"])
@pytest.mark.parametrize("field", range(len(HEADER_FIELDS)))
def test_control_characters_in_indexed_fields_are_refused(field: int, bad: str) -> None:
    header = list(HEADER)
    header[field] = bad
    with pytest.raises(ValueError, match=HEADER_FIELDS[field]):
        encode_line(header, BODY)


def test_a_moved_separator_changes_the_leaf() -> None:
    # What a writer with SQL access could try: shift text from one column into the next.
    header = list(HEADER)
    shifted = list(HEADER)
    shifted[3], shifted[4] = "p-17\x1f9999", "0000000000000001"
    assert render_line(header, BODY) != render_line(shifted, BODY)
    assert render_line(header, BODY).count("\x1f") != render_line(shifted, BODY).count("\x1f")


def test_absence_is_stored_as_null_and_an_empty_string_never_passes_for_it() -> None:
    header = list(HEADER)
    header[7] = None
    empty = list(HEADER)
    empty[7] = ""
    with pytest.raises(ValueError, match="subject_hash"):
        encode_line(empty, BODY)  # writers store absence as NULL
    assert render_line(empty, BODY) != render_line(header, BODY)  # a stored "" is someone's edit
    empty[8] = header[8] = ""  # categories is not nullable: "" is the empty list
    assert render_line([*empty[:7], None, *empty[8:]], BODY) == render_line(header, BODY)


field_text = st.text(st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), max_size=30)


@given(st.lists(st.one_of(st.none(), field_text), min_size=12, max_size=12), field_text)
def test_parse_line_reads_back_what_was_encoded(header: list[str | None], reason: str) -> None:
    body = entry_body(make_draft(reason=reason))
    nullable = {"actor_org", "sender", "recipient", "subject_hash", "legal_basis", "disclosure_id"}
    header = [
        None if name in nullable and not value else value
        for name, value in zip(HEADER_FIELDS, header, strict=True)
    ]
    fields, decoded = parse_line(leaf_input(encode_line(header, body)))
    for name, value in zip(HEADER_FIELDS, header, strict=True):
        expected = (value or None) if name in nullable else (value or "")
        assert fields[name] == expected
    assert decoded["reason"] == reason


def test_record_stores_the_leaf_hash_of_its_columns_and_body(runtime: Runtime) -> None:
    draft = make_draft(
        occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    )
    with unit_of_work(runtime.engine) as session:
        entry = record(session, draft)
    assert entry.occurred_at == draft.occurred_at  # same instant, stored in UTC
    assert entry.leaf_hash == leaf_hash(entry.leaf_input())
    header, body = parse_line(entry.leaf_input())
    assert header["id"] == entry.id
    assert decode_time(str(header["occurred_at"])) == draft.occurred_at
    assert body["reason"] == draft.reason
    assert entry.content["reason"] == draft.reason
    assert entry.content["categories"] == list(draft.categories)
    assert entry.content["legal_basis"] == draft.legal_basis


def test_record_refuses_a_naive_time_and_control_characters(runtime: Runtime) -> None:
    with unit_of_work(runtime.engine) as session:
        with pytest.raises(ValueError, match="timezone"):
            record(session, make_draft(occurred_at=dt.datetime(2025, 1, 1)))
        with pytest.raises(ValueError, match="actor"):
            record(session, make_draft(actor="p-17\x1fother"))
