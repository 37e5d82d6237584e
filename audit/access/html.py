"""The Dutch pages of the right of access: the report a parent can read and print (art. 10
lid 3-4), and the page frame, style and helpers the letters (`audit.access.letters`) share.

Pure: the report (`audit.access_report.build_report`) in, one self-contained HTML5 page out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from audit.access_report import (
    RESPONSE_PERIOD_TEXT,
    AccessReport,
    LabelledCategory,
    ReportConsent,
    ReportDisclosure,
    format_date_nl,
    format_datetime_nl,
    withheld_ground_label,
)
from audit.canonical import rfc3339
from consent.rules import LOCAL_TZ

__all__ = [
    "REPORT_TITLE",
    "escape_html",
    "format_date_short_nl",
    "render_page",
    "render_report_html",
    "time_html",
]

REPORT_TITLE = "Overzicht van verstrekte gegevens"
NO_DISCLOSURES_TEXT = "Er zijn via Meerpunt geen gegevens over u verstrekt."
CORRECTION_LABEL = "Correctie doorgegeven"


def render_report_html(report: AccessReport) -> str:
    """The report as one self-contained, printable Dutch HTML5 page (art. 10 lid 3-4).

    Inline CSS only: no scripts, fonts, images or links to other sites, so the page works offline,
    prints as it looks and leaks nothing to third parties when opened. Every value that comes from
    partners (names, reasons, descriptions) is escaped: professionals type them, and the page must
    not run or show markup a professional put there.
    """
    main = "\n".join(
        (_intro_html(report), _disclosures_html(report), _consents_html(report), _rights_html(report))
    )
    return render_page(REPORT_TITLE, _header_html(report), main, _footer_html(report))


def render_page(title: str, header: str, main: str, footer: str) -> str:
    """One self-contained Dutch HTML5 page in the report's style (also used for letters).

    A skip link leads keyboard and screen-reader users past the header to the content (WCAG 2.4.1).
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="nl">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<a class="skip-link" href="#inhoud">Direct naar de inhoud</a>',
        header,
        '<main id="inhoud" tabindex="-1">',
        main,
        "</main>",
        footer,
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def escape_html(value: object) -> str:
    """Text for the page: every value partners typed is escaped, so no markup of theirs runs."""
    return escape(str(value), quote=True)


_e = escape_html


def time_html(moment: datetime, *, date_only: bool = False) -> str:
    """A Dutch date (and time) that machines read too: `<time datetime="…Z">3 februari 2026</time>`."""
    text = format_date_nl(moment) if date_only else format_datetime_nl(moment)
    return f'<time datetime="{_e(rfc3339(moment))}">{_e(text)}</time>'


def format_date_short_nl(moment: datetime) -> str:
    """``3 feb. 2026`` (the date in Europe/Amsterdam), for table columns."""
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.day} {_MONTHS_SHORT_NL[local.month - 1]} {local.year}"


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


def _table_time(moment: datetime) -> str:
    """Date and time on two short lines that never wrap: a table column stays narrow and readable."""
    local = moment.astimezone(LOCAL_TZ)
    return (
        f'<time datetime="{_e(rfc3339(moment))}"><span class="day">{_e(format_date_short_nl(moment))}'
        f'</span> <span class="clock">{local:%H:%M}</span></time>'
    )


def _header_html(report: AccessReport) -> str:
    return f"""<header class="page-header">
<p class="sender">Meerpunt Zoetermeer</p>
<h1>{_e(REPORT_TITLE)}</h1>
<dl class="meta">
<div><dt>Over</dt><dd>{_e(report.subject_label)}</dd></div>
<div><dt>Aangevraagd door</dt><dd>{_e(report.requested_by_label)}</dd></div>
<div><dt>Verzoek ontvangen op</dt><dd>{time_html(report.received_at)}</dd></div>
<div><dt>Besluit genomen op</dt><dd>{time_html(report.decided_at)}</dd></div>
<div><dt>Kenmerk</dt><dd>{_e(report.request_id)}</dd></div>
</dl>
</header>"""


