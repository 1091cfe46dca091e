"""The outbox: a signed version's SR and SEG go to each destination in the study's
original identity, sends the destination may get over are retried with back-off by the
sweep, refusals fail with the reason, and an admin can resend (audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.utils import timezone

from audit.models import AccessEvent
from reports.models import AuditEvent, ResultDelivery, ResultDeliveryAttempt
from reports.outbox import dispatch, services
from reports.outbox.destinations import parse_destinations
from reports.services import sign_report
from studies.models.identity import InstanceIdentity, PatientIdentity, StudyIdentity
from tests.factories import PASSWORD
from tests.outbox.peers import storage_peer, write_job_mask
from tests.processes import free_port
from tests.reports.export_data import draft, model_job, study_with_images

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer():
    with storage_peer() as peer:
        yield peer


@pytest.fixture
def study(tmp_path):
    return study_with_images(tmp_path / "in", slices=3)


@pytest.fixture
def unsigned(study):
    job = model_job(study)
    write_job_mask(job, study.series.get())
    return draft(study, job=job)


def _sign(version, user, captured):
    with captured(execute=True):
        return sign_report(
            report=version.report, user=user, password=PASSWORD, version_number=version.number
        )


def _due_now(delivery: ResultDelivery) -> None:
    """Time passes: the row's next try is due."""
    ResultDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_destinations_are_checked_when_read():
    (one,) = parse_destinations(
        '[{"name": "pacs", "kind": "dicom", "host": "h", "port": 104, "ae_title": "PACS"}]'
    )
    assert one.send == ("sr", "seg") and one.original_identity and one.calling_ae == "RADBOT"
    for bad in (
        "{}",
        '[{"name": "x", "kind": "ftp"}]',
        '[{"name": "x", "kind": "dicom", "host": "h"}]',
        '[{"name": "x", "kind": "dicomweb", "url": "ftp://x"}]',
        '[{"name": "x", "kind": "dicomweb", "url": "http://x", "send": ["jpeg"]}]',
        '[{"name": "x", "kind": "dicomweb", "url": "http://x", "colour": 1}]',
        '[{"name": "x", "kind": "dicomweb", "url": "http://x"},'
        ' {"name": "x", "kind": "dicomweb", "url": "http://y"}]',
    ):
        with pytest.raises(ImproperlyConfigured):
            parse_destinations(bad)


