"""Results back on the review page, in the browser (issue #14, part 3): an admin reads why
a signed report's SEG failed to reach the PACS, reaches Resend with the keyboard and sees
the row queued again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reports.models import ResultDelivery
from reports.outbox import dispatch
from reports.services import create_ai_draft, sign_report
from tests.factories import PASSWORD, make_user
from tests.reports.review_helpers import study_with_reading

pytestmark = pytest.mark.browser

REFUSED = "C-STORE status 0xC000 (cannot understand)"
TAB_LIMIT = 200


@pytest.fixture
def failed_delivery(settings, transactional_db, queued):
    """A signed report whose SEG the PACS refused (the row as the outbox leaves it)."""
    settings.RADBOT_RESULT_DESTINATIONS = [
        {"name": "pacs", "kind": "dicom", "host": "127.0.0.1", "port": 104, "ae_title": "PACS"}
    ]
    study, job = study_with_reading(L4_L5={"disc": "bulge"})
    version = create_ai_draft(job_id=job.pk)
    sign_report(
        report=version.report,
        user=make_user("radiologist"),
        password=PASSWORD,
        version_number=version.number,
    )
    # Signing queued the rows; their sends are not under test here: they failed as refused.
    queued.clear()
    ResultDelivery.objects.filter(version=version).update(
        status="failed", last_error=REFUSED, attempts=1
    )
    return study, ResultDelivery.objects.get(version=version, kind="seg")


@pytest.fixture
def queued(monkeypatch):
    """The ids a resend hands to the workers (the send itself is the outbox's tests')."""
    ids: list[int] = []
    monkeypatch.setattr(dispatch, "queue_sends", ids.extend)
    return ids


def test_an_admin_reads_the_reason_and_resends_by_keyboard(page, sign_in, failed_delivery, queued):
    study, seg = failed_delivery
    sign_in("admin")
    page.goto(f"/reports/{study.study_instance_uid}/")
    row = page.locator(f'tr[data-delivery="{seg.pk}"]')
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
    expect(page.locator(".messages")).to_contain_text("Queued to send again: SEG of v1 to pacs.")
    row = page.locator(f'tr[data-delivery="{seg.pk}"]')
    expect(row.locator("[data-status]")).to_have_text("pending")
    expect(row.locator("[data-attempts]")).to_have_text("0")
    expect(row.locator("[data-next-attempt]")).to_be_visible()
    # A pending row waits for its send: no Resend until it is sent or fails again.
    expect(row.locator("[data-resend]")).to_have_count(0)
    assert queued == [seg.pk]
    seg.refresh_from_db()
    assert seg.status == "pending"