def _intro_html(report: AccessReport) -> str:
    restricted = ""
    if report.restricted:
        restricted = (
            '<p class="notice"><strong>Beperking van kracht.</strong> Voor uw gegevens geldt op dit moment '
            "een beperking van de verwerking (artikel 14). Uw gegevens worden bewaard, maar alleen in "
            "uitzonderlijke gevallen gedeeld.</p>"
        )
    return f"""<section aria-labelledby="over-titel">
<h2 id="over-titel">Over dit overzicht</h2>
<p>U vroeg welke gegevens over u via Meerpunt zijn gedeeld. In dit overzicht staat welke organisatie
welke gegevens aan wie heeft gegeven, wanneer, waarom en op welke grond. Ook staat erin welke
toestemming u hebt gegeven en welke rechten u heeft (artikel 10 lid 4 van het Privacyreglement
Meerpunt).</p>
<p>Hebt u dit overzicht als ouder of voogd aangevraagd? Dan gaat het over uw kind waar hier
&lsquo;u&rsquo; staat.</p>
<p>Wilt u weten welke gegevens een organisatie zelf over u bewaart? Vraag dat aan die organisatie
(artikel 9 lid 2).</p>
{restricted}
</section>"""


_DISCLOSURE_COLUMNS = ("Datum", "Van", "Aan", "Welke gegevens", "Waarom", "Grondslag", "Ontvangen/bevestigd")


def _disclosures_html(report: AccessReport) -> str:
    lines = [
        '<section aria-labelledby="verstrekkingen-titel">',
        '<h2 id="verstrekkingen-titel">Aan wie zijn uw gegevens gegeven?</h2>',
    ]
    if report.withheld_count:
        lines.append(_withheld_html(report))
    if not report.disclosures:
        lines.append(f'<p class="empty">{_e(NO_DISCLOSURES_TEXT)}</p>')
    else:
        count = len(report.disclosures)
        header = "".join(f'<th scope="col">{_e(c)}</th>' for c in _DISCLOSURE_COLUMNS)
        lines += [
            '<div class="table-wrap" role="region" aria-labelledby="verstrekkingen-caption" tabindex="0">',
            '<table class="disclosures">',
            f'<caption id="verstrekkingen-caption">Verstrekkingen, nieuwste eerst ({count})</caption>',
            f"<thead><tr>{header}</tr></thead>",
            "<tbody>",
            *(_disclosure_row(d) for d in report.disclosures),
            "</tbody>",
            "</table>",
            "</div>",
            '<p class="hint"><strong>Ontvangen/bevestigd</strong> betekent dat de ontvangende organisatie '
            "heeft laten weten dat zij de gegevens heeft ontvangen (artikel 8 lid 2).</p>",
        ]
    lines.append("</section>")
    return "\n".join(lines)


def _withheld_html(report: AccessReport) -> str:
    n = report.withheld_count
    what = "1 verstrekking" if n == 1 else f"{n} verstrekkingen"
    return (
        '<p class="notice withheld">Een deel van de gegevens is niet opgenomen in dit overzicht '
        f"({_e(what)}). Dat is gedaan op grond van {_e(withheld_ground_label(report.withheld_ground))}. "
        "U kunt hierover een klacht indienen bij de Autoriteit Persoonsgegevens.</p>"
    )


def _categories_html(categories: Iterable[LabelledCategory]) -> str:
    items = "".join(f"<li>{_e(c.label)}</li>" for c in categories)
    return f'<ul class="categories">{items}</ul>'


def _disclosure_row(d: ReportDisclosure) -> str:
    why = f"<p>{_e(d.reason)}</p>"
    if d.is_correction:
        why = f'<p class="kind">{_e(CORRECTION_LABEL)}</p>{why}'
    if d.description:
        why += f'<p class="description">{_e(d.description)}</p>'
    if d.acknowledged and d.acknowledged_at:
        ack = f"Ja, op {time_html(d.acknowledged_at)}"
    elif d.erased_at is not None:
        ack = f'<span class="erased">{_e(d.delivery_label)}</span>'
    else:
        ack = _e(d.delivery_label)
    cells = (
        _table_time(d.occurred_at),
        _e(d.sender.name),
        _e(d.recipient.name),
        _categories_html(d.categories),
        why,
        _e(d.legal_basis.label),
        ack,
    )
    classes = ("date", "", "", "", "", "", "")
    return (
        "<tr>"
        + "".join(
            f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>"
            for cls, cell in zip(classes, cells, strict=True)
        )
        + "</tr>"
    )


