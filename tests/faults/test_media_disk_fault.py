"""The media disk full or read-only: the upload is refused with a reason, no row is left
without its file, and the next upload works once the disk is usable (issue #11, "Faults").

MEDIA_ROOT is a small tmpfs mounted by the test (root only); it skips where mounting is
not permitted, and fails under CI (RADBOT_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studies.models import Instance, Series, Study
from tests.conftest import require_service
from tests.factories import make_user
from tests.studies.batch import sagittal_series


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def small_media_disk(tmp_path, settings):
    mountpoint = tmp_path / "media-disk"
    mountpoint.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint))
    except (OSError, subprocess.CalledProcessError):
        require_service("mount (root) for a small tmpfs media disk")
    settings.MEDIA_ROOT = mountpoint
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _upload(client, files):
    return client.post(
        "/api/studies/upload",
        {"files": [SimpleUploadedFile(name, data) for name, data in files]},
        format="multipart",
    )


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _nothing_half_written(root: Path) -> None:
    assert (
        not Study.objects.exists() and not Series.objects.exists() and not Instance.objects.exists()
    )
    assert _files(root / "dicom") == []  # this request's partial files are gone too


def _every_row_has_its_file(root: Path) -> None:
    rows = list(Instance.objects.values_list("file", flat=True))
    assert rows and all((root / f).is_file() for f in rows)


# The uploads enqueue thumbnail tasks; run in-process, they cannot race the test's
# teardown (CI's worker reading the tables while the flush truncates them deadlocked).
@pytest.mark.django_db(transaction=True)
def test_a_full_media_disk_refuses_the_upload_and_the_next_one_works(
    small_media_disk, api_client, eager_celery
):
    api_client.force_authenticate(make_user("radiologist"))
    files = sagittal_series(10, rows=64, cols=64)  # ~9 kB each: more than the 64 kB disk
    response = _upload(api_client, files)
    assert response.status_code == 400
    body = response.json()
    assert not body["stored"] and len(body["rejected"]) == 10
    assert {r["code"] for r in body["rejected"]} == {"storage_failed"}
    assert all("storage full" in r["detail"] for r in body["rejected"])
    _nothing_half_written(small_media_disk)

    _mount("-o", "remount,size=4m", str(small_media_disk))  # space freed
    response = _upload(api_client, files)
    assert response.status_code == 201, response.content
    assert len(response.json()["stored"]) == 10
    _every_row_has_its_file(small_media_disk)


@pytest.mark.django_db(transaction=True)
def test_a_read_only_media_disk_refuses_the_upload_and_the_next_one_works(
    small_media_disk, api_client, eager_celery
):
    api_client.force_authenticate(make_user("radiologist"))
    _mount("-o", "remount,ro", str(small_media_disk))
    response = _upload(api_client, sagittal_series(2))
    assert response.status_code == 400
    body = response.json()
    assert {r["code"] for r in body["rejected"]} == {"storage_failed"}
    assert all("read-only" in r["detail"] for r in body["rejected"])
    _nothing_half_written(small_media_disk)

    _mount("-o", "remount,rw", str(small_media_disk))
    response = _upload(api_client, sagittal_series(2))
    assert response.status_code == 201, response.content
    _every_row_has_its_file(small_media_disk)
