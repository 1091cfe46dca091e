"""Reads: a ReportVersion, its study, predictions and stored images as an ExportableReport."""

from __future__ import annotations

import logging
from typing import Any

import pydicom
from django.utils import timezone

from inference.models import InferenceJob, Prediction
from reports.exports.document import (
    DicomSource,
    ExportableReport,
    NotExportableError,
    SourceInstance,
)
from reports.models import ReportVersion
from studies.models import Instance, Study
from studies.storage import media_path

logger = logging.getLogger(__name__)

SIGNED = (ReportVersion.Status.FINAL, ReportVersion.Status.AMENDED)

# Patient, patient-study and general-study module attributes the SR copies from the images.
STUDY_KEYWORDS = (
    "SpecificCharacterSet",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
)
_INSTANCE_TAGS = ["SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID"]
# The detector whose best slice illustrates a level's finding: the mid-sagittal disc slice.
KEY_IMAGE_DETECTOR = "canal_stenosis"


def version_for_export(*, version_id: int) -> ReportVersion:
    """The version with everything an export reads; raises ReportVersion.DoesNotExist."""
    return ReportVersion.objects.select_related(
        "report__study__patient", "signed_by", "source_job__model_version"
    ).get(pk=version_id)


def source_job(version: ReportVersion) -> InferenceJob | None:
    """The inference job behind the text: the version's own, else the draft it was edited from."""
    seen: set[int] = set()
    current: ReportVersion | None = version
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        if current.source_job_id:
            return InferenceJob.objects.select_related("model_version").get(
                pk=current.source_job_id
            )
        current = current.based_on
    return None


def exportable_report(*, version: ReportVersion, with_dicom: bool = False) -> ExportableReport:
    """Plain data for the builders; ``with_dicom`` also reads the stored images' headers."""
    if version.status not in SIGNED or version.signed_by is None or version.signed_at is None:
        raise NotExportableError(
            f"Version {version.number} is {version.status}: only signed (final or amended) "
            "versions can be exported."
        )
    study: Study = version.report.study
    signer = version.signed_by
    signed = version.report.versions.filter(status__in=SIGNED)
    previous = (
        signed.filter(number__lt=version.number)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    later = (
        signed.filter(number__gt=version.number)
        .order_by("number")
        .values_list("number", flat=True)
        .first()
    )

    job = source_job(version)
    predictions = list(Prediction.objects.filter(job=job).select_related("level")) if job else []
    dicom = dicom_source(study=study) if with_dicom else None
    key_images = _key_images(study, predictions, dicom) if dicom else {}

    return ExportableReport(
        study_instance_uid=study.study_instance_uid,
        accession=study.accession,
        patient_pseudonym=study.patient.pseudonym,
        study_date=study.study_date,
        patient_sex=study.sex,
        patient_age_years=study.age_years,
        study_description=study.description,
        version_number=version.number,
        status=version.status,
        edited=version.origin == ReportVersion.Origin.EDITED,
        amendment_reason=version.amendment_reason,
        findings=tuple((f["level"], f["text"]) for f in version.findings),
        impression=version.impression,
        labels=dict(version.labels or {}),
        probabilities={p.level.level: dict(p.probabilities) for p in predictions},
        ap_diameters_mm={p.level.level: p.ap_diameter_mm for p in predictions if p.ap_diameter_mm},
        model_version_name=job.model_version.name if job else "",
        signer_name=signer.get_full_name() or signer.get_username(),
        signer_username=signer.get_username(),
        signer_family_name=getattr(signer, "last_name", "") or "",
        signer_given_name=getattr(signer, "first_name", "") or "",
        signed_at=timezone.localtime(version.signed_at),
        content_sha256=version.content_sha256,
        previous_signed_version=previous,
        superseded_by=later,
        key_images=key_images,
        dicom=dicom,
    )


def dicom_source(*, study: Study) -> DicomSource | None:
    """UIDs and SOP classes of the study's stored images; None when none can be read.

    The database has the instance UIDs but not their SOP classes, and the SR must copy
    the patient and study modules exactly as the images carry them, so the headers are
    read (without pixel data).
    """
    rows = list(
        Instance.objects.filter(series__study=study)
        .order_by("series__number", "series_id", "slice_location_mm", "instance_number")
        .values_list("file", flat=True)
    )
    attributes: dict[str, Any] = {}
    instances: list[SourceInstance] = []
    for relative in rows:
        try:
            path = media_path(relative)
            if not attributes:
                header = pydicom.dcmread(path, stop_before_pixels=True)
                attributes = {k: header[k].value for k in STUDY_KEYWORDS if k in header}
            else:
                header = pydicom.dcmread(
                    path, stop_before_pixels=True, specific_tags=_INSTANCE_TAGS
                )
        except (
            OSError,
            ValueError,
            pydicom.errors.InvalidDicomError,
        ) as exc:  # ValueError: UnsafePath
            logger.warning("SR export skips unreadable stored file %s: %s", relative, exc)
            continue
        instances.append(
            SourceInstance(
                sop_class_uid=str(header.SOPClassUID),
                sop_instance_uid=str(header.SOPInstanceUID),
                series_instance_uid=str(header.SeriesInstanceUID),
            )
        )
    if not instances:
        return None
    return DicomSource(study_attributes=attributes, instances=tuple(instances))


def _key_images(
    study: Study, predictions: list[Prediction], dicom: DicomSource
) -> dict[str, SourceInstance]:
    by_uid = {i.sop_instance_uid: i for i in dicom.instances}
    wanted = {
        p.level.level: (slice_["series_uid"], slice_["instance_number"])
        for p in predictions
        if (slice_ := (p.best_slice or {}).get(KEY_IMAGE_DETECTOR))
    }
    if not wanted:
        return {}
    located = {
        (series_uid, number): uid
        for series_uid, number, uid in Instance.objects.filter(series__study=study).values_list(
            "series__series_instance_uid", "instance_number", "sop_instance_uid"
        )
    }
    out = {}
    for level, key in wanted.items():
        uid = located.get(key)
        if uid in by_uid:
            out[level] = by_uid[uid]
    return out
