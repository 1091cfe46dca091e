"""Sign in, find a study, open it and read it with the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studies.services.ingest import ingest_paths
from tests.studies.batch import sagittal_series, write_files

pytestmark = pytest.mark.browser


@pytest.fixture
def two_studies(transactional_db, tmp_path):
    write_files(tmp_path / "a", sagittal_series(5, patient_id="MRN-A"))
    write_files(tmp_path / "b", sagittal_series(3, patient_id="MRN-B"))
    ingest_paths(paths=[tmp_path])
    from studies.models import Study

    return list(Study.objects.select_related("patient").order_by("id"))


def test_login_open_study_and_scroll_slices_with_keyboard(page, sign_in, two_studies):
    sign_in("annotator")
    expect(page.locator("table.grid tbody tr")).to_have_count(2)
    target = two_studies[0]
    # "/" focuses search; typing filters the list in place (htmx).
    page.keyboard.press("/")
    page.keyboard.type(target.patient.pseudonym)
    expect(page.locator("table.grid tbody tr")).to_have_count(1)
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/studies/{target.study_instance_uid}/")
    viewer = page.locator("[data-viewer]")
    expect(viewer).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-slice-label]")).to_contain_text("Slice 3 / 5")
    viewer.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("[data-slice-label]")).to_contain_text("Slice 4 / 5")
    page.keyboard.press("Home")
    expect(page.locator("[data-slice-label]")).to_contain_text("Slice 1 / 5")
    before = page.locator("[data-wl-label]").inner_text()
    page.keyboard.press("ArrowRight")
    expect(page.locator("[data-wl-label]")).not_to_have_text(before)
    # The canvas shows pixels, not a blank frame.
    lit = page.evaluate(
        """() => { const c = document.querySelector('[data-viewer] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert lit > 0


def test_help_dialog_opens_with_question_mark(page, sign_in, two_studies):
    sign_in("radiologist")
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help-dialog")).not_to_be_visible()


def test_wrong_password_shows_an_error(page, transactional_db):
    page.goto("/login/")
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong-password")
    page.keyboard.press("Enter")
    expect(page.locator("[role=alert]")).to_be_visible()


def test_empty_archive_has_a_helpful_empty_state(page, sign_in):
    sign_in("researcher")
    expect(page.locator(".empty-state")).to_contain_text("No studies yet")
    expect(page.locator(".empty-state a")).to_have_text("Upload DICOM files")


def test_the_study_page_says_why_the_ai_did_not_assess_a_level(page, sign_in, two_studies):
    """A partial AI reading: the levels it named with their confidence, and the reason for the other."""
    from inference.models import InferenceJob
    from tests.reports.review_helpers import done_job

    reason = "no disc found above L2-L3 (outside the field of view or not segmented)"
    study = two_studies[0]
    job = done_job(study)
    job.predictions.filter(level__level="L1-L2").delete()
    job.predictions.update(confidence=0.73)
    InferenceJob.objects.filter(pk=job.pk).update(not_assessed={"L1-L2": reason})
    sign_in("annotator")
    page.goto(f"/studies/{study.study_instance_uid}/")
    panel = page.locator("#ai-panel")
    expect(panel.locator("[data-not-assessed]")).to_be_visible()
    expect(panel.locator("[data-not-assessed] li")).to_have_text(f"L1-L2 not assessed: {reason}")
    expect(panel.locator("tbody tr")).to_have_count(4)
    expect(panel.locator("[data-confidence]").first).to_have_text("73%")
