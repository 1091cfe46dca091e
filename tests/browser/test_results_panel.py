"""Results back on the review page, in the browser (issue #14, part 3): an admin reads why
a signed report's SR failed to reach the PACS, reaches Resend with the keyboard, and the
resend really runs (tasks in-process): the PACS's port is closed, so the row is pending
again, with the try counted and the next one scheduled."""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import expect

from reports.models import ResultDelivery
from reports.services import create_ai_draft, sign_report
from tests.factories import PASSWORD, make_user
from tests.reports.review_helpers import done_job, imaged_study, labelled_radiologist_report

pytestmark = pytest.mark.browser

REFUSED = "C-STORE status 0xC000 (cannot understand)"
TAB_LIMIT = 200


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free, and closed once the probe is


CLOSED = _closed_port()


@pytest.fixture
def failed_delivery(settings, transactional_db, tmp_path):
    """A signed report whose SR the PACS refused (the row as the outbox leaves it); the
    destination's port has no PACS behind it now."""
    settings.RADBOT_RESULT_DESTINATIONS = [
        {
            "name": "pacs",
            "kind": "dicom",
            "host": "127.0.0.1",
            "port": CLOSED,
            "ae_title": "PACS",
            "send": ["sr"],
        }
    ]
    study, _, _ = imaged_study(tmp_path)  # stored images: the SR references them
    labelled_radiologist_report(study)
    job = done_job(study, L4_L5={"disc": "bulge"})
    version = create_ai_draft(job_id=job.pk)
    sign_report(
        report=version.report,
        user=make_user("radiologist"),
        password=PASSWORD,
        version_number=version.number,
    )
    # Signing sent the rows (to the closed port); the PACS had refused the SR instead:
    ResultDelivery.objects.filter(version=version).update(
        status="failed", last_error=REFUSED, attempts=1
    )
    return study, ResultDelivery.objects.get(version=version, kind="sr")


def test_an_admin_reads_the_reason_and_resends_by_keyboard(page, sign_in, failed_delivery):
    study, sr = failed_delivery
    sign_in("admin")
    page.goto(f"/reports/{study.study_instance_uid}/")
    row = page.locator(f'tr[data-delivery="{sr.pk}"]')
    expect(row.locator("[data-status]")).to_have_text("failed")
    expect(row.locator("[data-reason]")).to_have_text(REFUSED)
    expect(row.locator("td").first).to_have_text("v1")

    # Tab from the top of the page to this row's Resend, then Enter.
    button = row.locator("[data-resend]")
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/reports/{study.study_instance_uid}/#results-title")
    expect(page.locator(".messages")).to_contain_text("Queued to send again: SR of v1 to pacs.")
    row = page.locator(f'tr[data-delivery="{sr.pk}"]')
    expect(row.locator("[data-status]")).to_have_text("pending")
    expect(row.locator("[data-attempts]")).to_have_text("1")  # the resend's own try
    expect(row.locator("[data-reason]")).to_contain_text("could not be reached")
    expect(row.locator("[data-next-attempt]")).to_be_visible()
    # A pending row waits for its next try: no Resend until it is sent or fails again.
    expect(row.locator("[data-resend]")).to_have_count(0)
    sr.refresh_from_db()
    assert (sr.status, sr.attempts) == ("pending", 1)