def test_signing_sends_the_sr_and_seg_in_the_original_identity(
    settings, peer, unsigned, study, radiologist, eager_celery, django_capture_on_commit_callbacks
):
    settings.RADBOT_RESULT_DESTINATIONS = [peer.destination()]
    signed = _sign(unsigned, radiologist, django_capture_on_commit_callbacks)

    rows = {d.kind: d for d in ResultDelivery.objects.filter(version=signed)}
    assert set(rows) == {"sr", "seg"}
    assert {d.status for d in rows.values()} == {"sent"}, [d.last_error for d in rows.values()]
    assert all(d.attempts == 1 and d.sent_at for d in rows.values())
    by_modality = {str(ds.Modality): ds for ds in peer.received}
    assert set(by_modality) == {"SR", "SEG"}
    original_study = StudyIdentity.objects.get(study=study).original_study_uid
    patient = PatientIdentity.objects.get(patient=study.patient)
    originals = set(
        InstanceIdentity.objects.filter(instance__series__study=study).values_list(
            "original_sop_instance_uid", flat=True
        )
    )
    for ds in peer.received:
        assert ds.StudyInstanceUID == original_study != study.study_instance_uid
        assert ds.PatientID == patient.original_patient_id
        assert str(ds.PatientName) == patient.original_name
        assert ds.PatientIdentityRemoved == "NO"
    seg = by_modality["SEG"]
    assert {
        str(item.ReferencedSOPInstanceUID)
        for series in seg.ReferencedSeriesSequence
        for item in series.ReferencedInstanceSequence
    } == originals
    evidence = by_modality["SR"].CurrentRequestedProcedureEvidenceSequence[0]
    assert {
        str(item.ReferencedSOPInstanceUID)
        for series in evidence.ReferencedSeriesSequence
        for item in series.ReferencedSOPSequence
    } == originals
    assert rows["sr"].sop_instance_uid == str(by_modality["SR"].SOPInstanceUID)
    exports = AuditEvent.objects.filter(action="export", version=signed)
    assert sorted(e.detail["format"] for e in exports) == ["seg", "sr"]
    assert list(
        ResultDeliveryAttempt.objects.filter(delivery=rows["sr"]).values_list("event", flat=True)
    ) == ["queued", "sent"]

    # Sent again (a resend): the same objects, so a PACS keeps one of each.
    first = {str(ds.SOPInstanceUID) for ds in peer.received}
    admin = type(radiologist).objects.create_superuser("boss", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.resend(delivery=rows["sr"], user=admin)
        dispatch.resend(delivery=rows["seg"], user=admin)
    assert {str(ds.SOPInstanceUID) for ds in peer.received} == first
    assert len(peer.received) == 4


def test_a_busy_destination_is_tried_again_with_back_off_by_the_sweep(
    settings, peer, unsigned, radiologist, eager_celery, django_capture_on_commit_callbacks
):
    settings.RADBOT_RESULT_DESTINATIONS = [peer.destination(send=["sr"])]
    settings.RADBOT_OUTBOX_RETRY_BASE_S = 30
    peer.status = 0xA700  # out of resources
    signed = _sign(unsigned, radiologist, django_capture_on_commit_callbacks)
    row = ResultDelivery.objects.get(version=signed)
    assert row.status == "pending" and row.attempts == 1 and "0xA700" in row.last_error
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 25 < wait <= 30

    assert dispatch.send_due_results() == 0  # not due yet: nothing is sent
    _due_now(row)
    assert dispatch.send_due_results() == 1
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 2
    assert 55 < (row.next_attempt_at - timezone.now()).total_seconds() <= 60  # doubled

    peer.status = 0x0000
    _due_now(row)
    dispatch.send_due_results()
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 3 and row.last_error == ""
    assert [e.event for e in row.history.all()] == ["queued", "retry", "retry", "sent"]
    assert services.retry_delay_s(20) == settings.RADBOT_OUTBOX_RETRY_MAX_S


def test_an_unreachable_destination_is_given_up_after_the_last_try(
    settings, unsigned, radiologist, eager_celery, django_capture_on_commit_callbacks
):
    closed = {"name": "gone", "kind": "dicom", "host": "127.0.0.1", "port": free_port()}
    settings.RADBOT_RESULT_DESTINATIONS = [{**closed, "ae_title": "GONE", "send": ["sr"]}]
    settings.RADBOT_OUTBOX_MAX_ATTEMPTS = 2
    signed = _sign(unsigned, radiologist, django_capture_on_commit_callbacks)
    row = ResultDelivery.objects.get(version=signed)
    assert row.status == "pending" and "could not be reached" in row.last_error
    _due_now(row)
    dispatch.send_due_results()
    row.refresh_from_db()
    assert row.status == "failed" and row.last_error.startswith("gave up after 2 tries")


def test_a_refusal_fails_at_once_with_the_reason_and_an_admin_can_resend(
    settings,
    peer,
    unsigned,
    radiologist,
    admin_user,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    settings.RADBOT_RESULT_DESTINATIONS = [peer.destination(send=["sr"])]
    peer.status = 0xC000  # cannot understand: the same object will be refused again
    signed = _sign(unsigned, radiologist, django_capture_on_commit_callbacks)
    row = ResultDelivery.objects.get(version=signed)
    assert row.status == "failed" and row.attempts == 1
    assert "C-STORE status 0xC000" in row.last_error
    _due_now(row)
    assert dispatch.send_due_results() == 0  # a failed row waits for a person

    with pytest.raises(PermissionDenied):
        services.resend(delivery=row, user=radiologist)
    peer.status = 0x0000
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.resend(delivery=row, user=admin_user)
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1
    events = list(row.history.values_list("event", "user"))
    assert events == [
        ("queued", None),
        ("failed", None),
        ("resend", admin_user.pk),
        ("sent", None),
    ]
    access = AccessEvent.objects.get(action="export", object_ref=f"result:{row.pk}")
    assert access.user == admin_user and access.detail["resend"] is True
    assert access.detail["status_before"] == "failed"


def test_a_version_without_a_segmentation_fails_its_seg_with_the_reason(
    settings, peer, study, radiologist, eager_celery, django_capture_on_commit_callbacks
):
    settings.RADBOT_RESULT_DESTINATIONS = [peer.destination()]
    signed = _sign(
        draft(study, job=model_job(study)), radiologist, django_capture_on_commit_callbacks
    )
    rows = {d.kind: d for d in ResultDelivery.objects.filter(version=signed)}
    assert rows["sr"].status == "sent"
    assert rows["seg"].status == "failed" and "no segmentation" in rows["seg"].last_error


def test_a_pseudonymised_destination_gets_the_stored_identity_and_a_pdf(
    settings, peer, unsigned, study, radiologist, eager_celery, django_capture_on_commit_callbacks
):
    settings.RADBOT_RESULT_DESTINATIONS = [
        peer.destination(name="research", identity="pseudonymised", send=["pdf"])
    ]
    _sign(unsigned, radiologist, django_capture_on_commit_callbacks)
    (pdf,) = peer.received
    assert pdf.Modality == "DOC" and pdf.StudyInstanceUID == study.study_instance_uid
    assert pdf.PatientID == study.patient.pseudonym
    assert bytes(pdf.EncapsulatedDocument).startswith(b"%PDF")


def test_signing_with_no_destination_queues_nothing(
    settings, unsigned, radiologist, django_capture_on_commit_callbacks
):
    settings.RADBOT_RESULT_DESTINATIONS = ""
    _sign(unsigned, radiologist, django_capture_on_commit_callbacks)
    assert not ResultDelivery.objects.exists()