def _consents_html(report: AccessReport) -> str:
    lines = [
        '<section aria-labelledby="toestemmingen-titel">',
        '<h2 id="toestemmingen-titel">Uw toestemmingen</h2>',
    ]
    if not report.consents:
        lines.append('<p class="empty">Er is via Meerpunt geen toestemming van u vastgelegd.</p>')
    else:
        lines.append(
            "<p>Een toestemming geldt per organisatie en per soort gegevens, hooguit één jaar. U kunt haar "
            "altijd schriftelijk intrekken; wat daarvoor al gedeeld is, blijft rechtmatig.</p>"
        )
        lines += [_consent_html(c, i) for i, c in enumerate(report.consents, start=1)]
    lines.append("</section>")
    return "\n".join(lines)


_GRANT_COLUMNS = ("Aan", "Welke gegevens", "Doel", "Uw keuze")


def _consent_html(c: ReportConsent, index: int) -> str:
    withdrawn = ""
    if c.withdrawn_at is not None:
        withdrawn = f"<div><dt>Ingetrokken op</dt><dd>{time_html(c.withdrawn_at)}</dd></div>"
    rows = "\n".join(
        "<tr>"
        f"<td>{_e(g.recipient.name)}</td>"
        f"<td>{_categories_html(g.categories)}</td>"
        f"<td>{_e(g.purpose)}</td>"
        f"<td>{_e(g.status_label)}</td>"
        "</tr>"
        for g in c.grants
    )
    header = "".join(f'<th scope="col">{_e(col)}</th>' for col in _GRANT_COLUMNS)
    heading_id = f"toestemming-{index}"
    return f"""<article class="consent" aria-labelledby="{heading_id}">
<h3 id="{heading_id}">Toestemming vastgelegd door {_e(c.obtained_by.name)}</h3>
<p class="status status-{_e(c.status)}">Status: <strong>{_e(c.status_label)}</strong></p>
<dl class="meta">
<div><dt>Vorm</dt><dd>{_e(c.form_label)}</dd></div>
<div><dt>Gegeven op</dt><dd>{time_html(c.given_at)}</dd></div>
<div><dt>Geldig tot</dt><dd>{time_html(c.valid_until)}</dd></div>
{withdrawn}
</dl>
<div class="table-wrap">
<table class="grants">
<caption>Waarvoor deze toestemming geldt</caption>
<thead><tr>{header}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
</div>
</article>"""


def _rights_html(report: AccessReport) -> str:
    items = "\n".join(
        f'<li><h3>{_e(r.title)} <span class="article">({_e(r.article)})</span></h3>'
        f"<p>{_e(r.description)}</p></li>"
        for r in report.rights
    )
    return f"""<section aria-labelledby="rechten-titel">
<h2 id="rechten-titel">Uw rechten</h2>
<p>U kunt de volgende rechten gebruiken bij de organisatie die uw gegevens verwerkt. Met vragen kunt u
ook terecht bij de organisatie die u hulp geeft (artikel 9).</p>
<ul class="rights">
{items}
</ul>
<p>{_e(RESPONSE_PERIOD_TEXT)}</p>
<p>Is het kind jonger dan 12 jaar, dan gebruikt de ouder met gezag of de voogd deze rechten. Van 12 tot
16 jaar doen het kind en de ouder of voogd dat samen; vanaf 16 jaar doet het kind dat zelf
(artikel 16).</p>
</section>"""


def _footer_html(report: AccessReport) -> str:
    return f"""<footer class="page-footer">
<p>Opgesteld op {time_html(report.generated_at)} &middot; kenmerk {_e(report.request_id)} &middot;
Privacyreglement Meerpunt, artikel 10.</p>
</footer>"""


