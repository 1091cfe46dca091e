"""Ingest through the service: storage, idempotence, de-identification, bad input."""

from __future__ import annotations

import pydicom
import pytest

from studies.dicom.deid import keyed_uid
from studies.models import DiscLevel, Instance, Patient, PatientIdentity, Series, Study
from studies.selectors import study_by_any_uid
from studies.services.ingest import ingest_paths
from tests.studies.batch import mr_bytes, sagittal_series, write_files


@pytest.fixture
def good_folder(tmp_path):
    folder = tmp_path / "batch"
    write_files(folder, sagittal_series(4))
    return folder


def _reasons(summary):
    return {outcome.name.rsplit("/", 1)[-1]: outcome.detail for outcome in summary.rejected}


@pytest.mark.django_db
def test_a_series_is_stored_with_its_geometry(good_folder, settings):
    summary = ingest_paths(paths=[good_folder])
    assert len(summary.stored) == 4 and not summary.rejected and not summary.duplicates
    series = Series.objects.get()
    assert (series.plane, series.weighting, series.slice_count) == ("sagittal", "T2", 4)
    assert series.pixel_spacing_row_mm == pytest.approx(0.5)
    locations = list(series.instances.values_list("slice_location_mm", flat=True))
    assert locations == sorted(locations) and len(set(locations)) == 4
    study = Study.objects.get()
    assert sorted(DiscLevel.objects.filter(study=study).values_list("level", flat=True)) == [
        "L1-L2",
        "L2-L3",
        "L3-L4",
        "L4-L5",
        "L5-S1",
    ]
    for instance in Instance.objects.all():
        assert (settings.MEDIA_ROOT / instance.file).is_file()


@pytest.mark.django_db
def test_ingesting_the_same_files_twice_stores_them_once(good_folder):
    ingest_paths(paths=[good_folder])
    again = ingest_paths(paths=[good_folder])
    assert not again.stored and len(again.duplicates) == 4
    assert all("already stored" in d.detail for d in again.duplicates)
    assert Instance.objects.count() == 4


@pytest.mark.django_db
def test_stored_files_are_deidentified_with_keyed_uids_and_dates_shifted(good_folder, settings):
    original = pydicom.dcmread(next(good_folder.iterdir()))
    summary = ingest_paths(paths=[good_folder])
    secret = settings.RADBOT_DEID_SECRET
    instance = Instance.objects.get(identity__original_sop_instance_uid=original.SOPInstanceUID)
    assert instance.sop_instance_uid == keyed_uid(original.SOPInstanceUID, secret=secret)
    stored = pydicom.dcmread(settings.MEDIA_ROOT / instance.file)
    patient = Patient.objects.get()
    assert str(stored.PatientName) == patient.pseudonym and stored.PatientID == patient.pseudonym
    assert "Doe" not in str(stored.PatientName) and not stored.get("PatientBirthDate")
    # UIDs are keyed in the file, the rows, the paths and the summary; originals are
    # only in the identity tables.
    study = Study.objects.get()
    series = Series.objects.get()
    assert (
        stored.StudyInstanceUID
        == study.study_instance_uid
        == keyed_uid(original.StudyInstanceUID, secret=secret)
    )
    assert (
        stored.SeriesInstanceUID
        == series.series_instance_uid
        == keyed_uid(original.SeriesInstanceUID, secret=secret)
    )
    assert stored.SOPInstanceUID == instance.sop_instance_uid
    assert stored.FrameOfReferenceUID == keyed_uid(original.FrameOfReferenceUID, secret=secret)
    assert original.StudyInstanceUID not in instance.file and summary.studies == [
        study.study_instance_uid
    ]
    assert study.identity.original_study_uid == original.StudyInstanceUID
    assert series.identity.original_series_uid == original.SeriesInstanceUID
    assert series.identity.original_frame_of_reference_uid == original.FrameOfReferenceUID
    assert (
        study_by_any_uid(original.StudyInstanceUID)
        == study
        == study_by_any_uid(study.study_instance_uid)
    )
    assert stored.PatientIdentityRemoved == "YES"
    identity = PatientIdentity.objects.get()
    assert identity.original_patient_id == "MRN-0001" and identity.original_name == "Doe^John"
    assert study.identity.original_accession == "ACC123456"
    assert study.accession != "ACC123456" and study.site != "Saint Example Hospital"
    shifted = (study.study_date - pydicom.valuerep.DA(original.StudyDate)).days
    assert shifted == identity.date_shift_days != 0
    assert study.age_years is not None


