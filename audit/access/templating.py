"""Jinja2 templates of the access pages: one environment, autoescaping always on.

The report (`audit.access.html`) and the letters (`audit.access.letters`) are self-contained Dutch
pages a parent keeps and prints, so they have their own layout (`templates/page.html`, inline CSS,
nothing loaded from elsewhere) rather than the web's, and their own environment: the audit package
sits below `web/` and imports nothing from it. The conventions are the web's (`web/templating.py`):
every value a professional typed (names, reasons, descriptions) reaches a page only through a
template, escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from audit.access_report.dates_nl import (
    format_clock_nl,
    format_date_nl,
    format_date_short_nl,
    format_datetime_nl,
)
from audit.canonical import rfc3339

__all__ = ["ENVIRONMENT", "TEMPLATES_DIR", "format_date_short_nl", "render"]

TEMPLATES_DIR = Path(__file__).parent / "templates"


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name: no partner's markup ever runs
        undefined=StrictUndefined,  # a typo in a template fails the test, not silently blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # a saved page ends its last line
    )
    env.filters.update(
        rfc3339=rfc3339,
        date_nl=format_date_nl,
        datetime_nl=format_datetime_nl,
        date_short_nl=format_date_short_nl,
        clock_nl=format_clock_nl,
    )
    return env


ENVIRONMENT = build_environment()


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
