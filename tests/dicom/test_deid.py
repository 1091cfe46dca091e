from __future__ import annotations

import datetime as dt
import io

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from studies.dicom.deid import (
    REMOVE_TAGS,
    age_string,
    cap_age,
    clean_description,
    date_shift_for,
    deidentify,
    keyed_uid,
    patient_issuer,
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
    return deidentify(
        ds,
        pseudonym=pseudonym_for(patient_id, secret=SECRET),
        date_shift_days=date_shift_for(patient_id, secret=SECRET),
        secret=SECRET,
    )


def test_removes_every_identifying_tag():
    ds = _rich_dataset()
    _deid(ds)
    for keyword in IDENTIFYING:
        assert not ds.get(keyword), keyword  # removed, or blanked where type 2
    for keyword in (
        "OtherPatientIDsSequence",
        "InstitutionName",
        "StudyDescription",
        "SeriesDescription",
        "PatientBirthDate",
    ):
        assert not ds.get(keyword), keyword
    assert "PatientBirthDate" in ds and ds.PatientBirthDate == ""  # type 2: kept, empty
    assert not any(elem.tag.is_private for elem in ds)
    assert 0x60004000 not in ds and 0x50000005 not in ds
    assert "PerformingPhysicianName" not in ds.ReferencedImageSequence[0]
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    # Nothing identifying is left anywhere in the written file.
    written = to_bytes(ds)
    for needle in (
        b"Doe",
        b"MRN-0001",
        b"ACC123456",
        b"Saint Example",
        b"Springfield",
        b"19700215",
        b"20240310",
        b"HOSPITAL_PACS",
        b"SN-12345",
    ):
        assert needle not in written, needle


def test_replaces_uids_by_keyed_uids_and_sets_markers():
    ds = _rich_dataset()
    uids = (
        ds.StudyInstanceUID,
        ds.SeriesInstanceUID,
        ds.SOPInstanceUID,
        ds.FrameOfReferenceUID,
        ds.file_meta.MediaStorageSOPInstanceUID,
    )
    result = _deid(ds)
    keyed = tuple(keyed_uid(u, secret=SECRET) for u in uids)
    assert (
        ds.StudyInstanceUID,
        ds.SeriesInstanceUID,
        ds.SOPInstanceUID,
        ds.FrameOfReferenceUID,
        ds.file_meta.MediaStorageSOPInstanceUID,
    ) == keyed
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert all(u.startswith("2.25.") and len(u) <= 64 for u in keyed)
    # references inside sequences follow the same map
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == keyed_uid(
        "1.2.3.4.5", secret=SECRET
    )
    assert ds.SOPClassUID == ds.ReferencedImageSequence[0].ReferencedSOPClassUID  # class UIDs stay
    assert result.uid_map[uids[0]] == keyed[0] and result.uid_map["1.2.3.4.5"].startswith("2.25.")
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    codes = {(c.CodeValue, c.CodingSchemeDesignator) for c in ds.DeidentificationMethodCodeSequence}
    assert {("113100", "DCM"), ("113107", "DCM")} <= codes
    assert ("113110", "DCM") not in codes  # Retain UIDs is no longer claimed
    assert any("Basic Application Confidentiality Profile" in m for m in ds.DeidentificationMethod)
    assert result.dataset is ds
    # Round-trips through a real file write/read, with no original UID left in it.
    written = to_bytes(ds)
    for uid in (*uids, "1.2.3.4.5"):
        assert uid.encode() not in written, uid
    again = dcmread(io.BytesIO(written))
    assert again.PatientID == result.pseudonym
    assert again.StudyInstanceUID == keyed[0]


def test_keyed_uid_is_stable_keyed_and_a_valid_uid():
    import re

    uid = "1.3.12.2.1107.5.2.43.166123.30000024031012345678900000017"
    first = keyed_uid(uid, secret=SECRET)
    assert first == keyed_uid(uid, secret=SECRET)  # same original -> same keyed UID
    assert first != keyed_uid(uid, secret="another-secret")
    assert first != keyed_uid(uid + "1", secret=SECRET)
    assert re.fullmatch(r"2\.25\.(0|[1-9]\d*)", first) and len(first) <= 64
    assert keyed_uid("", secret=SECRET) == ""
    # purpose-separated from the other derivations keyed by the same secret
    assert first[5:] not in pseudonym_for(uid, secret=SECRET)


def test_ages_over_89_are_grouped_as_90():
    ds = _rich_dataset()
    ds.PatientAge = "094Y"
    assert _deid(ds).patient_age == "090Y" and ds.PatientAge == "090Y"
    ds = _rich_dataset()
    del ds.PatientAge
    ds.PatientBirthDate = "19200101"  # 104 on 2024-03-10
    assert _deid(ds).patient_age == "090Y" and ds.PatientAge == "090Y"
    ds = _rich_dataset()
    ds.PatientAge = "089Y"
    assert _deid(ds).patient_age == "089Y"
    assert cap_age(104) == 90 and cap_age(89) == 89 and cap_age(None) is None


def test_removes_trial_order_and_software_identifiers():
    extra = {
        "ClinicalTrialSubjectID": "SUBJ-17",
        "ClinicalTrialSubjectReadingID": "READ-3",
        "ClinicalTrialSiteID": "SITE-9",
        "ClinicalTrialSiteName": "Springfield Trial Site",
        "ClinicalTrialTimePointID": "TP-2",
        "ClinicalTrialProtocolName": "SPINE-TRIAL",
        "PlacerOrderNumberImagingServiceRequest": "PLACER-881",
        "FillerOrderNumberImagingServiceRequest": "FILLER-882",
        "ScheduledProcedureStepID": "SPS-55",
        "SoftwareVersions": "syngo MR E11",
    }
    ds = _rich_dataset(**extra)
    _deid(ds)
    for keyword in extra:
        assert keyword not in ds, keyword
    written = to_bytes(ds)
    for value in extra.values():
        assert value.encode() not in written, value


def test_date_under_a_wrong_vr_is_shifted_or_blanked():
    ds = _rich_dataset()
    del ds.StudyDate
    ds.add_new(0x00080020, "LO", "20240310")  # StudyDate written as LO
    del ds.AcquisitionDate
    ds.add_new(0x00080022, "LO", "not a date")
    result = _deid(dcmread(io.BytesIO(to_bytes(ds))))
    out = result.dataset
    shifted = (dt.date(2024, 3, 10) + dt.timedelta(days=result.date_shift_days)).strftime("%Y%m%d")
    assert out["StudyDate"].VR == "DA" and out.StudyDate == shifted
    assert out.AcquisitionDate == ""
    assert b"20240310" not in to_bytes(out)


def test_pseudonym_takes_the_issuer():
    assert pseudonym_for("MRN-1", secret=SECRET, issuer="site a") != pseudonym_for(
        "MRN-1", secret=SECRET, issuer="site b"
    )
    ds = make_mr(IssuerOfPatientID="HOSP-A", InstitutionName="Saint Example")
    assert patient_issuer(ds) == "hosp-a"
    ds = make_mr(InstitutionName="Saint  Example ")
    assert patient_issuer(ds) == "saint example"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("SAG T2 TSE", True),
        ("t2_tse_sag", True),
        ("MRI LUMBAR SPINE", True),
        ("AX T2 L4-5", True),
        ("T2* GRE", True),
        ("", False),
        ("SAG T2 Doe", False),
        ("John Smith lumbar", False),
        ("MRI 03/15/2019", False),
        ("ACC123456", False),
        ("Lumbar spine for Dr House", False),
    ],
)
def test_clean_description_keeps_protocol_words_only(text, kept):
    assert clean_description(text) == (text if kept else "")


def test_clean_description_drops_the_patients_own_identifiers():
    assert clean_description("SAG STIR", identifiers=["Stir^Anna"]) == ""
    assert clean_description("SAG STIR", identifiers=["Doe^John"]) == "SAG STIR"


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
        days=shift
    )
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
    for needle in (
        b"Doe",
        b"MRN-0001",
        b"ACC123456",
        b"Saint Example",
        b"19700215",
        b"20240310",
        b"20240311",
        b"20240301",
        b"SN-12345",
    ):
        assert needle not in written, needle


def _shifted(da: str, days: int) -> str:
    import datetime as dt

    return (dt.date(int(da[:4]), int(da[4:6]), int(da[6:])) + dt.timedelta(days=days)).strftime(
        "%Y%m%d"
    )
