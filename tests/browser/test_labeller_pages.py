"""The labeller page (start a run, watch it finish), labels on the study page, the guide."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def reported_study(transactional_db):
    return ReportFactory(
        study=StudyFactory(),
        text="FINDINGS:\nL4-5: Right paracentral disc protrusion compressing the thecal sac.\n"
        "The remaining levels are normal.",
        text_sha256="t1",
    ).study


def test_run_the_labeller_and_see_labels_on_the_study(page, sign_in, reported_study):
    sign_in("researcher")
    page.goto("/labeling/")
    expect(page.locator("main")).to_contain_text("1 report not yet labelled")
    button = page.get_by_role("button", name="Label 1 report")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("tr[data-run] .badge")).to_have_text("done")
    expect(page.locator("tr[data-run]")).to_contain_text("1 / 1")
    page.goto(f"/studies/{reported_study.study_instance_uid}/")
    row = page.locator(".labels-table tbody tr", has_text="L4-L5")
    expect(row).to_contain_text("herniation")
    expect(row).to_contain_text("unspecified")
    expect(page.locator("[data-report-text] mark").first).to_be_visible()


def test_annotator_cannot_start_a_run_but_sees_the_page(page, sign_in, reported_study):
    sign_in("annotator")
    page.goto("/labeling/")
    expect(page.locator("main")).to_contain_text("not yet labelled")
    expect(page.get_by_role("button", name="Label 1 report")).to_have_count(0)


def test_guide_page_with_keyboard_navigation(page, sign_in):
    sign_in("annotator")
    page.goto("/labeling/guide/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Labelling guide")
    expect(page.locator("#examples + table")).to_contain_text(
        "Possible small left paracentral protrusion"
    )
    page.get_by_role("link", name="Worked examples").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#examples$"))  # (waits for the jump)


def test_guide_page_follows_guide_v1_2(page, sign_in):
    sign_in("annotator")
    page.goto("/labeling/guide/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("follows guide v1.2")
    # v1.2 rules, reached from the table of contents with the keyboard.
    page.get_by_role("link", name="Nerve roots").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#roots$"))
    roots = page.locator("#roots + ul")
    expect(roots).to_be_visible()
    expect(roots).to_contain_text("At L5-S1: exiting L5, traversing S1")
    expect(page.locator("#levels + p + ul")).to_contain_text("anterolisthesis of L5 on S1")
    expect(page.locator("#sentences + ul")).to_contain_text("Multilevel")
    expect(page.locator("#assertion + ul")).to_contain_text("“May”, “might”, “could”")
    expect(page.locator("#examples + table")).to_contain_text(
        "Epidural lipomatosis narrows the thecal sac."
    )
