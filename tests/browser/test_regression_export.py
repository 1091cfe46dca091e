"""Export a disagreement between the labeller and a gold label as a regression case, with
the keyboard only: from the curation item after a save (undo) and from the list page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from labeling.curation.item import report_token
from labeling.curation.services import save_decisions
from labeling.regression_cases import FORMAT, problems
from tests.factories import make_user
from tests.labeling.curation_helpers import decisions, labelled_report

pytestmark = pytest.mark.browser

TEXT = "FINDINGS:\nL3-4: Normal.\nL4-5: Broad-based disc protrusion.\nIt indents the thecal sac."


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0


def _tab_to(page, starts: str, limit: int = 80) -> str:
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate("() => document.activeElement.textContent.trim()")
        if name.startswith(starts):
            return name
    raise AssertionError(f"{starts!r} is not reachable with Tab")


def _download_json(page) -> dict:
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    return json.loads(Path(info.value.path()).read_text())


def test_export_from_the_curation_item_with_the_keyboard(page, sign_in, transactional_db):
    report = labelled_report(text=TEXT, L4_L5={"disc": "bulge"})
    user = sign_in("annotator")
    page.goto("/labeling/curate/")
    expect(page.locator("[data-curation]")).to_have_attribute("data-report", str(report.pk))
    expect(page.locator("html")).to_have_attribute("data-curation-keys", "ready")
    expect(page.locator("[data-item-disagreements]")).to_have_count(0)  # nothing saved yet
    for key in ["j", "j", "j", "d"]:  # L4-L5: bulge -> herniation
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    page.keyboard.press("z")  # reopen the saved report: its gold labels and the proposal
    expect(page.locator("[data-curation]")).to_have_attribute("data-report", str(report.pk))
    section = page.locator("[data-item-disagreements]")
    expect(section).to_contain_text("herniation")
    expect(section.locator("[data-export-case]")).to_have_count(1)

    assert (
        _tab_to(page, "Export as regression case")
        == f"Export as regression case: report {report.pk} L4-L5 disc"
    )
    case = _download_json(page)
    assert problems(case) == [] and case["format"] == FORMAT
    assert (case["level"], case["field"], case["gold"], case["labeller"]) == (
        "L4-L5",
        "disc",
        "herniation",
        "bulge",
    )
    assert case["author"] == user.username and case["labeller_version"] == "rules-test"
    assert "L4-5: Broad-based disc protrusion." in case["text"]
    # Enter on the link downloaded: it did not save the form (still the same report open).
    expect(page.locator("[data-curation]")).to_have_attribute("data-report", str(report.pk))


def test_export_from_the_disagreements_page_with_the_keyboard(page, sign_in, transactional_db):
    report = labelled_report(text=TEXT)
    save_decisions(
        author=make_user("annotator", username="ann"),
        report_id=report.pk,
        token=report_token(report.pk),
        decisions=decisions(L4_L5={"canal_stenosis": "moderate"}),
    )
    sign_in("researcher")
    page.goto("/labeling/progress/")
    _tab_to(page, "Disagreements, to export")
    page.keyboard.press("Enter")
    page.wait_for_url("**/labeling/disagreements/")
    expect(page.get_by_role("heading", level=2)).to_contain_text("1 disagreement")
    expect(page.locator("[data-disagreements] tbody tr")).to_contain_text("moderate")
    _tab_to(page, "Export as regression case")
    case = _download_json(page)
    assert (case["field"], case["gold"], case["labeller"], case["author"]) == (
        "canal_stenosis",
        "moderate",
        "none",
        "ann",
    )
