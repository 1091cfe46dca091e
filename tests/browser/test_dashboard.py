"""The agreement dashboard in the browser: a researcher opens it, switches the reference
and compares a second model version with the keyboard, and downloads the CSV."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.reports.dashboard_factories import (
    gold_label,
    levels_of,
    model_version,
    nlp_label,
    predict,
    study_with_report,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def compared(transactional_db):
    """Two model versions over six studies; NLP labels on all, gold labels on three."""
    first, second = model_version("resnet-a"), model_version("resnet-b")
    for i in range(6):
        study, report = study_with_report()
        truth = levels_of(
            L4_L5={"disc": "bulge"} if i % 2 else {"disc": "herniation", "canal_stenosis": "mild"}
        )
        predict(study, first, truth)
        predict(study, second, levels_of(L4_L5={"disc": "bulge"}))
        nlp_label(report, levels_of(L4_L5={"disc": "bulge"}))
        if i < 3:
            gold_label(report, truth)
    return first, second


def _press(page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_researcher_switches_reference_and_exports_csv(page, sign_in, compared):
    first, second = compared
    sign_in("researcher")
    page.goto("/reports/agreement/")
    table = page.locator(f'table[data-table2="{second.pk}"]')  # the newest version comes first
    expect(table.locator("caption")).to_contain_text("gold labels")
    expect(table.locator('tr[data-detector="bulging"] td').first).to_have_text(
        "15"
    )  # 3 gold reports x 5
    expect(page.locator('[data-chart="metric-kappa"] svg')).to_be_visible()
    grades = page.locator(f'table[data-grades="{second.pk}"]')
    expect(grades.locator("tr[data-grade-field]")).to_have_count(3)
    expect(grades.locator('tr[data-grade-field="canal_stenosis"] td').first).to_have_text("15")

    # Reference: arrow keys move within the radio group; Tab reaches "Show".
    page.get_by_label("Gold labels (curated by annotators)").focus()
    _press(page, "ArrowDown")
    expect(page.get_by_label("NLP labels of the radiologists' reports")).to_be_checked()
    _press(page, "Tab")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    _press(page, "Enter")
    page.wait_for_url("**reference=nlp**")
    expect(table.locator("caption")).to_contain_text("NLP labels")
    expect(table.locator('tr[data-detector="bulging"] td').first).to_have_text("30")

    # A second version side by side, chosen from the keyboard.
    page.locator("#model-2").focus()
    _press(page, "ArrowDown", 2)  # "—", then the two versions: the second entry is the older one
    expect(page.locator("#model-2")).to_have_value(str(first.pk))
    page.get_by_role("button", name="Show").focus()
    _press(page, "Enter")
    expect(page.locator("[data-model]")).to_have_count(2)
    expect(page.locator(f'table[data-table2="{first.pk}"] caption')).to_contain_text("resnet-a")

    link = page.get_by_role("link", name="Export CSV")
    link.focus()
    with page.expect_download() as info:
        _press(page, "Enter")
    download = info.value
    assert download.suggested_filename == "agreement-nlp-resnet-b_resnet-a.csv"
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    herniation = {
        (r["model_version"], r["metric"]): r
        for r in rows
        if r["section"] == "detector" and r["item"] == "herniation"
    }
    # NLP says bulge at every L4-L5; resnet-a calls three of them herniation: 3 false positives.
    assert herniation[("resnet-a", "fp")]["value"] == "3"
    assert herniation[("resnet-b", "fp")]["value"] == "0"
    assert {r["reference"] for r in rows if r["section"] == "detector"} == {"nlp"}


def test_annotator_is_refused(page, sign_in, compared):
    sign_in("annotator")
    response = page.goto("/reports/agreement/")
    assert response.status == 403
