"""Opaque keyset cursors over (moment, id): where a list ordered by a timestamp and an id ends.

The client gets the cursor back as an opaque string (SPEC §6) and may hand back anything: a
forged one is refused with 400 `invalid-cursor` before it reaches a query, never a server error
(a naive moment, or one that cannot be expressed in UTC, would fail only when bound).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from gateway.problems import Problem

__all__ = ["after_keyset", "decode_keyset", "encode_keyset"]


def encode_keyset(moment: dt.datetime, key: str) -> str:
    raw = json.dumps([moment.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_keyset(cursor: str) -> tuple[dt.datetime, str]:
    """The (moment in UTC, id) a cursor of `encode_keyset` continues after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text, key = json.loads(raw)
        moment = dt.datetime.fromisoformat(text)
        if moment.utcoffset() is None or not isinstance(key, str):
            raise ValueError("bad cursor")
        return moment.astimezone(dt.UTC), key  # a forged year-1 cursor fails here, not in the query
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise Problem("The cursor is not one this API gave out.", slug="invalid-cursor") from exc


def after_keyset(moment_column: Any, id_column: Any, cursor: str) -> sa.ColumnElement[bool]:
    """The rows a list ordered by (moment, id) shows after `cursor` (decoded and checked here)."""
    moment, key = decode_keyset(cursor)
    return sa.or_(moment_column > moment, sa.and_(moment_column == moment, id_column > key))
