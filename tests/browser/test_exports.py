"""Export page: reach the downloads with the keyboard and get the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from reports.models import AuditEvent
from tests.factories import make_user
from tests.reports.export_data import IMPRESSION, draft, pdf_text, signed_version

pytestmark = pytest.mark.browser


def _tab_to(page, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_download_pdf_and_fhir_with_the_keyboard(page, sign_in):
    version = signed_version(signer=make_user("radiologist"))
    sign_in("annotator")
    page.goto(f"/reports/exports/{version.pk}/")
    expect(page.locator("h1")).to_contain_text("version 1")
    expect(page.locator("[data-exports] a")).to_have_count(3)

    _tab_to(page, "PDF report")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == f"radbot-report-{version.report.study.accession}-v1.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-") and IMPRESSION in pdf_text(data)

    _tab_to(page, "FHIR R4 DiagnosticReport")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    bundle = json.loads(Path(info.value.path()).read_text())
    assert (
        bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["status"] == "final"
    )
    assert sorted(
        AuditEvent.objects.filter(action="export").values_list("detail__format", flat=True)
    ) == ["fhir", "pdf"]


def test_a_preliminary_version_explains_why_nothing_can_be_downloaded(page, sign_in):
    preliminary = draft()
    sign_in("radiologist")
    response = page.goto(f"/reports/exports/{preliminary.pk}/")
    assert response.status == 409
    expect(page.get_by_role("alert")).to_contain_text(
        "only signed (final or amended) versions can be exported"
    )
    expect(page.locator("[data-exports]")).to_have_count(0)
