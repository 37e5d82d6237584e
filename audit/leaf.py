"""The leaf input of a register entry (version 2): the exact bytes behind each Merkle leaf.

Registratie (art. 8 Privacyreglement Meerpunt): every register entry is one leaf of the tree in
:mod:`audit.merkle`, with leaf hash ``SHA-256(0x00 || leaf_input)`` (RFC 6962 §2.1) and::

    leaf_input = 0x02 || UTF-8( f_1 US f_2 US … US f_12 US body )

``US`` is the ASCII unit separator (0x1F). ``f_1 … f_12`` are the register's indexed columns, in the
order of :data:`HEADER_FIELDS`, exactly as stored:

- absent values (SQL ``NULL``) are the empty string. Writers store absence only as ``NULL``
  (:func:`encode_line` refuses ``""`` in a nullable field); a verifier renders a stored ``""`` in
  a nullable column as the byte 0x01, which no honest leaf contains, so an edit from ``NULL`` to
  ``""`` (or back) changes the leaf rather than passing unnoticed;
- ``occurred_at`` is 16 lowercase hex digits: the 64-bit two's-complement big-endian count of
  microseconds since 2000-01-01T00:00:00Z (PostgreSQL's binary ``timestamptz``);
- ``categories`` is the stored ``,a,b,`` form.

``body`` is the canonical JSON (:func:`audit.canonical.canonical_json`) of everything else the
register says about the event: ``actor_role``, ``reason``, ``description``, ``legal_basis`` (the
whole object, with an override's ground, justification and consulted officials), ``professional``
and ``details``.

Why this shape, rather than one JSON document of all fields:

- the columns that queries filter and scope on are themselves hashed, so editing a column (say,
  ``subject_hash``, to hide an entry from a subject's access report) changes the leaf; there is no
  second copy of a value that could disagree with the first;
- PostgreSQL builds the exact bytes with plain string concatenation (:data:`POSTGRES_LINE_SQL`), so
  the verifier reads each entry as one contiguous value instead of decoding JSON and re-encoding it
  in Python (about 4 µs per entry, which alone would cap verification near 200,000 entries/s).

Injectivity: header values never contain a control character (:func:`encode_line` refuses them)
and canonical JSON escapes every control character, so the first twelve 0x1F bytes are exactly the
separators and the fields can be read back unambiguously (:func:`parse_line`). A stored value
*changed* to contain 0x1F shifts every later field and therefore the hash.

**Changing anything here changes every leaf hash and every signed tree head: it needs a new
version byte, and this version must stay readable while entries encoded with it exist.**
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "HEADER_FIELDS",
    "LEAF_HASH_PREFIX",
    "LEAF_VERSION",
    "POSTGRES_LINE_SQL",
    "decode_time",
    "encode_line",
    "encode_time",
    "header_values",
    "leaf_input",
    "line_leaf_hash",
    "parse_line",
    "render_line",
]

LEAF_VERSION = 2

HEADER_FIELDS = (
    "id",
    "kind",
    "occurred_at",
    "actor",
    "actor_org",
    "sender",
    "recipient",
    "subject_hash",
    "categories",
    "legal_basis",
    "trace_id",
    "disclosure_id",
)
"""The indexed columns of ``register_entry`` that are part of the leaf, in leaf order."""

NULLABLE_FIELDS = frozenset(
    {"actor_org", "sender", "recipient", "subject_hash", "legal_basis", "disclosure_id"}
)

SEPARATOR = "\x1f"

LEAF_HASH_PREFIX = b"\x00" + bytes([LEAF_VERSION])
"""What precedes the UTF-8 line in the leaf hash input: RFC 6962's 0x00 and the version byte."""

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_CONTROL = re.compile(r"[\x00-\x1f]")


EMPTY_MARK = "\x01"
"""How a verifier renders ``""`` stored in a nullable column: a byte no honest leaf contains."""

