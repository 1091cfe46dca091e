"""The slice viewer's data: the volume API, thumbnails, and the study pages."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
from django.core.management import call_command

from studies.models import Series
from studies.services.ingest import ingest_paths
from tests.factories import make_user
from tests.studies.batch import sagittal_series, write_files


@pytest.fixture
def stored_series(db, tmp_path):
    write_files(tmp_path / "in", sagittal_series(3))
    ingest_paths(paths=[tmp_path / "in"])
    return Series.objects.get()


def test_volume_api_returns_every_slice_in_order(stored_series, api_client, settings):
    api_client.force_authenticate(make_user("annotator"))
    response = api_client.get(f"/api/series/{stored_series.pk}/volume")
    assert response.status_code == 200
    shape = tuple(int(n) for n in response["X-Volume-Shape"].split(","))
    assert shape == (3, 16, 16)
    meta = json.loads(response["X-Volume-Meta"])
    assert meta["instance_numbers"] == [1, 2, 3]
    pixels = np.frombuffer(response.content, dtype="<u2").reshape(shape)
    first = stored_series.instances.order_by("slice_location_mm").first()
    expected = pydicom.dcmread(settings.MEDIA_ROOT / first.file).pixel_array
    assert np.array_equal(pixels[0], expected)
    assert meta["window_width"] > 0


def test_thumbnail_is_rendered_after_ingest(
    db, tmp_path, django_capture_on_commit_callbacks, client, eager_celery
):
    write_files(tmp_path / "in", sagittal_series(3))
    with django_capture_on_commit_callbacks(execute=True):
        ingest_paths(paths=[tmp_path / "in"])
    series = Series.objects.get()
    assert series.thumbnail.endswith(".png")
    client.force_login(make_user("annotator"))
    response = client.get(f"/studies/series/{series.pk}/thumbnail.png")
    assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"\x89PNG"


def test_study_pages_render(stored_series, client):
    client.force_login(make_user("annotator"))
    listing = client.get("/studies/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert stored_series.study.patient.pseudonym in html and "no report" in html
    detail = client.get(f"/studies/{stored_series.study.study_instance_uid}/")
    assert detail.status_code == 200
    assert f"/api/series/{stored_series.pk}/volume" in detail.content.decode()
    assert client.get("/studies/1.2.3.does.not.exist/").status_code == 404


def test_study_list_search_and_htmx_partial(stored_series, client):
    client.force_login(make_user("annotator"))
    pseudonym = stored_series.study.patient.pseudonym
    hit = client.get("/studies/", {"q": pseudonym[:6]}, HTTP_HX_REQUEST="true")
    assert pseudonym in hit.content.decode() and "<html" not in hit.content.decode()
    miss = client.get("/studies/", {"q": "nothing-like-this"})
    assert "No study matches" in miss.content.decode()


def test_ingest_command_prints_reasons(tmp_path, db, capsys):
    write_files(tmp_path / "in", sagittal_series(2))
    (tmp_path / "in" / "notes.txt").write_bytes(b"hello" * 100)
    call_command("ingest", str(tmp_path / "in"))
    out, err = capsys.readouterr()
    assert "2 stored, 0 duplicate, 1 rejected, 1 study." in out
    assert ("notes.txt" in err and "not a DICOM" in err.lower()) or "not_dicom" in err
    from audit.models import AccessEvent

    # the command's row (the CLI actor, with the batch's counts) and one per stored study
    event = AccessEvent.objects.exclude(object_ref__startswith="study:").get(action="upload")
    assert event.username.startswith("cli") and (
        event.detail["stored"],
        event.detail["rejected"],
    ) == (2, 1)
    per_study = AccessEvent.objects.get(action="upload", object_ref__startswith="study:")
    assert per_study.username.startswith("cli") and per_study.study_uid


def test_study_list_pages_through_many_studies(db, client):
    from tests.factories import StudyFactory

    StudyFactory.create_batch(30)
    client.force_login(make_user("annotator"))
    first = client.get("/studies/").content.decode()
    assert "Page 1 of 2 (30 studies)" in first and 'rel="next"' in first
    second = client.get("/studies/", {"page": 2}).content.decode()
    assert "Page 2 of 2" in second and second.count("<tr data-href") == 5


def test_ages_over_89_show_as_90_plus(db, client):
    from tests.factories import StudyFactory

    old = StudyFactory(age_years=90)
    young = StudyFactory(age_years=54)
    client.force_login(make_user("radiologist"))
    listing = client.get("/studies/").content.decode()
    assert "90+" in listing and "54" in listing
    detail = client.get(f"/studies/{old.study_instance_uid}/").content.decode()
    assert "90+" in detail
    assert "90+" not in client.get(f"/studies/{young.study_instance_uid}/").content.decode()
    review = client.get(f"/reports/{old.study_instance_uid}/").content.decode()
    assert "90+" in review
