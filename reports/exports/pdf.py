"""A printable PDF of a signed report (reportlab, A4, standard fonts)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.exports.document import PRODUCT, ExportableReport, disclosure
from spine.findings import DETECTORS

CONTENT_TYPE = "application/pdf"
_SEX = {"F": "female", "M": "male", "O": "other"}
_PROBABILITY_COLUMNS = tuple((finding.key, finding.short_label) for finding in DETECTORS)


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "body", parent=base["Normal"], fontName="Helvetica", fontSize=10, leading=13
    )
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=19
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=11.5,
            leading=15,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=12),
        "head": ParagraphStyle(
            "head", parent=body, fontName="Helvetica-Bold", fontSize=9.5, leading=12
        ),
        "small": ParagraphStyle(
            "small", parent=body, fontSize=8, leading=10, textColor=colors.HexColor("#444444")
        ),
        "banner": ParagraphStyle(
            "banner", parent=body, fontName="Helvetica-Bold", textColor=colors.HexColor("#8a1c1c")
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
    ]
)


def build_pdf(report: ExportableReport, *, compress: bool = True, invariant: bool = False) -> bytes:
    """The report as PDF bytes. ``invariant`` pins dates and ids (byte-identical output)."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=f"{PRODUCT} MR lumbar spine report, version {report.version_number}",
        author=report.signer_name,
        subject=f"Study {report.study_instance_uid}",
        creator=PRODUCT,
        invariant=int(invariant),
        pageCompression=int(compress),
    )
    width = doc.width
    story: list = [_p(f"{PRODUCT} - MR lumbar spine report", styles["title"]), Spacer(1, 4 * mm)]
    if report.superseded_by:
        story += [
            _p(f"Superseded: version {report.superseded_by} amends this report.", styles["banner"]),
            Spacer(1, 2 * mm),
        ]

    patient = report.patient_pseudonym
    extras = [
        x
        for x in (
            _SEX.get(report.patient_sex, ""),
            # ages over 89 are stored as 90 (studies.dicom.deid.cap_age) and mean "90 or older"
            f"{'90+' if report.patient_age_years >= 90 else report.patient_age_years} y"
            if report.patient_age_years is not None
            else "",
        )
        if x
    ]
    if extras:
        patient += f" ({', '.join(extras)})"
    header_rows = [
        ("Patient (pseudonym)", patient),
        ("Accession", report.accession or "-"),
        ("Study date", report.study_date.isoformat() if report.study_date else "-"),
        ("Study", report.study_description or "MR lumbar spine"),
        ("Study UID", report.study_instance_uid),
    ]
    header = Table(
        [[_p(k, styles["cell"]), _p(v, styles["cell"])] for k, v in header_rows],
        colWidths=[40 * mm, width - 40 * mm],
    )
    header.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#666666")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [header, _p("Findings", styles["h2"])]

    rows = [[_p("Level", styles["head"]), _p("Finding", styles["head"])]]
    rows += [
        [_p(level, styles["cell"]), _p(text, styles["cell"])] for level, text in report.findings
    ]
    findings = Table(rows, colWidths=[22 * mm, width - 22 * mm], repeatRows=1)
    findings.setStyle(_GRID)
    story += [findings, _p("Impression", styles["h2"]), _p(report.impression, styles["body"])]
    if report.amendment_reason:
        story += [
            _p("Reason for amendment", styles["h2"]),
            _p(report.amendment_reason, styles["body"]),
        ]

    story += _model_table(report, styles, width)

    signature_rows = [
        ("Signed by", report.signer_name),
        ("Signed at", report.signed_at.strftime("%Y-%m-%d %H:%M %Z").strip()),
        ("Status", report.status),
        ("Version", str(report.version_number)),
        ("SHA-256", f"{report.content_sha256[:16]}... (of the signed content)"),
    ]
    signature = Table(
        [[_p(k, styles["cell"]), _p(v, styles["cell"])] for k, v in signature_rows],
        colWidths=[40 * mm, width - 40 * mm],
    )
    signature.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#666666")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(
        KeepTogether(
            [
                _p("Signature", styles["h2"]),
                signature,
                Spacer(1, 3 * mm),
                _p(disclosure(report), styles["body"]),
                _p(
                    f"Model version: {report.model_version_name or 'not recorded'}.",
                    styles["small"],
                ),
            ]
        )
    )

    def _page(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        top = A4[1] - 12 * mm
        canvas.drawString(
            18 * mm, top, f"{PRODUCT} | {report.patient_pseudonym} | {report.accession or '-'}"
        )
        canvas.drawRightString(
            A4[0] - 18 * mm, top, f"Version {report.version_number} ({report.status})"
        )
        canvas.drawString(
            18 * mm, 10 * mm, "AI-assisted report. Not valid without the signature above."
        )
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=_page, onLaterPages=_page)
    return buffer.getvalue()


def _model_table(report: ExportableReport, styles: dict[str, ParagraphStyle], width: float) -> list:
    levels = [
        lv for lv in report.levels if lv in report.ap_diameters_mm or lv in report.probabilities
    ]
    if not levels:
        return []
    head = ["Level", "Canal AP (mm)", *(label for _, label in _PROBABILITY_COLUMNS)]
    rows: list[list[str]] = [head]
    for level in levels:
        ap = report.ap_diameters_mm.get(level)
        probs = report.probabilities.get(level, {})
        rows.append(
            [
                level,
                f"{ap:.1f}" if ap is not None else "-",
                *(f"{probs[key]:.2f}" if key in probs else "-" for key, _ in _PROBABILITY_COLUMNS),
            ]
        )
    first = 22 * mm
    table = Table(rows, colWidths=[first] + [(width - first) / (len(head) - 1)] * (len(head) - 1))
    table.setStyle(_GRID)
    return [
        _p("Image model output", styles["h2"]),
        _p(
            "Measurements and probabilities from the image models; not part of the signed text.",
            styles["small"],
        ),
        Spacer(1, 2 * mm),
        table,
    ]
