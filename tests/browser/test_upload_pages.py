"""Upload and import pages, and the admin-only pseudonym map."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.studies.batch import mr_bytes, sagittal_series

pytestmark = pytest.mark.browser


def test_upload_shows_progress_and_per_file_outcome(page, sign_in, tmp_path):
    sign_in("researcher")
    page.goto("/studies/upload/")
    paths = []
    for name, data in [*sagittal_series(2), ("ct.dcm", mr_bytes(Modality="CT"))]:
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    page.set_input_files("#files", paths)
    page.locator("#files").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-summary]")).to_contain_text("2 stored, 0 duplicate, 1 rejected")
    expect(page.locator("tr.rejected")).to_contain_text("ct.dcm")
    expect(page.locator("tr.rejected")).to_contain_text("CT")
    assert page.locator("[data-progress]").get_attribute("value") == "100"


def test_report_import_lists_unmatched_rows(page, sign_in, tmp_path):
    sign_in("radiologist")
    page.goto("/studies/reports/import/")
    path = tmp_path / "reports.csv"
    path.write_text("accession,text\nNO-SUCH-ACC,Normal lumbar spine.\n")
    page.set_input_files("#file", str(path))
    page.locator("#file").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-summary]")).to_contain_text("0 imported, 0 duplicate, 1 unmatched")
    expect(page.locator("[data-rows]")).to_contain_text("NO-SUCH-ACC")


def test_pseudonym_map_for_admin_only(page, sign_in, tmp_path):
    from studies.services.ingest import ingest_paths
    from tests.studies.batch import write_files

    write_files(tmp_path / "in", sagittal_series(1, patient_id="MRN-777"))
    ingest_paths(paths=[tmp_path / "in"])
    sign_in("admin")
    page.goto("/studies/pseudonyms/")
    expect(page.locator("table.grid")).to_contain_text("MRN-777")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    sign_in("annotator")
    response = page.goto("/studies/pseudonyms/")
    assert response.status == 403
    expect(page.locator("nav")).not_to_contain_text("Pseudonym map")
