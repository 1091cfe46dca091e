"""Ingest under hostile input and faults (review #1, #2, #5, #6, #7c, uploads audited).

Files are built with pydicom (tests/dicom/factory.py); nothing is mocked except, where
said, a fault injected into one step to show what happens when that step breaks.
"""

from __future__ import annotations

import struct
import threading
import warnings
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from pydicom.dataset import Dataset

from audit.models import AccessEvent
from studies.dicom import deid
from studies.dicom.errors import ErrorCode
from studies.dicom.reader import read_instance
from studies.models import Instance, PendingFollowUp, Series, Study
from studies.services import ingest as ingest_service
from studies.services.ingest import ingest_paths
from studies.services.thumbnails import render_series_thumbnail
from studies.storage import UnsafePath
from tests.conftest import require_service
from tests.dicom.factory import make_mr, to_bytes
from tests.factories import StudyFactory, make_user
from tests.studies.batch import mr_bytes, sagittal_series, write_files


def _files_outside(root: Path, media: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not p.is_relative_to(media) and "in" not in p.parts
    ]


def _by_name(outcomes):
    return {o.name.rsplit("/", 1)[-1]: o for o in outcomes}


# --- #1 path traversal -------------------------------------------------------------------


@pytest.mark.django_db
def test_manage_py_ingest_of_traversal_uids_writes_nothing_outside_media(
    tmp_path, settings, capsys
):
    evil = mr_bytes(
        StudyInstanceUID="../../../../evil_study", SeriesInstanceUID="../../evil_series"
    )
    write_files(tmp_path / "in", [("evil.dcm", evil), *sagittal_series(2)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call_command("ingest", str(tmp_path / "in"))
    assert not [w for w in caught if "evil" in str(w.message)]  # #23: no values in warnings/logs
    err = capsys.readouterr().err
    assert "evil.dcm" in err and "StudyInstanceUID is not a valid DICOM UID" in err
    media = Path(settings.MEDIA_ROOT).resolve()
    # where the old code wrote the file and the thumbnail
    assert not (media / "dicom/../../../../evil_study").resolve().exists()
    assert not (media / "thumbnails/../../evil_series.png").resolve().exists()
    assert _files_outside(tmp_path, media) == []
    assert Instance.objects.count() == 2  # the good files of the batch are kept
    assert all((media / f).is_file() for f in Instance.objects.values_list("file", flat=True))


@pytest.mark.django_db
def test_paths_from_data_are_refused_even_when_validation_is_bypassed(settings, tmp_path):
    # Second wall: a UID that reached storage some other way still cannot leave MEDIA_ROOT.
    instance = read_instance(mr_bytes(), name="ok.dcm")
    with pytest.raises(UnsafePath):
        ingest_service._series_folder("1.2.3", "../../../outside")
    folder = ingest_service._series_folder("1.2.3", instance.series_uid)
    object.__setattr__(instance, "sop_uid", "../../outside")
    with pytest.raises(UnsafePath):
        ingest_service._write_file(instance, folder, [])
    assert list(folder.path.iterdir()) == []
    series = Series.objects.create(
        study=StudyFactory(),
        series_instance_uid="../../evil_series",
        plane="sagittal",
        weighting="T2",
        rows=16,
        columns=16,
        pixel_spacing_row_mm=1,
        pixel_spacing_col_mm=1,
        orientation=[0, 1, 0, 0, 0, -1],
    )
    Instance.objects.create(
        series=series,
        sop_instance_uid="1.2",
        position_x=0,
        position_y=0,
        position_z=0,
        slice_location_mm=0,
        file="../outside.dcm",
        sha256="0",
        size_bytes=1,
    )
    (tmp_path / "outside.dcm").write_bytes(mr_bytes())
    with pytest.raises(UnsafePath):
        render_series_thumbnail(series_id=series.pk)
    from inference import selectors as inference_selectors
    from reports.exports.from_models import dicom_source

    with pytest.raises(UnsafePath):
        inference_selectors.series_files(series)
    assert dicom_source(study=series.study) is None  # skipped, not read
    assert _files_outside(tmp_path, Path(settings.MEDIA_ROOT).resolve()) == [
        tmp_path / "outside.dcm"
    ]


# --- #6 files accepted that crashed later; one study's failure costs only its files -------


def _truncated_sequence() -> bytes:
    ds = make_mr(PatientID="MRN-SEQ")
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = [item]
    data = bytearray(to_bytes(ds))
    at = data.index(b"\x08\x00\x40\x11SQ\x00\x00")
    (length,) = struct.unpack_from("<I", data, at + 8)
    return bytes(
        data[: at + 8] + struct.pack("<I", 4) + data[at + 12 : at + 16] + data[at + 12 + length :]
    )


@pytest.mark.django_db
def test_a_hostile_batch_keeps_its_good_files_and_says_why_per_file(tmp_path):
    files = [
        *sagittal_series(3),
        ("age150.dcm", mr_bytes(PatientID="MRN-OLD", PatientAge="150Y")),
        (
            "born_after.dcm",
            mr_bytes(PatientID="MRN-BORN", PatientBirthDate="20300101", PatientAge=None),
        ),
        ("long_id.dcm", mr_bytes(PatientID="P" * 65)),
        ("long_uid.dcm", mr_bytes(SeriesInstanceUID="1." + "2" * 70)),
        ("big_number.dcm", mr_bytes(PatientID="MRN-NUM", InstanceNumber=2**31 + 5)),
        ("sequence.dcm", _truncated_sequence()),
        ("no_bits_stored.dcm", mr_bytes(PatientID="MRN-PIX", BitsStored=None)),
    ]
    write_files(tmp_path / "in", files)
    summary = ingest_paths(paths=[tmp_path / "in"])
    stored, rejected = _by_name(summary.stored), _by_name(summary.rejected)
    assert {"IM0001.dcm", "IM0002.dcm", "IM0003.dcm", "age150.dcm", "born_after.dcm"} == set(stored)
    assert set(rejected) == {
        "long_id.dcm",
        "long_uid.dcm",
        "big_number.dcm",
        "sequence.dcm",
        "no_bits_stored.dcm",
    }
    assert all(o.detail and o.code for o in rejected.values())
    assert rejected["sequence.dcm"].code == ErrorCode.CORRUPT_DICOM
    assert rejected["no_bits_stored.dcm"].code == ErrorCode.MISSING_TAG
    ages = dict(Study.objects.values_list("patient__identity__original_patient_id", "age_years"))
    assert (
        ages["MRN-OLD"] is None and ages["MRN-BORN"] is None
    )  # implausible age: unknown, not a crash


@pytest.mark.django_db
def test_an_unexpected_error_in_one_study_rejects_only_that_study(tmp_path, monkeypatch):
    # Fault injected: de-identification breaks on one patient's files.
    real = deid.deidentify

    def breaks_for_one_patient(ds, **kwargs):
        if str(ds.get("PatientID")) == "MRN-BAD":
            raise RuntimeError("injected fault")
        return real(ds, **kwargs)

    monkeypatch.setattr(deid, "deidentify", breaks_for_one_patient)
    write_files(
        tmp_path / "in",
        [
            *sagittal_series(2, patient_id="MRN-BAD"),
            *[
                (f"good{i}.dcm", data)
                for i, (_, data) in enumerate(sagittal_series(2, patient_id="MRN-GOOD"))
            ],
        ],
    )
    summary = ingest_paths(paths=[tmp_path / "in"])
    assert {o.name.rsplit("/", 1)[-1] for o in summary.stored} == {"good0.dcm", "good1.dcm"}
    assert {o.code for o in summary.rejected} == {ErrorCode.INGEST_FAILED} and len(
        summary.rejected
    ) == 2
    assert Study.objects.count() == 1 and Instance.objects.count() == 2


# --- #5 a UID that belongs to another patient or study -----------------------------------


@pytest.mark.django_db
def test_a_study_uid_of_another_patient_is_rejected(tmp_path):
    victim = sagittal_series(2, patient_id="MRN-VICTIM")
    write_files(tmp_path / "a", victim)
    ingest_paths(paths=[tmp_path / "a"])
    # The original UID, as the source PACS knows it (stored UIDs are keyed again on the way in).
    study_uid = Study.objects.get().identity.original_study_uid
    write_files(
        tmp_path / "b",
        sagittal_series(2, study_uid=study_uid, patient_id="MRN-ATTACKER", SeriesNumber=1),
    )
    summary = ingest_paths(paths=[tmp_path / "b"])
    assert not summary.stored and len(summary.rejected) == 2
    assert {o.code for o in summary.rejected} == {ErrorCode.UID_CONFLICT}
    assert "another patient" in summary.rejected[0].detail
    assert Series.objects.count() == 1 and Instance.objects.count() == 2


@pytest.mark.django_db
def test_a_series_uid_of_another_study_is_rejected(tmp_path):
    write_files(tmp_path / "a", sagittal_series(2))
    ingest_paths(paths=[tmp_path / "a"])
    series = Series.objects.get()
    # same patient, new study, but claiming the stored series
    files = [
        (
            f"x{i}.dcm",
            mr_bytes(
                SeriesInstanceUID=series.identity.original_series_uid,
                InstanceNumber=9 + i,
                ImagePositionPatient=[20.0 + 4 * i, -100.0, 100.0],
            ),
        )
        for i in range(2)
    ]
    write_files(tmp_path / "b", files)
    summary = ingest_paths(paths=[tmp_path / "b"])
    assert not summary.stored and {o.code for o in summary.rejected} == {ErrorCode.UID_CONFLICT}
    assert "another study" in summary.rejected[0].detail
    assert series.instances.count() == 2


@pytest.mark.django_db
def test_two_patients_under_one_new_study_uid_in_one_upload(tmp_path):
    files = sagittal_series(2, study_uid="1.2.3.4.5", patient_id="MRN-A")
    files += [
        (f"b{i}.dcm", d)
        for i, (_, d) in enumerate(sagittal_series(2, study_uid="1.2.3.4.5", patient_id="MRN-B"))
    ]
    write_files(tmp_path / "in", files)
    summary = ingest_paths(paths=[tmp_path / "in"])
    assert len(summary.stored) == 2 and len(summary.rejected) == 2
    assert {o.code for o in summary.rejected} == {ErrorCode.UID_CONFLICT}
    assert Study.objects.get().patient.identity.original_patient_id == "MRN-A"


# --- #2 never delete a file whose row has committed ----------------------------------------


def _parsed(files):
    """The files as ingest holds them once read: with their keyed UIDs."""
    from django.conf import settings

    return [
        deid.keyed_instance(read_instance(data, name=name), secret=settings.RADBOT_DEID_SECRET)
        for name, data in files
    ]


@pytest.mark.django_db
def test_a_concurrent_duplicate_upload_does_not_destroy_the_first_ones_files(tmp_path, settings):
    files = sagittal_series(3)
    write_files(tmp_path / "in", files)
    ingest_paths(paths=[tmp_path / "in"])  # request A commits
    stored = {i.file: (settings.MEDIA_ROOT / i.file).read_bytes() for i in Instance.objects.all()}
    # Request B read the same files and passed the duplicate check before A committed:
    # it reaches the study's transaction with all of them.
    instances = _parsed(files)
    summary = ingest_service._ingest_study(study_uid=instances[0].study_uid, instances=instances)
    assert not summary.stored and not summary.rejected and len(summary.duplicates) == 3
    assert Instance.objects.count() == 3
    assert {f: (settings.MEDIA_ROOT / f).read_bytes() for f in stored} == stored


@pytest.mark.django_db
def test_a_file_already_on_disk_is_neither_overwritten_nor_deleted(tmp_path, settings, monkeypatch):
    files = sagittal_series(2)
    first = read_instance(files[0][1], name="x")
    squatter = (
        settings.MEDIA_ROOT / "dicom" / first.study_uid / first.series_uid / f"{first.sop_uid}.dcm"
    )
    squatter.parent.mkdir(parents=True)
    squatter.write_bytes(b"another request's file")
    write_files(tmp_path / "in", files)

    # A failure after the files are written rolls back: only this request's files go.
    def fails(*args, **kwargs):
        raise RuntimeError("injected fault after the files were written")

    with monkeypatch.context() as patch:
        patch.setattr(Instance.objects, "bulk_create", fails)
        summary = ingest_paths(paths=[tmp_path / "in"])
    assert {o.code for o in summary.rejected} == {ErrorCode.INGEST_FAILED}
    assert squatter.read_bytes() == b"another request's file"
    assert [p for p in (settings.MEDIA_ROOT / "dicom").rglob("*") if p.is_file()] == [squatter]
    assert not Study.objects.exists()

    summary = ingest_paths(paths=[tmp_path / "in"])
    assert len(summary.stored) == 2
    assert squatter.read_bytes() == b"another request's file"
    for instance in Instance.objects.all():
        assert (settings.MEDIA_ROOT / instance.file).read_bytes()[128:132] == b"DICM"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_of_the_same_files_on_postgresql(tmp_path, settings, eager_celery):
    # (tasks in-process: a thumbnail task sent to CI's real worker would still be reading the
    # test database while the test's teardown empties it, and one of the two would deadlock)
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (two connections ingesting at once)")
    write_files(tmp_path / "in", sagittal_series(6))
    results, errors = [], []
    start = threading.Barrier(2)

    def upload():
        try:
            start.wait()
            results.append(ingest_paths(paths=[tmp_path / "in"]))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(len(r.stored) + len(r.duplicates) for r in results) == [6, 6]
    assert sum(len(r.stored) for r in results) == 6 and not any(r.rejected for r in results)
    assert Instance.objects.count() == 6
    for instance in Instance.objects.all():
        assert (settings.MEDIA_ROOT / instance.file).read_bytes()[128:132] == b"DICM"


@pytest.mark.django_db(transaction=True)
def test_a_thumbnail_failure_after_commit_keeps_the_study_and_is_retried(
    tmp_path, settings, eager_celery
):
    (settings.MEDIA_ROOT / "thumbnails").write_bytes(b"")  # a file where the folder should be
    write_files(tmp_path / "in", sagittal_series(3))
    summary = ingest_paths(paths=[tmp_path / "in"])
    assert len(summary.stored) == 3 and not summary.rejected
    assert Instance.objects.count() == 3
    for instance in Instance.objects.all():
        assert (settings.MEDIA_ROOT / instance.file).is_file()
    pending = PendingFollowUp.objects.get()
    assert (pending.kind, pending.series_id) == ("thumbnail", Series.objects.get().pk)
    assert pending.last_error

    (settings.MEDIA_ROOT / "thumbnails").unlink()
    call_command("requeue_followups")
    assert not PendingFollowUp.objects.exists()
    series = Series.objects.get()
    assert (settings.MEDIA_ROOT / series.thumbnail).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.django_db(transaction=True)
def test_the_next_successful_ingest_catches_up_on_pending_follow_ups(
    tmp_path, settings, eager_celery
):
    (settings.MEDIA_ROOT / "thumbnails").write_bytes(b"")
    write_files(tmp_path / "a", sagittal_series(2))
    ingest_paths(paths=[tmp_path / "a"])
    assert PendingFollowUp.objects.count() == 1
    (settings.MEDIA_ROOT / "thumbnails").unlink()
    write_files(tmp_path / "b", sagittal_series(2))
    ingest_paths(paths=[tmp_path / "b"])
    assert not PendingFollowUp.objects.exists()
    assert all(Series.objects.values_list("thumbnail", flat=True))


# --- uploads: uploader, access log, per-request memory budget ---------------------------


def _upload(client, files):
    return client.post(
        "/api/studies/upload",
        {"files": [SimpleUploadedFile(name, data) for name, data in files]},
        format="multipart",
    )


@pytest.mark.django_db
def test_an_upload_stores_the_uploader_and_is_in_the_access_log(api_client):
    user = make_user("radiologist")
    api_client.force_authenticate(user)
    response = _upload(api_client, sagittal_series(3))
    assert response.status_code == 201
    study = Study.objects.get()
    assert study.uploaded_by == user
    event = AccessEvent.objects.get(action="upload")
    assert event.user == user and event.study_uid == study.study_instance_uid
    assert event.detail["stored"] == 3


@pytest.mark.django_db
def test_the_upload_size_budget_is_per_request(api_client, settings):
    api_client.force_authenticate(make_user("researcher"))
    files = sagittal_series(5)
    settings.RADBOT_UPLOAD_MAX_BYTES = sum(len(d) for _, d in files[:3])  # each file fits alone
    response = _upload(api_client, files)
    body = response.json()
    assert response.status_code == 400
    assert len(body["stored"]) == 3 and len(body["rejected"]) == 2
    assert {r["code"] for r in body["rejected"]} == {ErrorCode.ARCHIVE_TOO_LARGE}
    assert all("limit" in r["detail"] for r in body["rejected"])
