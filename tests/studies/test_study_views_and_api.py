"""Study pages and the studies API: reads in the access log, the pseudonym map paginated
and read-only, response headers (CSP, no-store), the schema for token clients, and
errors in the API's JSON shape."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AccessEvent
from radbot_web.middleware import CONTENT_SECURITY_POLICY
from studies.models import (
    DiscLevel,
    Instance,
    Patient,
    PatientIdentity,
    RadiologistReport,
    Series,
    Study,
    StudyIdentity,
)
from studies.services.ingest import ingest_paths
from studies.services.report_import import import_report_file
from tests.factories import PASSWORD
from tests.studies.batch import sagittal_series, write_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path, eager_celery, django_capture_on_commit_callbacks) -> Study:
    write_files(tmp_path / "batch", sagittal_series(3, patient_id="MRN-VIEWS"))
    with django_capture_on_commit_callbacks(execute=True):  # the thumbnail renders on commit
        ingest_paths(paths=[tmp_path / "batch"])
    stored = Study.objects.get()
    csv = f"study_uid,text\n{stored.study_instance_uid},L4-5: disc bulge.\n".encode()
    assert import_report_file(name="r.csv", data=csv, source="import").imported == 1
    return stored


def _token_client(user) -> APIClient:
    """A client with a token from POST /api/auth/token, however tokens are stored."""
    client = APIClient()
    answer = client.post(
        "/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 200, answer.content
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {answer.json().get('token') or answer.json()['key']}"
    )
    return client


def _reads(action: str, user) -> list[str]:
    return list(
        AccessEvent.objects.filter(action=action, user=user)
        .order_by("id")
        .values_list("study_uid", flat=True)
    )


def test_the_study_page_is_a_read_once_per_user_study_and_day(
    client, study, annotator, radiologist
):
    client.force_login(annotator)
    for _ in range(3):
        assert client.get(f"/studies/{study.study_instance_uid}/").status_code == 200
    client.force_login(radiologist)
    client.get(f"/studies/{study.study_instance_uid}/")
    assert _reads("view_study", annotator) == [study.study_instance_uid]
    assert _reads("view_study", radiologist) == [study.study_instance_uid]


def test_thumbnails_and_pixel_volumes_are_reads_of_the_images(client, study, annotator):
    series = Series.objects.get()
    client.force_login(annotator)
    thumbnail = client.get(f"/studies/series/{series.pk}/thumbnail.png")
    assert thumbnail.status_code == 200 and thumbnail["Cache-Control"] == "no-store"
    volume = client.get(f"/api/series/{series.pk}/volume")
    assert volume.status_code == 200 and volume["Cache-Control"] == "no-store"
    assert volume["X-Volume-Shape"] == f"3,{series.rows},{series.columns}"
    assert _reads("view_images", annotator) == [study.study_instance_uid]


def test_the_study_api_with_its_report_text_is_a_read(study, annotator):
    api = _token_client(annotator)
    body = api.get(f"/api/studies/{study.study_instance_uid}").json()
    assert body["reports"][0]["text"] == "L4-5: disc bulge." and len(body["series"]) == 1
    assert _reads("view_study", annotator) == [study.study_instance_uid]
    assert api.get("/api/studies/1.2.3.4").status_code == 404
    listing = api.get("/api/studies").json()
    assert (
        listing["count"] == 1
        and listing["results"][0]["study_instance_uid"] == study.study_instance_uid
    )
    assert api.get("/api/studies", {"page": "x"}).status_code == 400
    assert api.get("/api/studies", {"page": "0"}).status_code == 400
    assert api.get("/api/studies", {"page": "7"}).status_code == 404


def test_every_read_of_the_pseudonym_map_is_recorded(client, study, admin_user):
    client.force_login(admin_user)
    for _ in range(2):
        page = client.get("/studies/pseudonyms/")
        assert page.status_code == 200 and "MRN-VIEWS" in page.content.decode()
    api = _token_client(admin_user)
    assert api.get("/api/pseudonyms").json()["results"][0]["original_patient_id"] == "MRN-VIEWS"
    events = AccessEvent.objects.filter(action="view_pseudonym_map", user=admin_user).order_by("id")
    assert [e.object_ref for e in events] == ["page 1", "page 1", "api page 1"]


def test_the_pseudonym_map_api_is_paginated(admin_user):
    PatientIdentity.objects.bulk_create(
        PatientIdentity(patient=patient, original_patient_id=f"MRN-{n:04d}", date_shift_days=-n)
        for n, patient in enumerate(
            Patient.objects.bulk_create(Patient(pseudonym=f"P-{n:06d}") for n in range(1050))
        )
    )
    api = _token_client(admin_user)
    first = api.get("/api/pseudonyms").json()
    assert (
        first["count"] == 1050 and len(first["results"]) == 100 and first["next"].endswith("page=2")
    )
    last = api.get("/api/pseudonyms", {"page": 11}).json()
    assert len(last["results"]) == 50 and last["results"][-1]["pseudonym"] == "P-001049"
    assert (
        len(
            {
                r["pseudonym"]
                for p in range(1, 12)
                for r in api.get("/api/pseudonyms", {"page": p}).json()["results"]
            }
        )
        == 1050
    )


def test_admin_identity_pages_are_recorded_and_nothing_in_studies_can_be_deleted(
    client, study, admin_user
):
    client.force_login(admin_user)
    identity = PatientIdentity.objects.get()
    assert client.get("/admin/studies/patientidentity/").status_code == 200
    assert client.get(f"/admin/studies/patientidentity/{identity.pk}/change/").status_code == 200
    assert client.get("/admin/studies/studyidentity/").status_code == 200
    refs = list(
        AccessEvent.objects.filter(action="view_pseudonym_map", user=admin_user)
        .order_by("id")
        .values_list("object_ref", flat=True)
    )
    assert refs == [
        "admin patientidentity list",
        f"admin patientidentity {identity.pk}",
        "admin studyidentity list",
    ]
    assert client.get(f"/admin/studies/patientidentity/{identity.pk}/delete/").status_code == 403
    assert (
        client.post(f"/admin/studies/study/{study.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    request = Client().request().wsgi_request
    request.user = admin_user
    for model in (
        Study,
        Series,
        Instance,
        Patient,
        PatientIdentity,
        StudyIdentity,
        RadiologistReport,
        DiscLevel,
    ):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_delete_permission(request)
        assert not model_admin.has_change_permission(
            request
        ) and not model_admin.has_add_permission(request)
    assert Study.objects.count() == 1 and PatientIdentity.objects.count() == 1


def test_every_response_has_the_policy_and_signed_in_ones_are_not_stored(client, annotator):
    login = client.get("/login/")
    assert login["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert login.get("Cache-Control", "") != "no-store"  # nothing of a patient on it
    client.force_login(annotator)
    page = client.get("/studies/")
    assert (
        page["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        and page["Cache-Control"] == "no-store"
    )
    api = _token_client(annotator)
    answer = api.get("/api/studies")
    assert (
        answer["Cache-Control"] == "no-store"
        and answer["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    )


def test_token_clients_can_read_the_schema(annotator):
    assert APIClient().get("/api/schema").status_code == 401
    schema = _token_client(annotator).get("/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/studies" in schema.json()["paths"]


def test_an_api_path_no_route_matches_answers_in_json(annotator):
    answer = _token_client(annotator).get("/api/series/not-a-number/volume")
    assert answer.status_code == 404 and answer.json() == {"detail": "Not found."}


def test_a_search_with_a_nul_character_answers_like_one_without(study, annotator):
    """PostgreSQL refuses a NUL in a query parameter; schemathesis sent one (a 500)."""
    api = APIClient()
    api.force_authenticate(annotator)
    response = api.get("/api/studies", {"q": "\x00" + study.patient.pseudonym})
    assert response.status_code == 200 and response.json()["count"] == 1
    client = Client()
    client.force_login(annotator)
    assert client.get("/studies/", {"q": "a\x00b"}).status_code == 200


def test_the_list_counts_only_the_shown_studies_in_a_fixed_number_of_queries(study, annotator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import StudyFactory

    bare = [StudyFactory() for _ in range(4)]  # no series, no report
    client = Client()
    client.force_login(annotator)
    client.get("/studies/")
    with CaptureQueriesContext(connection) as few:
        page = client.get("/studies/")
    rows = {s.pk: s for s in page.context["page"].object_list}
    assert (rows[study.pk].series_count, rows[study.pk].instance_count) == (1, 3)
    assert rows[study.pk].has_report is True
    assert all((rows[s.pk].series_count, rows[s.pk].has_report) == (0, False) for s in bare)
    assert page.context["counts"] == {
        "studies": 5,
        "with_report": 1,
        "series": 1,
        "instances": Instance.objects.count(),
    }
    more = [StudyFactory() for _ in range(16)]
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/studies/").context["page"].object_list) == 21
    assert len(many.captured_queries) == len(few.captured_queries)
    api = APIClient()
    api.force_authenticate(annotator)
    found = api.get("/api/studies", {"q": study.patient.pseudonym}).json()["results"]
    assert [(r["series_count"], r["instance_count"], r["has_report"]) for r in found] == [
        (1, 3, True)
    ]
    assert client.get("/studies/", {"report": "no"}).context["page"].paginator.count == len(
        bare + more
    )
    assert client.get("/studies/", {"q": study.accession}).context["page"].paginator.count == 1
