"""POST /api/studies/upload: several files or a zip; per-file reasons; good files kept."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studies.models import Instance, Study
from tests.factories import make_user
from tests.studies.batch import mr_bytes, sagittal_series, zip_bytes


def _upload(client, files):
    return client.post(
        "/api/studies/upload",
        {"files": [SimpleUploadedFile(name, data) for name, data in files]},
        format="multipart",
    )


@pytest.fixture
def uploader(api_client, db):
    api_client.force_authenticate(make_user("researcher"))
    return api_client


def test_several_files_are_stored(uploader):
    response = _upload(uploader, sagittal_series(3))
    assert response.status_code == 201
    body = response.json()
    assert len(body["stored"]) == 3 and body["rejected"] == [] and len(body["studies"]) == 1
    assert Instance.objects.count() == 3


def test_a_zip_is_expanded(uploader):
    response = _upload(uploader, [("study.zip", zip_bytes(sagittal_series(3)))])
    assert response.status_code == 201
    assert {o["name"] for o in response.json()["stored"]} == {
        "study.zip/IM0001.dcm",
        "study.zip/IM0002.dcm",
        "study.zip/IM0003.dcm",
    }


def test_duplicate_upload_is_reported_not_stored_twice(uploader):
    files = sagittal_series(2)
    _upload(uploader, files)
    response = _upload(uploader, files)
    assert response.status_code == 201
    assert len(response.json()["duplicates"]) == 2 and Instance.objects.count() == 2


def test_bad_file_gives_400_with_per_file_reason_and_keeps_the_good_ones(uploader):
    response = _upload(uploader, [*sagittal_series(2), ("ct.dcm", mr_bytes(Modality="CT"))])
    assert response.status_code == 400
    body = response.json()
    assert [r["name"] for r in body["rejected"]] == ["ct.dcm"]
    assert "CT" in body["rejected"][0]["detail"] and body["rejected"][0]["code"] == "wrong_modality"
    assert len(body["stored"]) == 2 and Instance.objects.count() == 2


def test_zip_with_path_traversal_is_refused_per_member(uploader):
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        for name, data in sagittal_series(2):
            archive.writestr(name, data)
        archive.writestr("../../etc/evil.dcm", mr_bytes())
        archive.writestr("/abs/evil2.dcm", mr_bytes())
    response = _upload(uploader, [("evil.zip", evil.getvalue())])
    assert response.status_code == 400
    rejected = response.json()["rejected"]
    assert {r["code"] for r in rejected} == {"path_traversal"}
    assert len(rejected) == 2
    assert Instance.objects.count() == 2


def test_zip_bomb_is_refused_and_the_other_upload_kept(uploader, settings):
    settings.RADBOT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.dcm", b"\0" * (16 * 1024 * 1024))
    assert len(bomb.getvalue()) < 100_000
    response = _upload(uploader, [("bomb.zip", bomb.getvalue()), *sagittal_series(2)])
    assert response.status_code == 400
    rejected = response.json()["rejected"]
    assert rejected and rejected[0]["code"] in {"archive_too_large", "compression_ratio"}
    assert "bomb.zip" in rejected[0]["name"]
    assert Instance.objects.count() == 2


def test_no_files_is_a_clear_400(uploader):
    response = uploader.post("/api/studies/upload", {}, format="multipart")
    assert response.status_code == 400 and "No files" in response.json()["detail"]


def test_upload_makes_study_visible_in_api(uploader):
    _upload(uploader, sagittal_series(2))
    study = Study.objects.get()
    listing = uploader.get("/api/studies").json()
    assert (
        listing["count"] == 1
        and listing["results"][0]["study_instance_uid"] == study.study_instance_uid
    )
    detail = uploader.get(f"/api/studies/{study.study_instance_uid}").json()
    assert detail["series"][0]["slice_count"] == 2
