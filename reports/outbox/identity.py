"""The original identity a study arrived with, for objects sent back to its PACS.

The stored images carry keyed ``2.25.`` UIDs and a pseudonym; the identity tables
(studies.models.identity) keep what the PACS knows. An object that is to file into the
patient's record there must carry the original Study, Series and SOP Instance UIDs
(in its references too) and the original patient ID, name and birth date.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydicom.dataset import Dataset

from reports.exports.document import DicomSource, ExportableReport
from studies.models import Study
from studies.models.identity import (
    InstanceIdentity,
    PatientIdentity,
    SeriesIdentity,
    StudyIdentity,
)

# What de-identification added, which a record in the source PACS does not carry.
_DEID_KEYWORDS = (
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
)


class MissingIdentity(Exception):
    """The study's original identity is not (fully) known; nothing can be filed back."""


@dataclass(frozen=True)
class OriginalIdentity:
    study_uid: str
    uids: Mapping[str, str]  # stored UID -> original (study, series, instances)
    frames: Mapping[str, str]  # stored SeriesInstanceUID -> original FrameOfReferenceUID
    attributes: Mapping[str, str]  # patient and study module values by keyword

    def uid(self, stored: str) -> str:
        try:
            return self.uids[stored]
        except KeyError:
            raise MissingIdentity(f"no original UID is kept for the stored UID {stored}") from None


def original_identity(study: Study) -> OriginalIdentity:
    """The study's original UIDs and patient from the identity tables; MissingIdentity
    when the study has none (made here, not received)."""
    study_row = StudyIdentity.objects.filter(study=study).first()
    patient_row = PatientIdentity.objects.filter(patient_id=study.patient_id).first()
    if study_row is None or not study_row.original_study_uid or patient_row is None:
        raise MissingIdentity(
            f"study {study.study_instance_uid} has no original identity (it was not received "
            "from a PACS), so nothing can be filed into a patient's record"
        )
    uids = {study.study_instance_uid: study_row.original_study_uid}
    frames = {}
    for stored, original, frame in SeriesIdentity.objects.filter(series__study=study).values_list(
        "series__series_instance_uid", "original_series_uid", "original_frame_of_reference_uid"
    ):
        uids[stored] = original
        if frame:
            frames[stored] = frame
    uids.update(
        InstanceIdentity.objects.filter(instance__series__study=study).values_list(
            "instance__sop_instance_uid", "original_sop_instance_uid"
        )
    )
    attributes = {
        "PatientID": patient_row.original_patient_id,
        "PatientName": patient_row.original_name,
        "PatientBirthDate": patient_row.original_birth_date,
        "AccessionNumber": study_row.original_accession,
        "StudyDate": study_row.original_study_date,
        "PatientIdentityRemoved": "NO",
    }
    return OriginalIdentity(
        study_uid=study_row.original_study_uid, uids=uids, frames=frames, attributes=attributes
    )


def original_attributes(stored: Mapping[str, Any], identity: OriginalIdentity) -> dict[str, Any]:
    """Patient and study module values with the original patient, accession and date."""
    out = {k: v for k, v in stored.items() if k not in _DEID_KEYWORDS}
    out.update(identity.attributes)
    return out


def original_report(report: ExportableReport, identity: OriginalIdentity) -> ExportableReport:
    """The report's data as the SR builder reads it, in the original identity: the SR it
    builds joins the original study and references the original images."""
    if report.dicom is None:
        return replace(report, study_instance_uid=identity.study_uid)
    instances = tuple(
        replace(
            i,
            sop_instance_uid=identity.uid(i.sop_instance_uid),
            series_instance_uid=identity.uid(i.series_instance_uid),
        )
        for i in report.dicom.instances
    )
    by_stored = dict(zip(report.dicom.instances, instances, strict=True))
    return replace(
        report,
        study_instance_uid=identity.study_uid,
        dicom=DicomSource(
            study_attributes=original_attributes(report.dicom.study_attributes, identity),
            instances=instances,
        ),
        key_images={level: by_stored.get(i, i) for level, i in report.key_images.items()},
    )


def original_dataset(stored: Dataset, identity: OriginalIdentity) -> Dataset:
    """A copy of a stored image's header as the PACS holds it (for a SEG's source images)."""
    ds = copy.deepcopy(stored)
    series = str(ds.SeriesInstanceUID)
    ds.StudyInstanceUID = identity.study_uid
    ds.SeriesInstanceUID = identity.uid(series)
    ds.SOPInstanceUID = identity.uid(str(ds.SOPInstanceUID))
    if series in identity.frames:
        ds.FrameOfReferenceUID = identity.frames[series]
    for keyword in _DEID_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    for keyword, value in identity.attributes.items():
        setattr(ds, keyword, value)
    return ds