# Contrast: body text #1a1a1a and accent #003a63 on white are both above 10:1 (WCAG AAA).
_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Segoe UI", Roboto, Arial, sans-serif; font-size: 1.0625rem;
  line-height: 1.5; color: #1a1a1a; background: #ffffff; }
.page-header, main, .page-footer { max-width: 72rem; margin: 0 auto; padding: 0 1.25rem; }
.skip-link { position: absolute; left: 0.5rem; top: -3rem; padding: 0.5rem 0.75rem; background: #003a63;
  color: #ffffff; font-weight: 600; z-index: 1; }
.skip-link:focus { top: 0.5rem; outline: 3px solid #8a4b00; }
main:focus { outline: none; }
td.date { white-space: nowrap; }
td.date .day, td.date .clock { display: block; }
td.date .clock { color: #3d3d3d; }
.erased { font-weight: 600; color: #8a1c1c; }
.letter p { max-width: 44rem; }
.letter .ground { padding: 0.75rem 1rem; border-left: 6px solid #003a63; background: #f4f6f8; }
.page-header { padding-top: 1.5rem; padding-bottom: 1rem; border-bottom: 4px solid #003a63; }
.sender { margin: 0; font-weight: 600; color: #003a63; }
h1 { margin: 0.25rem 0 1rem; font-size: 1.9rem; line-height: 1.2; color: #003a63; }
h2 { margin: 2rem 0 0.75rem; font-size: 1.4rem; color: #003a63; border-bottom: 1px solid #c8c8c8; }
h3 { margin: 1rem 0 0.25rem; font-size: 1.1rem; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0.5rem 1.5rem;
  margin: 0; }
dl.meta div { margin: 0; }
dt { font-size: 0.9rem; color: #4a4a4a; }
dd { margin: 0; font-weight: 600; }
.notice { padding: 0.75rem 1rem; border-left: 6px solid #8a4b00; background: #fff4e5; }
.empty { padding: 0.75rem 1rem; border: 1px solid #c8c8c8; background: #f4f6f8; font-weight: 600; }
.hint { font-size: 0.95rem; color: #3d3d3d; }
.table-wrap { overflow-x: auto; }
.table-wrap:focus { outline: 3px solid #003a63; outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem 0.6rem; border: 1px solid #c8c8c8; }
th { background: #e8eef3; color: #1a1a1a; }
tbody tr:nth-child(even) { background: #f7f9fa; }
td p { margin: 0 0 0.35rem; }
td p:last-child { margin-bottom: 0; }
.description { color: #3d3d3d; }
.kind { font-weight: 700; color: #8a4b00; }
ul.categories { margin: 0; padding-left: 1.1rem; }
.consent { margin: 1rem 0 1.5rem; padding: 0.75rem 1rem 1rem; border: 1px solid #c8c8c8; }
.consent h3 { margin-top: 0; }
.status { margin: 0 0 0.5rem; }
.status strong { padding: 0.1rem 0.5rem; border: 1px solid currentColor; }
.status-active strong { color: #0b5d1e; }
.status-expired strong, .status-not_yet_valid strong { color: #4a4a4a; }
.status-withdrawn strong, .status-partially_withdrawn strong { color: #8a1c1c; }
ul.rights { padding-left: 0; list-style: none; }
ul.rights li { margin-bottom: 0.75rem; }
ul.rights h3 { margin-bottom: 0.1rem; }
ul.rights p { margin: 0; }
.article { font-weight: 400; color: #4a4a4a; }
.page-footer { margin-top: 2rem; padding-top: 0.75rem; padding-bottom: 2rem; border-top: 1px solid #c8c8c8;
  font-size: 0.9rem; color: #3d3d3d; }
@media print {
  @page { size: A4; margin: 15mm 12mm; }
  body { font-size: 10pt; }
  .skip-link { display: none; }
  table { font-size: 9pt; }
  th, td { padding: 0.25rem 0.35rem; }
  .page-header, main, .page-footer { max-width: none; padding: 0; }
  h1, h2, .sender { color: #000000; }
  .table-wrap { overflow: visible; }
  thead { display: table-header-group; }
  tr, .consent, ul.rights li { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  tbody tr:nth-child(even), th, .notice, .empty { background: none; }
}
"""
