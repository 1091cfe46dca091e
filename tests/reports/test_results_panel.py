"""The review page's "Results sent to PACS" panel and its admin-only Resend (issue #14,
part 3): each signed version's results per destination and object with status, tries,
next try and reason; the empty states; a resend re-queues the row and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from reports.models import ResultDelivery, ResultDeliveryAttempt
from reports.outbox.selectors import results_panel
from reports.review.page import versions_of
from reports.services import create_ai_draft, sign_report
from tests.factories import PASSWORD
from tests.reports.review_helpers import study_with_reading

pytestmark = pytest.mark.django_db

PACS = {"name": "pacs", "kind": "dicom", "host": "127.0.0.1", "port": 104, "ae_title": "PACS"}
REFUSED = "C-STORE status 0xC000 (cannot understand)"


@pytest.fixture
def drafted():
    study, job = study_with_reading(L4_L5={"disc": "bulge"})
    return study, create_ai_draft(job_id=job.pk)


@pytest.fixture
def signed(settings, drafted, radiologist):
    """Signed with one destination for SR, SEG and PDF: their rows are queued (the sends,
    after commit, do not run here); then the SR was sent, the SEG failed, the PDF waits."""
    settings.RADBOT_RESULT_DESTINATIONS = [{**PACS, "send": ["sr", "seg", "pdf"]}]
    study, version = drafted
    sign_report(report=version.report, user=radiologist, password=PASSWORD, version_number=1)
    rows = {d.kind: d for d in ResultDelivery.objects.filter(version=version)}
    now = timezone.now()
    ResultDelivery.objects.filter(pk=rows["sr"].pk).update(status="sent", sent_at=now, attempts=1)
    ResultDelivery.objects.filter(pk=rows["seg"].pk).update(
        status="failed", last_error=REFUSED, attempts=1
    )
    ResultDelivery.objects.filter(pk=rows["pdf"].pk).update(
        attempts=2,
        last_error="the destination could not be reached",
        next_attempt_at=now + timedelta(seconds=60),
    )
    return study, {k: ResultDelivery.objects.get(pk=d.pk) for k, d in rows.items()}


def _review(study) -> str:
    return reverse("reports:review", kwargs={"study_uid": study.study_instance_uid})


def _resend(study, delivery) -> str:
    return reverse(
        "reports:review-resend",
        kwargs={"study_uid": study.study_instance_uid, "delivery_id": delivery.pk},
    )


def test_the_selector_lists_each_object_with_its_state(signed):
    study, rows = signed
    panel = results_panel(versions=versions_of(study.ai_report))
    by_kind = {r.kind_label: r for r in panel.rows}
    assert [r.kind_label for r in panel.rows] == ["SR", "SEG", "PDF"]
    assert panel.empty_message == ""
    sent, failed, pending = by_kind["SR"], by_kind["SEG"], by_kind["PDF"]
    assert sent.status == "sent" and sent.at == rows["sr"].sent_at and sent.resendable
    assert sent.next_attempt_at is None and sent.reason == ""
    assert failed.status == "failed" and failed.reason == REFUSED and failed.resendable
    assert pending.status == "pending" and not pending.resendable
    assert pending.next_attempt_at == rows["pdf"].next_attempt_at and pending.attempts == 2
    assert pending.reason == "the destination could not be reached"
    assert sent.where == "DICOM PACS@127.0.0.1:104" and sent.version_number == 1


def test_the_panel_shows_status_tries_next_try_and_reason(client, signed, radiologist):
    study, rows = signed
    client.force_login(radiologist)
    page = client.get(_review(study)).content.decode()
    assert "Results sent to PACS" in page
    assert f'data-delivery="{rows["sr"].pk}" data-delivery-status="sent"' in page
    assert f'data-delivery="{rows["seg"].pk}" data-delivery-status="failed"' in page
    assert f'data-delivery="{rows["pdf"].pk}" data-delivery-status="pending"' in page
    assert REFUSED in page and "the destination could not be reached" in page
    assert "data-next-attempt" in page
    # Resending is an admin's: a radiologist sees no button.
    assert "data-resend" not in page


def test_an_admin_sees_resend_for_failed_and_sent_rows_only(client, signed, admin_user):
    study, rows = signed
    client.force_login(admin_user)
    page = client.get(_review(study)).content.decode()
    assert page.count("data-resend") == 2
    assert _resend(study, rows["sr"]) in page and _resend(study, rows["seg"]) in page
    assert _resend(study, rows["pdf"]) not in page


def test_empty_state_without_destinations(settings, client, drafted, radiologist):
    settings.RADBOT_RESULT_DESTINATIONS = ""
    study, _version = drafted
    client.force_login(radiologist)
    page = client.get(_review(study)).content.decode()
    assert "data-results-empty" in page and "No destinations configured" in page


def test_empty_state_before_signing(settings, client, drafted, radiologist):
    settings.RADBOT_RESULT_DESTINATIONS = [PACS]
    study, _version = drafted
    client.force_login(radiologist)
    page = client.get(_review(study)).content.decode()
    assert "Nothing sent yet: results go out when the report is signed." in page


def test_a_broken_destinations_setting_does_not_break_the_page(
    settings, client, drafted, radiologist
):
    settings.RADBOT_RESULT_DESTINATIONS = "not json"
    study, _version = drafted
    client.force_login(radiologist)
    response = client.get(_review(study))
    assert response.status_code == 200
    assert "The result destinations are misconfigured" in response.content.decode()


def test_an_admin_resends_a_failed_row(client, signed, admin_user):
    study, rows = signed
    failed = rows["seg"]
    client.force_login(admin_user)
    response = client.post(_resend(study, failed))
    assert response.status_code == 302
    assert response["Location"] == _review(study) + "#results-title"
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.attempts == 0
    assert failed.next_attempt_at <= timezone.now()
    last = ResultDeliveryAttempt.objects.filter(delivery=failed).last()
    assert last.event == "resend" and last.user == admin_user
    assert last.detail["status_before"] == "failed"
    access = AccessEvent.objects.get(action="export", object_ref=f"result:{failed.pk}")
    assert access.user == admin_user and access.detail["resend"] is True

    page = client.get(response["Location"]).content.decode()
    assert "Queued to send again: SEG of v1 to pacs." in page
    assert f'data-delivery="{failed.pk}" data-delivery-status="pending"' in page


def test_a_row_being_sent_is_not_resent(client, signed, admin_user):
    study, rows = signed
    ResultDelivery.objects.filter(pk=rows["sr"].pk).update(status="sending")
    client.force_login(admin_user)
    page = client.post(_resend(study, rows["sr"]), follow=True).content.decode()
    assert "Not resent (SR of v1 to pacs)" in page
    assert ResultDelivery.objects.get(pk=rows["sr"].pk).status == "sending"
    assert not AccessEvent.objects.filter(object_ref=f"result:{rows['sr'].pk}").exists()


def test_a_radiologist_may_not_resend(client, signed, radiologist):
    study, rows = signed
    client.force_login(radiologist)
    assert client.post(_resend(study, rows["seg"])).status_code == 403
    assert ResultDelivery.objects.get(pk=rows["seg"].pk).status == "failed"
    assert not ResultDeliveryAttempt.objects.filter(event="resend").exists()


def test_resend_is_post_only_and_of_this_study(client, signed, admin_user):
    study, rows = signed
    other, _job = study_with_reading()
    client.force_login(admin_user)
    assert client.get(_resend(study, rows["seg"])).status_code == 405
    assert client.post(_resend(other, rows["seg"])).status_code == 404
    assert ResultDelivery.objects.get(pk=rows["seg"].pk).status == "failed"
