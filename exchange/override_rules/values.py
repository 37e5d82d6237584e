"""Reading the client's loosely typed values: RFC 3339 moments, text, names and identifiers.

Shared by the checks at decision time and those of the follow-up, so that a time, a name or a
written reason is read the same way everywhere; `CLOCK_SKEW` is the tolerance for stated times.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from datetime import UTC, datetime, timedelta

from exchange.substantive_text import is_substantive_text

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a stated time may lie, to tolerate unsynchronised clocks."""


def parse_moment(value: object) -> tuple[datetime | None, str | None]:
    """An RFC 3339 time with an offset, or why not: (moment, None) or (None, problem).

    Problems: ``"is missing"``, ``"is not an RFC 3339 time"``, ``"has no time zone offset"``.
    A time without offset is refused rather than guessed: "01:55" in Zoetermeer is not 01:55 UTC.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is missing"
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, "is not an RFC 3339 time (e.g. 2025-03-14T01:55:00+01:00)"
    else:
        return None, "is not an RFC 3339 time (e.g. 2025-03-14T01:55:00+01:00)"
    if moment.utcoffset() is None:
        return None, "has no time zone offset (add Z or e.g. +01:00)"
    return moment, None


def _is_text(value: object, min_chars: int) -> bool:
    return isinstance(value, str) and is_substantive_text(value, min_chars)


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _norm_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _norm_id(value: str) -> str:
    return value.strip().casefold()


def _utc(moment: dt.datetime) -> dt.datetime:
    # Naive values come back from SQLite (stored in UTC); read them as UTC rather than letting
    # a naive/aware comparison raise mid-request. Client input never reaches here naive.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
