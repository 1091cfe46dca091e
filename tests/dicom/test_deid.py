from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from studies.dicom.deid import (
    REMOVE_TAGS,
    age_string,
    date_shift_for,
    deidentify,
    pseudonym_for,
)
from studies.dicom.errors import IngestError
from tests.dicom.factory import make_mr, to_bytes

SECRET = "test-secret"

IDENTIFYING = {
    "OtherPatientIDs": "OLD-77",
    "PatientAddress": "1 Main Street, Springfield",
    "PatientTelephoneNumbers": "555-0100",
    "InstitutionAddress": "2 Hospital Road",
    "ReferringPhysicianName": "House^Gregory",
    "PerformingPhysicianName": "Quinn^Michaela",
    "OperatorsName": "Tech^Terry",
    "PatientBirthName": "Roe^John",
    "PatientMotherBirthName": "Roe^Mary",
    "StationName": "MR1-SPRINGFIELD",
    "DeviceSerialNumber": "SN-12345",
    "ImageComments": "patient John Doe, claustrophobic",
    "RequestingPhysician": "Wilson^James",
    "NameOfPhysiciansReadingStudy": "Cuddy^Lisa",
    "InstitutionalDepartmentName": "Radiology East",
    "AdditionalPatientHistory": "fell at home",
}


def _rich_dataset(**extra) -> Dataset:
    ds = make_mr(**IDENTIFYING, **extra)
    ds.PatientAge = "054Y"
    ds.AcquisitionDate = "20240310"
    ds.ContentDate = "20240311"
    ds.AcquisitionDateTime = "20240310101530.5+0100"
    ds.InstanceCreationDate = "20240312"
    ds.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")  # private creator
    ds.add_new(0x00291010, "OB", b"Doe^John private")
    ds.add_new(0x60004000, "LT", "overlay comment naming the patient")
    ds.add_new(0x50000005, "US", 2)  # a retired curve attribute
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    item.PerformingPhysicianName = "Nested^Doctor"
    item.ContentDate = "20240301"
    ds.ReferencedImageSequence = Sequence([item])
    other = Dataset()
    other.PatientID = "OLD-77"
    ds.OtherPatientIDsSequence = Sequence([other])
    return ds


def _deid(ds: Dataset, patient_id: str = "MRN-0001"):
    return deidentify(ds, pseudonym=pseudonym_for(patient_id, secret=SECRET),
                      date_shift_days=date_shift_for(patient_id, secret=SECRET), secret=SECRET)


def test_removes_every_identifying_tag():
    ds = _rich_dataset()
    _deid(ds)
    for keyword in IDENTIFYING:
        assert not ds.get(keyword), keyword  # removed, or blanked where type 2
    for keyword in ("OtherPatientIDsSequence", "InstitutionName", "StudyDescription",
                    "SeriesDescription", "PatientBirthDate"):
        assert not ds.get(keyword), keyword
    assert "PatientBirthDate" in ds and ds.PatientBirthDate == ""  # type 2: kept, empty
    assert not any(elem.tag.is_private for elem in ds)
    assert 0x60004000 not in ds and 0x50000005 not in ds
    assert "PerformingPhysicianName" not in ds.ReferencedImageSequence[0]
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    # Nothing identifying is left anywhere in the written file.
    written = to_bytes(ds)
    for needle in (b"Doe", b"MRN-0001", b"ACC123456", b"Saint Example", b"Springfield",
                   b"19700215", b"20240310", b"HOSPITAL_PACS", b"SN-12345"):
        assert needle not in written, needle


def test_keeps_uids_and_sets_markers():
    ds = _rich_dataset()
    uids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
            ds.FrameOfReferenceUID, ds.file_meta.MediaStorageSOPInstanceUID)
    result = _deid(ds)
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
            ds.FrameOfReferenceUID, ds.file_meta.MediaStorageSOPInstanceUID) == uids
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.4.5"
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    codes = {(c.CodeValue, c.CodingSchemeDesignator) for c in ds.DeidentificationMethodCodeSequence}
    assert {("113100", "DCM"), ("113107", "DCM"), ("113110", "DCM")} <= codes
    assert any("Basic Application Confidentiality Profile" in m for m in ds.DeidentificationMethod)
    assert result.dataset is ds
    # Round-trips through a real file write/read.
    again = dcmread(io.BytesIO(to_bytes(ds)))
    assert again.PatientID == result.pseudonym


def test_returns_originals_and_pseudonymises_ids():
    ds = _rich_dataset()
    result = _deid(ds)
    assert result.original_patient_id == "MRN-0001"
    assert result.original_patient_name == "Doe^John"
    assert result.original_birth_date == "19700215"
    assert result.original_accession == "ACC123456"
    assert result.original_institution == "Saint Example Hospital"
    assert ds.PatientName == ds.PatientID == result.pseudonym
    assert result.pseudonym.startswith("P-") and len(result.pseudonym) == 14
    assert ds.AccessionNumber == result.accession_pseudonym
    assert result.accession_pseudonym.startswith("A-")
    assert result.accession_pseudonym != "ACC123456"


