"""The released report as a PDF (art. 10.4: a written answer the citizen can keep), with fpdf2.

fpdf2 is pure Python (no system libraries) and well kept. The PDF carries the same content as
the page: the disclosures with their Dutch category labels, the consents and the rights. The core
fonts are Latin-1: text outside it (dashes, quotes) is mapped to its nearest Latin-1 form.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from audit.access_report import RESPONSE_PERIOD_TEXT, AccessReport, format_date_nl, format_datetime_nl

_REPLACEMENTS = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "\u00a0": " ", "•": "-"}
)


def _latin1(text: str) -> str:
    return text.translate(_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


class _Report(FPDF):
    def __init__(self, report: AccessReport) -> None:
        super().__init__(format="A4")
        self.report = report
        self.set_title(_latin1("Overzicht van verstrekte gegevens"))
        self.set_author("Meerpunt Zoetermeer")
        self.set_lang("nl")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Helvetica", size=8)
        self.set_text_color(80, 80, 80)
        self.cell(
            0,
            5,
            _latin1(f"Kenmerk {self.report.request_id} - pagina {self.page_no()}/{{nb}}"),
            align="C",
        )

    def heading(self, text: str, size: int = 14) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", size)
        self.set_text_color(0, 58, 99)
        self.multi_cell(0, size * 0.5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(26, 26, 26)
        self.ln(1)

    def text_block(self, text: str, *, bold: bool = False, size: int = 10) -> None:
        self.set_font("Helvetica", "B" if bold else "", size)
        self.multi_cell(0, 5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pair(self, label: str, value: str) -> None:
        self.set_font("Helvetica", "B", 10)
        self.cell(50, 6, _latin1(label))
        self.set_font("Helvetica", "", 10)
        self.multi_cell(0, 6, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_report_pdf(report: AccessReport) -> bytes:
    pdf = _Report(report)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, "Meerpunt Zoetermeer", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.heading("Overzicht van verstrekte gegevens", 18)
    pdf.pair("Over", report.subject_label)
    pdf.pair("Aangevraagd door", report.requested_by_label)
    pdf.pair("Verzoek ontvangen op", format_datetime_nl(report.received_at))
    pdf.pair("Besluit genomen op", format_datetime_nl(report.decided_at))
    pdf.pair("Kenmerk", report.request_id)
    if report.restricted:
        pdf.ln(2)
        pdf.text_block(
            "Beperking van kracht: voor deze gegevens geldt een beperking van de verwerking (artikel 14).",
            bold=True,
        )
    pdf.heading("Aan wie zijn de gegevens gegeven?")
    if report.withheld_count:
        pdf.text_block(
            f"Een deel van de gegevens is niet opgenomen ({report.withheld_count} verstrekking(en)), op "
            "grond van artikel 10 lid 6. U kunt hierover een klacht indienen bij de Autoriteit "
            "Persoonsgegevens."
        )
    if not report.disclosures:
        pdf.text_block("Er zijn via Meerpunt geen gegevens verstrekt.")
    for number, d in enumerate(report.disclosures, start=1):
        pdf.ln(2)
        kind = "Correctie doorgegeven" if d.is_correction else "Verstrekking"
        pdf.text_block(f"{number}. {kind} op {format_datetime_nl(d.occurred_at)}", bold=True, size=11)
        pdf.pair("Van", d.sender.name)
        pdf.pair("Aan", d.recipient.name)
        pdf.pair("Welke gegevens", "; ".join(c.label for c in d.categories))
        pdf.pair("Waarom", d.reason + (f" ({d.description})" if d.description else ""))
        pdf.pair("Grondslag", d.legal_basis.label)
        pdf.pair("Ontvangen", d.delivery_label)
    pdf.heading("Toestemmingen")
    if not report.consents:
        pdf.text_block("Er is via Meerpunt geen toestemming vastgelegd.")
    for c in report.consents:
        pdf.ln(1)
        pdf.text_block(f"Toestemming vastgelegd door {c.obtained_by.name}: {c.status_label}", bold=True)
        pdf.pair("Vorm", c.form_label)
        pdf.pair("Gegeven op", format_date_nl(c.given_at))
        pdf.pair("Geldig tot", format_date_nl(c.valid_until))
        for g in c.grants:
            pdf.text_block(
                f"- {g.recipient.name}: {'; '.join(x.label for x in g.categories)} ({g.purpose}) - "
                f"{g.status_label}"
            )
    pdf.heading("Uw rechten")
    for right in report.rights:
        pdf.text_block(f"{right.title} ({right.article})", bold=True)
        pdf.text_block(right.description)
        pdf.ln(1)
    pdf.text_block(RESPONSE_PERIOD_TEXT)
    pdf.ln(2)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(
        0,
        4,
        _latin1(
            f"Opgesteld op {format_datetime_nl(report.generated_at)}. Privacyreglement Meerpunt, artikel 10."
        ),
    )
    return bytes(pdf.output())
