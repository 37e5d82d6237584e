"""Jinja2 templates of the people's pages: one environment, autoescaping always on.

Every value a professional typed (reasons, descriptions, names) reaches a page only through a
template, escaped: no page is built from strings by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from audit.access_report import format_date_nl, format_datetime_nl

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _parse(moment: dt.datetime | dt.date | str | None) -> dt.datetime | dt.date | None:
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        try:
            return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return dt.date.fromisoformat(moment[:10])
    return moment


def date_nl(moment: dt.datetime | dt.date | str | None) -> str:
    """`3 februari 2026` (Europe/Amsterdam), from a datetime, a date or an RFC 3339 string."""
    value = _parse(moment)
    if value is None:
        return ""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, 12, tzinfo=dt.UTC)
    return format_date_nl(value)


def datetime_nl(moment: dt.datetime | str | None) -> str:
    value = _parse(moment)
    if value is None:
        return ""
    if not isinstance(value, dt.datetime):
        return date_nl(value)
    return format_datetime_nl(value)


def iso(moment: dt.datetime | dt.date | str | None) -> str:
    """The machine-readable form for `<time datetime=…>`."""
    value = _parse(moment)
    return "" if value is None else value.isoformat()


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,  # a typo in a template fails the test, not silently blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date_nl=date_nl, datetime_nl=datetime_nl, iso=iso)
    return env


ENVIRONMENT = build_environment()


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
