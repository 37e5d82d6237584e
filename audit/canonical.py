"""Canonical JSON of register content: the `body` of every version-2 leaf (see `audit.leaf`).

Registratie van verstrekking (art. 8 lid 1 Privacyreglement Meerpunt): what an entry says beyond
its indexed columns is hashed as this deterministic, compact JSON, so that anyone holding the same
fields recomputes the same leaf hash::

    json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

For keys without characters outside the Basic Multilingual Plane and integers below 2**53 this is
also the RFC 8785 (JCS) form, so a verifier in another language can reproduce it.

(Version 1 of the leaf format, a version byte and this JSON over *all* fields, was never used
for stored entries — the register has always written version 2 — and was removed.)

**Changing anything about this encoding changes every leaf hash and therefore every signed tree
head: it requires a new leaf version, and the old one must stay readable for as long as entries
encoded with it exist.**
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_json", "rfc3339"]

# One encoder for the process: json.dumps() with non-default options builds a
# new encoder per call, which costs ~20% of the encoding time. Its circular
# reference check is redundant: the type check below already walks the value
# and refuses a cycle (RecursionError) before anything is encoded.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)

_SCALARS = frozenset({str, int, bool, type(None)})


def canonical_json(fields: Mapping[str, object]) -> str:
    """The canonical JSON text of a register entry's fields.

    Values may be ``str``, ``int``, ``bool``, ``None``, lists (or tuples,
    encoded as lists) and dicts with ``str`` keys, nested freely. Timestamps
    are passed as RFC 3339 strings. Anything else raises ``TypeError``.
    Control characters inside strings are escaped, so the text never contains
    a raw byte below 0x20.
    """
    if not isinstance(fields, dict):
        fields = dict(fields)
    _check_object(fields)
    return _ENCODER.encode(fields)


def rfc3339(moment: dt.datetime) -> str:
    """A timestamp as canonical content carries it: RFC 3339 in UTC with a `Z`.

    A naive datetime is taken as UTC (SQLite returns stored timestamps without an offset), never
    as the host's local time.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _check_object(obj: Mapping[Any, object]) -> None:
    for key, value in obj.items():
        # json would silently turn 1, True or None keys into "1", "true",
        # "null": two different entries would share one leaf hash, so a
        # tampered entry could pass verification.
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, got {type(key).__name__} {key!r}")
        if type(value) not in _SCALARS:
            _check_value(value, key)


def _check_value(value: object, key: str) -> None:
    if type(value) in _SCALARS:
        return
    if isinstance(value, dict):
        _check_object(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, key)
    elif isinstance(value, (str, int)):
        return  # subclasses such as StrEnum and IntEnum encode as their value
    else:
        # Floats are refused too: their text form differs between languages,
        # so an independent verifier could not reproduce the bytes.
        raise TypeError(f"{key!r}: cannot encode {type(value).__name__} canonically")