_NULLABLE_POSITIONS = frozenset(i for i, name in enumerate(HEADER_FIELDS) if name in NULLABLE_FIELDS)


def _pg_field(name: str) -> str:
    if name == "occurred_at":
        return "encode(pg_catalog.timestamptz_send(occurred_at), 'hex')"
    if name in NULLABLE_FIELDS:
        return f"CASE WHEN {name} = '' THEN E'\\x01' ELSE coalesce({name}, '') END"
    return name


POSTGRES_LINE_SQL = " || ".join(f"{_pg_field(name)} || E'\\x1f'" for name in HEADER_FIELDS) + " || body"
"""The same line as :func:`encode_line`, built by PostgreSQL from the stored columns (as text).

Kept next to the Python encoder on purpose: the two must change together, and
``tests/audit/test_verify.py`` checks on PostgreSQL that they agree byte for byte.
"""


def encode_time(moment: dt.datetime) -> str:
    """``occurred_at`` as in the leaf; a naive value is taken as UTC (SQLite returns those)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    micros = (moment - _EPOCH) // _MICROSECOND
    return micros.to_bytes(8, "big", signed=True).hex()


def decode_time(text: str) -> dt.datetime:
    return _EPOCH + int.from_bytes(bytes.fromhex(text), "big", signed=True) * _MICROSECOND


def header_values(columns: Mapping[str, Any]) -> list[str | None]:
    """The header fields from column values (``occurred_at`` as a datetime)."""
    values: list[str | None] = []
    for name in HEADER_FIELDS:
        value = columns[name]
        values.append(encode_time(value) if name == "occurred_at" else value)
    return values


def encode_line(header: Sequence[str | None], body: str) -> str:
    """The line of a leaf (the part after the version byte), as text.

    Raises ValueError if a header value contains a control character: such a value could move a
    separator and make two different entries share a leaf.
    """
    if len(header) != len(HEADER_FIELDS):
        raise ValueError(f"expected {len(HEADER_FIELDS)} header fields, got {len(header)}")
    for name, value in zip(HEADER_FIELDS, header, strict=True):
        if value is not None and _CONTROL.search(value):
            raise ValueError(f"register field {name!r} contains a control character")
        if value == "" and name in NULLABLE_FIELDS:
            raise ValueError(f"register field {name!r}: store absence as None, not ''")
    if _CONTROL.search(body):
        raise ValueError("register body contains a raw control character")
    return render_line(header, body)


def render_line(header: Sequence[str | None], body: str) -> str:
    """:func:`encode_line` without its checks: how a verifier renders whatever is stored."""
    fields = [
        "" if value is None else EMPTY_MARK if value == "" and i in _NULLABLE_POSITIONS else value
        for i, value in enumerate(header)
    ]
    return SEPARATOR.join([*fields, body])


def leaf_input(line: str) -> bytes:
    return bytes([LEAF_VERSION]) + line.encode("utf-8")


def line_leaf_hash(line: str) -> bytes:
    """SHA-256(0x00 || leaf_input): the Merkle leaf hash (equals ``merkle.leaf_hash(leaf_input(line))``)."""
    return hashlib.sha256(LEAF_HASH_PREFIX + line.encode("utf-8")).digest()


def parse_line(data: bytes) -> tuple[dict[str, str | None], dict[str, Any]]:
    """Read a leaf input back: (header fields, body). For auditors and tests, not the hot path."""
    if not data or data[0] != LEAF_VERSION:
        raise ValueError("not a version 2 register leaf")
    parts = data[1:].decode("utf-8").split(SEPARATOR, len(HEADER_FIELDS))
    if len(parts) != len(HEADER_FIELDS) + 1:
        raise ValueError("truncated register leaf")
    header = {
        name: (value or None) if name in NULLABLE_FIELDS else value
        for name, value in zip(HEADER_FIELDS, parts, strict=False)
    }
    body: dict[str, Any] = json.loads(parts[-1])
    return header, body
