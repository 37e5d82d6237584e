"""Dates in Dutch, as a parent reads them on the report and the letters: ``3 februari 2026``
(``3 feb. 2026`` in table columns).

Shown in Europe/Amsterdam time (`consent.rules.LOCAL_TZ`, the calendar the consent rules count
in); machines get RFC 3339 UTC instead (`json_form`). The labels and the report's delivery texts
use these too, so every date on a page is written the same way.
"""

from __future__ import annotations

from datetime import datetime

from consent.rules import LOCAL_TZ

_MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def format_datetime_nl(moment: datetime) -> str:
    """``3 februari 2026, 14:05`` in Europe/Amsterdam time."""
    return f"{format_date_nl(moment)}, {format_clock_nl(moment)}"


def format_date_nl(moment: datetime) -> str:
    """``3 februari 2026`` (the date in Europe/Amsterdam)."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.day} {_MONTHS_NL[local.month - 1]} {local.year}"


# The usual Dutch abbreviations (Taalunie): "mrt.", not "maa.".
_MONTHS_SHORT_NL = (
    "jan.",
    "feb.",
    "mrt.",
    "apr.",
    "mei",
    "jun.",
    "jul.",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "dec.",
)


def format_date_short_nl(moment: datetime) -> str:
    """``3 feb. 2026`` (the date in Europe/Amsterdam), for table columns."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.day} {_MONTHS_SHORT_NL[local.month - 1]} {local.year}"


def format_clock_nl(moment: datetime) -> str:
    """``14:05``, the time in Europe/Amsterdam."""
    return f"{moment.astimezone(LOCAL_TZ):%H:%M}"
