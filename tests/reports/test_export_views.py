"""Export downloads over HTTP: signed versions only, right content types, audited."""

from __future__ import annotations

import json

import pydicom
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from reports.exports.fhir import validate_bundle
from reports.models import AuditEvent
from tests.factories import PASSWORD
from tests.reports.export_data import (
    IMPRESSION,
    draft,
    model_job,
    pdf_text,
    signed_version,
    study_with_images,
)

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def version(radiologist):
    return signed_version(signer=radiologist)


def test_an_annotator_downloads_the_pdf_and_the_export_is_audited(client, annotator, version):
    response = _client(client, annotator).get(
        reverse("reports:export-pdf", kwargs={"version_id": version.pk})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    accession = version.report.study.accession
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="radbot-report-{accession}-v1.pdf"'
    )
    assert response.content.startswith(b"%PDF-") and IMPRESSION in pdf_text(response.content)
    (event,) = AuditEvent.objects.filter(action="export")
    assert (event.user, event.version, event.report) == (annotator, version, version.report)
    assert event.detail["format"] == "pdf" and event.detail["bytes"] == len(response.content)


def test_the_fhir_download_is_a_valid_bundle(client, researcher, version):
    response = _client(client, researcher).get(
        reverse("reports:export-fhir", kwargs={"version_id": version.pk})
    )
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/fhir+json"
    assert "fhirVersion=4.0" in response["Content-Type"]
    assert response["Content-Disposition"].endswith('-v1.fhir.json"')
    bundle = json.loads(response.content)
    validate_bundle(bundle)
    assert bundle["entry"][0]["resource"]["conclusion"] == IMPRESSION
    assert AuditEvent.objects.get(action="export").detail["format"] == "fhir"


def test_the_sr_download_is_a_dicom_file_of_the_study(client, tmp_path, radiologist):
    study = study_with_images(tmp_path / "in")
    version = signed_version(study, signer=radiologist, job=model_job(study))
    response = _client(client, radiologist).get(
        reverse("reports:export-sr", kwargs={"version_id": version.pk})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom"
    assert response["Content-Disposition"].endswith('-v1.dcm"')
    path = tmp_path / "download.dcm"
    path.write_bytes(response.content)
    ds = pydicom.dcmread(path)
    assert ds.Modality == "SR" and ds.StudyInstanceUID == study.study_instance_uid
    assert AuditEvent.objects.get(action="export").detail["format"] == "sr"


def test_a_preliminary_version_is_refused_with_a_reason_and_nothing_is_audited(client, radiologist):
    preliminary = draft()
    client = _client(client, radiologist)
    for name in ("reports:export-pdf", "reports:export-fhir", "reports:export-sr"):
        response = client.get(reverse(name, kwargs={"version_id": preliminary.pk}))
        assert response.status_code == 409
        assert (
            "only signed (final or amended) versions can be exported" in response.content.decode()
        )
    page = client.get(reverse("reports:exports", kwargs={"version_id": preliminary.pk}))
    assert page.status_code == 409 and b"Sign it first" in page.content
    assert (
        b"export-pdf" not in page.content
        and not AuditEvent.objects.filter(action="export").exists()
    )


def test_an_sr_needs_stored_images(client, radiologist, version):
    response = _client(client, radiologist).get(
        reverse("reports:export-sr", kwargs={"version_id": version.pk})
    )
    assert response.status_code == 409 and b"no stored images" in response.content
    assert not AuditEvent.objects.exists()


def test_the_exports_page_lists_the_three_downloads(client, annotator, version):
    response = _client(client, annotator).get(
        reverse("reports:exports", kwargs={"version_id": version.pk})
    )
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("reports:export-pdf", "reports:export-fhir", "reports:export-sr"):
        assert f'href="{reverse(name, kwargs={"version_id": version.pk})}" download' in html


def test_access_rules(client, version):
    url = reverse("reports:export-pdf", kwargs={"version_id": version.pk})
    assert client.get(url).status_code == 302  # the login page
    nobody = get_user_model().objects.create_user(username="no-role", password=PASSWORD)
    client = _client(client, nobody)
    assert client.get(url).status_code == 403
    assert not AuditEvent.objects.exists()


def test_unknown_versions_and_other_methods(client, annotator, version):
    client = _client(client, annotator)
    assert (
        client.get(
            reverse("reports:export-pdf", kwargs={"version_id": version.pk + 1000})
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("reports:export-pdf", kwargs={"version_id": version.pk})).status_code
        == 405
    )
