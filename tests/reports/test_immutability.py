"""A signed report version and the audit log cannot be changed, even by raw SQL."""

import hashlib

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reports.models import AuditEvent, Report, ReportVersion
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _draft(report: Report, number: int = 1) -> ReportVersion:
    return ReportVersion.objects.create(
        report=report,
        number=number,
        origin=ReportVersion.Origin.GENERATED,
        findings=[{"level": "L4-L5", "text": "There is a disc bulge."}],
        impression="Disc bulge at L4-L5.",
    )


def _sign(version: ReportVersion, user, status: str = "final") -> None:
    version.status = status
    version.signed_by = user
    version.signed_at = timezone.now()
    version.content_sha256 = hashlib.sha256(b"x").hexdigest()
    version.save()


def test_a_draft_can_be_signed_once_and_then_never_changed(radiologist):
    version = _draft(Report.objects.create(study=StudyFactory()))
    _sign(version, radiologist)

    version.impression = "Something else."
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        version.save()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReportVersion.objects.filter(pk=version.pk).update(impression="raw")
    with (
        pytest.raises(IntegrityError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE reports_reportversion SET impression = 'sql' WHERE id = %s", [version.pk]
        )
    version.refresh_from_db()
    assert version.impression == "Disc bulge at L4-L5."


def test_an_unsigned_draft_stays_editable(radiologist):
    version = _draft(Report.objects.create(study=StudyFactory()))
    ReportVersion.objects.filter(pk=version.pk).update(impression="Edited.")
    version.refresh_from_db()
    assert version.impression == "Edited."


def test_a_signed_version_cannot_be_deleted_on_either_backend(radiologist):
    version = _draft(Report.objects.create(study=StudyFactory()))
    _sign(version, radiologist)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReportVersion.objects.filter(pk=version.pk).delete()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ReportVersion.objects.filter(pk=version.pk)._raw_delete(connection.alias)
    with (
        pytest.raises(IntegrityError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM reports_reportversion")
    assert ReportVersion.objects.filter(pk=version.pk).exists()


def test_an_unsigned_draft_can_still_be_deleted(radiologist):
    version = _draft(Report.objects.create(study=StudyFactory()))
    ReportVersion.objects.filter(pk=version.pk).delete()
    assert not ReportVersion.objects.filter(pk=version.pk).exists()


def test_a_report_cannot_be_moved_to_another_study(radiologist):
    report = Report.objects.create(study=StudyFactory())
    _sign(_draft(report), radiologist)
    other = StudyFactory()
    report.save()  # saving it as it is still works (the study does not change)
    with pytest.raises(IntegrityError, match="belongs to its study"), transaction.atomic():
        Report.objects.filter(pk=report.pk).update(study=other)
    with (
        pytest.raises(IntegrityError, match="belongs to its study"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE reports_report SET study_id = %s WHERE id = %s", [other.pk, report.pk]
        )
    report.refresh_from_db()
    assert report.study_id != other.pk


def test_signature_constraints(radiologist):
    report = Report.objects.create(study=StudyFactory())
    final_without_signer = ReportVersion(
        report=report,
        number=1,
        origin="generated",
        findings=[],
        impression="x",
        status="final",
        signed_at=timezone.now(),
        content_sha256="0" * 64,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        final_without_signer.save()
    amended_without_reason = _draft(report, number=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        _sign(amended_without_reason, radiologist, status="amended")


def test_audit_events_are_append_only(radiologist):
    report = Report.objects.create(study=StudyFactory())
    event = AuditEvent.objects.create(report=report, user=radiologist, action="view")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="sign")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk)._raw_delete(connection.alias)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_a_database_with_signed_reports(radiologist):
    """manage.py flush (what transactional tests run between tests on SQLite, row by row)
    is the one way to wipe signed versions and audit events, as TRUNCATE is on PostgreSQL."""
    report = Report.objects.create(study=StudyFactory())
    _sign(_draft(report), radiologist)
    AuditEvent.objects.create(report=report, user=radiologist, action="sign")
    call_command("flush", interactive=False, verbosity=0)
    assert not ReportVersion.objects.exists() and not AuditEvent.objects.exists()