def test_keeps_age_and_computes_it_when_missing():
    ds = _rich_dataset()
    assert _deid(ds).patient_age == "054Y" and ds.PatientAge == "054Y"
    ds = _rich_dataset()
    del ds.PatientAge
    result = _deid(ds)
    assert result.patient_age == "054Y"  # 1970-02-15 -> 2024-03-10
    assert ds.PatientAge == "054Y"


def test_age_string_for_infants():
    import datetime as dt

    assert age_string(dt.date(2024, 1, 1), dt.date(2024, 3, 5)) == "002M"
    assert age_string(dt.date(2024, 3, 1), dt.date(2024, 3, 5)) == "004D"


def test_dates_shifted_consistently_per_patient():
    shift = date_shift_for("MRN-0001", secret=SECRET)
    assert -365 <= shift <= -1
    first = _rich_dataset()
    later = _rich_dataset(StudyDate="20250310")
    _deid(first)
    _deid(later)
    import datetime as dt

    def d(s):
        return dt.datetime.strptime(s, "%Y%m%d").date()

    assert d(first.StudyDate) == dt.date(2024, 3, 10) + dt.timedelta(days=shift)
    assert d(first.ContentDate) == dt.date(2024, 3, 11) + dt.timedelta(days=shift)
    assert first.AcquisitionDateTime[8:] == "101530.5+0100"
    assert d(first.AcquisitionDateTime[:8]) == dt.date(2024, 3, 10) + dt.timedelta(days=shift)
    assert d(first.ReferencedImageSequence[0].ContentDate) == dt.date(2024, 3, 1) + dt.timedelta(
        days=shift)
    # Interval between the patient's two studies is preserved exactly.
    assert (d(later.StudyDate) - d(first.StudyDate)).days == 365
    assert first.StudyTime == "101530.25"  # times are kept


def test_unparseable_date_is_blanked_not_leaked():
    ds = _rich_dataset(SeriesDate="2024XX10")
    _deid(ds)
    assert ds.SeriesDate == ""


def test_same_patient_same_pseudonym_and_shift():
    assert pseudonym_for("MRN-0001", secret=SECRET) == pseudonym_for(" MRN-0001 ", secret=SECRET)
    assert date_shift_for("MRN-0001", secret=SECRET) == date_shift_for("MRN-0001", secret=SECRET)


def test_different_patients_and_secrets_differ():
    assert pseudonym_for("MRN-0001", secret=SECRET) != pseudonym_for("MRN-0002", secret=SECRET)
    assert pseudonym_for("MRN-0001", secret=SECRET) != pseudonym_for("MRN-0001", secret="other")
    shifts = {date_shift_for(f"MRN-{i:04d}", secret=SECRET) for i in range(50)}
    assert len(shifts) > 30  # spread over the range, not a constant


def test_empty_patient_id_cannot_be_pseudonymised():
    with pytest.raises(IngestError):
        pseudonym_for("  ", secret=SECRET)


def test_deid_table_has_no_unknown_keywords():
    # _tags() raises at import for typos; this guards against the table being emptied.
    assert len(REMOVE_TAGS) > 150


@pytest.mark.parametrize("implicit", [False, True])
def test_a_data_set_read_from_a_file_is_deidentified_completely(implicit):
    # Read from bytes, elements are raw until converted: removal, blanking and date
    # shifting must not depend on them having been converted first.
    from pydicom.uid import ImplicitVRLittleEndian

    source = _rich_dataset()
    if implicit:
        source.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds = dcmread(io.BytesIO(to_bytes(source)))
    result = _deid(ds)
    assert result.original_patient_id == "MRN-0001" and result.original_birth_date == "19700215"
    for keyword in IDENTIFYING:
        assert not ds.get(keyword), keyword
    assert ds.PatientBirthDate == "" and ds.PatientName == result.pseudonym
    assert not any(elem.tag.is_private for elem in ds)
    shift = result.date_shift_days
    assert ds.ContentDate == _shifted("20240311", shift)
    assert ds.ReferencedImageSequence[0].ContentDate == _shifted("20240301", shift)
    assert "PerformingPhysicianName" not in ds.ReferencedImageSequence[0]
    written = to_bytes(ds)
    for needle in (b"Doe", b"MRN-0001", b"ACC123456", b"Saint Example", b"19700215", b"20240310",
                   b"20240311", b"20240301", b"SN-12345"):
        assert needle not in written, needle


def _shifted(da: str, days: int) -> str:
    import datetime as dt

    return (dt.date(int(da[:4]), int(da[4:6]), int(da[6:])) + dt.timedelta(days=days)).strftime("%Y%m%d")
