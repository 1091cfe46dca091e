"""AI report review in the browser: open from the worklist, read the images, edit, sign,
fail to edit the signed report, amend, and see the history."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from reports.models import AuditEvent, Report
from reports.services import create_ai_draft
from tests.factories import PASSWORD
from tests.reports.review_helpers import done_job, imaged_study, labelled_radiologist_report

pytestmark = pytest.mark.browser


@pytest.fixture
def drafted_study(transactional_db, tmp_path):
    from inference.selectors import job_mask_path

    study, sagittal, _axial = imaged_study(tmp_path / "dicom")
    labelled_radiologist_report(study)
    job = done_job(
        study,
        series=sagittal,
        best_instance=2,
        L4_L5={"disc": "bulge", "canal_stenosis": "moderate"},
    )
    # The job's predicted segmentation, as its segment stage stores it.
    positions = np.array(
        list(
            sagittal.instances.order_by("slice_location_mm").values_list(
                "position_x", "position_y", "position_z"
            )
        )
    )
    classes = np.zeros((len(positions), sagittal.rows, sagittal.columns), np.uint8)
    classes[:, 4:12, 6:10] = 2
    path = job_mask_path(job.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        classes=classes,
        positions=positions,
        series_id=np.int64(sagittal.pk),
        instance_numbers=np.arange(1, len(positions) + 1),
    )
    create_ai_draft(job_id=job.pk)
    return study, sagittal


def _csrf_post(page, url: str, data: dict) -> tuple[int, str]:
    """A hand-made POST from the page (what a forged form would send)."""
    return tuple(
        page.evaluate(
            """async ([url, data]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token},
                                        body: new URLSearchParams(data)});
            return [r.status, await r.text()];
        }""",
            [url, data],
        )
    )


def test_review_edit_sign_refuse_edit_and_amend(page, sign_in, drafted_study):
    study, _sagittal = drafted_study
    user = sign_in("radiologist")

    # The worklist lists the draft; j and Enter open it.
    page.goto("/reports/")
    row = page.locator("table.worklist tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("preliminary")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/reports/{study.study_instance_uid}/")

    # Side by side: AI sentence, the radiologist's highlighted words, marks, images.
    level = page.locator('[data-level="L4-L5"]')
    expect(level.locator("textarea")).to_contain_text("bulge")
    expect(level.locator("[data-rad-text] mark.ev-disc")).to_have_text("disc bulge")
    expect(level.locator('tr[data-field="disc"] [data-mark]')).to_have_text("✓ agree")
    expect(level.locator('tr[data-field="canal_stenosis"] [data-mark]')).to_have_text("≈ partly")
    sag = page.locator('[data-viewer][data-plane="sagittal"]')
    expect(sag).to_have_attribute("data-ready", "true")
    expect(page.locator('[data-viewer][data-plane="axial"]')).to_have_attribute(
        "data-ready", "true"
    )
    expect(page.locator(".axial-list [aria-current=true]")).to_have_text("L4-L5")
    expect(sag.locator("g.marker")).to_have_count(5)
    expect(sag.locator("g.marker.on-slice")).to_have_count(5)  # centres lie on the middle slice

    # "Best seen on image 2" jumps the sagittal viewer there; ↑/↓ scroll from it.
    level.locator("[data-jump-instance='2']").first.click()
    expect(sag.locator("[data-slice-label]")).to_contain_text("(image 2)")
    expect(sag.locator("g.marker.on-slice")).to_have_count(0)
    page.keyboard.press("ArrowDown")
    expect(sag.locator("[data-slice-label]")).to_contain_text("(image 3)")

    # o: the model's segmentation over the slice.
    page.keyboard.press("o")
    expect(sag).to_have_attribute("data-overlay", "on")
    expect(sag.locator("[data-mask-layer]")).to_be_visible()
    page.keyboard.press("o")
    expect(sag.locator("[data-mask-layer]")).to_be_hidden()

    # e focuses the text; Ctrl+Enter saves a new version.
    page.keyboard.press("e")
    expect(page.locator("#finding-L1-L2")).to_be_focused()
    page.locator("#finding-L4-L5").fill("Small disc bulge without canal stenosis.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text("Saved as version 2")
    expect(page.locator("[data-version-tag]")).to_have_text("v2")

    # S opens the sign dialog with the password focused; a wrong password is refused.
    page.keyboard.press("Shift+S")
    dialog = page.locator("#sign-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#sign-password")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("Shift+S")
    page.keyboard.type("wrong-password")
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-sign-error]")).to_contain_text("not right")
    expect(page.locator("#sign-password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Signed version 2 (final)")
    expect(page.locator("[data-report-status]")).to_have_text("final")
    # The refused attempt stays in the audit trail beside the signature.
    expect(page.locator('[data-audit] tr[data-action="refused"]')).to_contain_text("wrong password")
    expect(page.locator('[data-audit] tr[data-action="sign"]')).to_have_count(1)

    # The signed report cannot be edited: no editor, and a forged save is refused.
    expect(page.locator("[data-report-form] textarea")).to_have_count(0)
    expect(page.locator("[data-open-sign]")).to_have_count(0)
    version = Report.objects.get(study=study).versions.get(number=2)
    forged = {
        "base_version": "2",
        "impression": version.impression,
        **{f"finding-{f['level']}": f"{f['text']} Changed." for f in version.findings},
    }
    status, body = _csrf_post(page, f"/reports/{study.study_instance_uid}/save/", forged)
    assert status == 400 and "is signed and cannot be changed" in body
    assert Report.objects.get(study=study).versions.count() == 2

    # a amends: a reason, the change, a new signature.
    page.keyboard.press("a")
    page.wait_for_url("**?amend=1")
    page.keyboard.press("e")
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("Foraminal finding missed at L4-L5.")
    page.locator("#finding-L4-L5").fill("Small disc bulge with mild left foraminal narrowing.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text("Saved as version 3")
    expect(page.locator(".amending-tag")).to_be_visible()
    page.keyboard.press("Shift+S")
    expect(dialog).to_contain_text("as an amendment")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Signed version 3 (amended)")

    history = page.locator("[data-history] tbody tr")
    expect(history).to_have_count(3)
    expect(page.locator('[data-version-row="3"] .badge')).to_have_text("amended")
    expect(page.locator('[data-version-row="3"]')).to_contain_text("Foraminal finding missed")
    expect(page.locator('[data-version-row="2"] .badge')).to_have_text("final")
    expect(page.locator('[data-version-row="1"] .badge')).to_have_text("preliminary")
    expect(page.locator('[data-audit] tr[data-action="amend"]')).to_have_count(1)
    mine = set(AuditEvent.objects.filter(user=user).values_list("action", flat=True))
    assert {"view", "edit", "sign", "amend"} <= mine


def test_a_stale_edit_is_refused_and_the_typed_text_stays(page, sign_in, drafted_study, admin_user):
    from reports.services import save_draft

    study, _ = drafted_study
    sign_in("radiologist")
    page.goto(f"/reports/{study.study_instance_uid}/")
    page.keyboard.press("e")
    page.locator("#finding-L4-L5").fill("My careful rewording.")
    # Meanwhile someone else saves version 2.
    v1 = Report.objects.get(study=study).versions.get()
    findings = [
        {**f, "text": "Theirs." if f["level"] == "L4-L5" else f["text"]} for f in v1.findings
    ]
    save_draft(
        report=v1.report,
        user=admin_user,
        findings=findings,
        impression=v1.impression,
        base_version_number=1,
    )
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-conflict]")).to_contain_text("Nothing was overwritten")
    expect(page.locator("#finding-L4-L5")).to_have_value("My careful rewording.")
    expect(page.locator('[data-level="L4-L5"] [data-theirs]')).to_contain_text("Theirs.")
    assert Report.objects.get(study=study).versions.count() == 2
    # Saving again after reading theirs is a deliberate choice, based on version 2.
    page.locator("#finding-L4-L5").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text("Saved as version 3")
    latest = Report.objects.get(study=study).versions.order_by("-number").first()
    assert latest.findings[3]["text"] == "My careful rewording." and latest.based_on.number == 2
