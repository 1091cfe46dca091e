"""The printable PDF: a real PDF whose pages carry the signed words and the signature."""

from __future__ import annotations

import re

import pytest

from reports.exports.document import NotExportableError
from reports.exports.pdf import build_pdf
from tests.reports.export_data import IMPRESSION, pdf_text, sample_report


def _pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


def test_the_pdf_shows_header_findings_impression_and_signature():
    report = sample_report()
    data = build_pdf(report)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    assert IMPRESSION in text
    assert "Ada Lovelace" in text
    for expected in (
        "RadBot Web",
        report.accession,
        report.patient_pseudonym,
        "2023-05-17",
        "L4-L5",
        "Disc herniation with moderate canal stenosis",
        "AI-generated draft edited and signed by Ada Lovelace.",
        "radbot-test-model",
        report.content_sha256[:16],
        "final",
    ):
        assert expected in text, expected
    assert "8.7" in text and "0.93" in text  # the model's AP diameter and probability
    assert report.content_sha256 not in text  # a prefix is printed, not the whole digest
    assert _pages(data) == 1


def test_uncompressed_invariant_output_is_reproducible_and_readable_as_is():
    report = sample_report(impression="Moderate canal stenosis at L4-L5.")
    first = build_pdf(report, compress=False, invariant=True)
    assert first == build_pdf(report, compress=False, invariant=True)
    assert b"(Moderate canal stenosis at L4-L5.) Tj" in first
    assert b"Ada Lovelace" in first
    assert (
        build_pdf(sample_report(impression="Other words."), compress=False, invariant=True) != first
    )


def test_an_unedited_draft_says_so_and_an_amendment_gives_its_reason():
    text = pdf_text(
        build_pdf(
            sample_report(
                edited=False,
                status="amended",
                amendment_reason="Wrong level named.",
                version_number=2,
                superseded_by=3,
            )
        )
    )
    assert "AI-generated draft reviewed and signed without edits by Ada Lovelace." in text
    assert "edited and signed" not in text
    assert "Wrong level named." in text and "amended" in text
    assert "Superseded: version 3 amends this report." in text


def test_a_long_report_stays_within_two_pages():
    long_findings = tuple(
        (level, "Broad-based disc bulge with facet and ligamentum flavum hypertrophy. " * 4)
        for level in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
    )
    data = build_pdf(sample_report(findings=long_findings, impression="Multilevel change. " * 10))
    assert 1 <= _pages(data) <= 2


def test_without_model_output_the_table_is_left_out():
    text = pdf_text(
        build_pdf(sample_report(probabilities={}, ap_diameters_mm={}, model_version_name=""))
    )
    assert "Image model output" not in text
    assert "Model version: not recorded." in text


def test_a_preliminary_version_is_not_exportable():
    with pytest.raises(NotExportableError, match="only signed"):
        sample_report(status="preliminary")