@pytest.mark.django_db
def test_descriptions_are_stored_only_when_clean(tmp_path):
    write_files(
        tmp_path / "a",
        sagittal_series(2, StudyDescription="MRI LUMBAR SPINE", SeriesDescription="SAG T2 TSE"),
    )
    write_files(
        tmp_path / "b",
        sagittal_series(
            2,
            patient_id="MRN-2",
            StudyDescription="Lumbar spine Doe John 03/15/2019",
            SeriesDescription="SAG T2 for Dr House",
        ),
    )
    ingest_paths(paths=[tmp_path])
    clean = Study.objects.get(patient__identity__original_patient_id="MRN-0001")
    dirty = Study.objects.get(patient__identity__original_patient_id="MRN-2")
    assert (
        clean.description == "MRI LUMBAR SPINE" and clean.series.get().description == "SAG T2 TSE"
    )
    assert dirty.description == "" and dirty.series.get().description == ""


@pytest.mark.django_db
def test_age_over_89_is_stored_as_90(tmp_path, settings):
    write_files(tmp_path, sagittal_series(2, PatientAge="097Y"))
    ingest_paths(paths=[tmp_path])
    instance = Instance.objects.first()
    assert Study.objects.get().age_years == 90
    assert pydicom.dcmread(settings.MEDIA_ROOT / instance.file).PatientAge == "090Y"


@pytest.mark.django_db
def test_equal_patient_ids_from_two_sites_are_two_patients(tmp_path):
    write_files(tmp_path / "a", sagittal_series(2, InstitutionName="Saint Example Hospital"))
    write_files(tmp_path / "b", sagittal_series(2, InstitutionName="Other Town Clinic"))
    write_files(
        tmp_path / "c",
        sagittal_series(2, InstitutionName="Saint Example Hospital", IssuerOfPatientID="HOSP-A"),
    )
    summary = ingest_paths(paths=[tmp_path])
    assert len(summary.stored) == 6 and not summary.rejected
    assert Patient.objects.count() == 3
    assert sorted(PatientIdentity.objects.values_list("issuer", flat=True)) == [
        "hosp-a",
        "other town clinic",
        "saint example hospital",
    ]
    assert set(PatientIdentity.objects.values_list("original_patient_id", flat=True)) == {
        "MRN-0001"
    }


@pytest.mark.django_db
def test_same_patient_in_two_studies_gets_one_pseudonym_and_one_shift(tmp_path):
    write_files(tmp_path / "a", sagittal_series(2, StudyDate="20230101"))
    write_files(tmp_path / "b", sagittal_series(2, StudyDate="20240101"))
    ingest_paths(paths=[tmp_path / "a", tmp_path / "b"])
    assert Patient.objects.count() == 1 and Study.objects.count() == 2
    dates = sorted(Study.objects.values_list("study_date", flat=True))
    assert (dates[1] - dates[0]).days == 365


# --- bad input: each case rejected with its reason, the rest of the batch kept -----------

BAD_FILES = {
    "not_dicom": (b"this is a text file, not an image\n" * 20, "not a DICOM"),
    "truncated": (mr_bytes(64, 64)[:-3000], "truncated"),
    "wrong_modality": (mr_bytes(Modality="CT"), "CT"),
    "no_pixel_data": (mr_bytes(PixelData=None), "pixel data"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_rejected_with_a_reason_and_the_batch_is_kept(case, good_folder):
    data, words = BAD_FILES[case]
    (good_folder / f"{case}.dcm").write_bytes(data)
    summary = ingest_paths(paths=[good_folder])
    reasons = _reasons(summary)
    assert list(reasons) == [f"{case}.dcm"]
    assert words.lower() in reasons[f"{case}.dcm"].lower()
    assert summary.rejected[0].code == case
    assert len(summary.stored) == 4 and Instance.objects.count() == 4


@pytest.mark.django_db
def test_series_with_inconsistent_geometry_is_rejected_whole_and_others_kept(tmp_path):
    files = sagittal_series(3)
    broken = sagittal_series(3)
    odd = pydicom.dcmread(__import__("io").BytesIO(broken[2][1]))
    odd.PixelSpacing = [0.8, 0.8]
    from tests.dicom.factory import to_bytes

    broken[2] = ("odd.dcm", to_bytes(odd))
    write_files(tmp_path / "good", files)
    write_files(tmp_path / "broken", broken)
    summary = ingest_paths(paths=[tmp_path])
    assert len(summary.rejected) == 3
    assert all("pixel spacing differs" in r.detail for r in summary.rejected)
    assert {r.code for r in summary.rejected} == {"inconsistent_geometry"}
    assert len(summary.stored) == 3 and Series.objects.count() == 1


@pytest.mark.django_db
def test_a_later_file_that_does_not_fit_the_stored_series_is_rejected(tmp_path):
    files = sagittal_series(3)
    write_files(tmp_path / "first", files[:2])
    ingest_paths(paths=[tmp_path / "first"])
    late = pydicom.dcmread(__import__("io").BytesIO(files[2][1]))
    late.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    from tests.dicom.factory import to_bytes

    (tmp_path / "late.dcm").write_bytes(to_bytes(late))
    summary = ingest_paths(paths=[tmp_path / "late.dcm"])
    assert summary.rejected and "orientation" in summary.rejected[0].detail
    assert Instance.objects.count() == 2
