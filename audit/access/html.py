"""The Dutch report of the right of access: the page a parent can read and print (art. 10 lid 3-4).

Pure: the report (`audit.access_report.build_report`) in, one self-contained HTML5 page out. The
page is the template `templates/report.html` on the shared frame `templates/page.html`, which the
letters (`audit.access.letters`) use too; this module only prepares what the template shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.access.templating import format_date_short_nl, render
from audit.access_report import RESPONSE_PERIOD_TEXT, AccessReport, withheld_ground_label

__all__ = [
    "REPORT_TITLE",
    "Withheld",
    "format_date_short_nl",
    "render_report_html",
]

REPORT_TITLE = "Overzicht van verstrekte gegevens"


@dataclass(frozen=True)
class Withheld:
    """What the report says about verstrekkingen left out of it (art. 10 lid 6-7)."""

    what: str  # "1 verstrekking", "3 verstrekkingen"
    ground: str  # the weigeringsgrond in plain Dutch


def render_report_html(report: AccessReport) -> str:
    """The report as one self-contained, printable Dutch HTML5 page (art. 10 lid 3-4).

    Inline CSS only: no scripts, fonts, images or links to other sites, so the page works offline,
    prints as it looks and leaks nothing to third parties when opened. Every value that comes from
    partners (names, reasons, descriptions) is escaped by the templates' autoescaping: professionals
    type them, and the page must not run or show markup a professional put there.
    """
    return render(
        "report.html",
        title=REPORT_TITLE,
        request_id=report.request_id,
        generated_at=report.generated_at,
        report=report,
        withheld=_withheld(report),
        response_period_text=RESPONSE_PERIOD_TEXT,
    )


def _withheld(report: AccessReport) -> Withheld | None:
    """The sentence on withheld verstrekkingen, if any were (art. 10 lid 7: say so, and on what ground)."""
    n = report.withheld_count
    if not n:
        return None
    what = "1 verstrekking" if n == 1 else f"{n} verstrekkingen"
    return Withheld(what, withheld_ground_label(report.withheld_ground))
