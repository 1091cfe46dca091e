"""Write synthetic MR images as valid DICOM Part 10 files (explicit VR little endian)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from studies.dicom.build import new_mr_image


def make_uid(*parts: object) -> str:
    """Deterministic UID from the given parts (no clock, no randomness)."""
    return generate_uid(entropy_srcs=["radbot-synth", *(str(p) for p in parts)])


def _ds(value: float) -> str:
    """A DS string of at most 16 characters (the VR's limit)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text[:16]


@dataclass
class StudyInfo:
    """Patient and study level attributes shared by every file of a study."""

    patient_name: str
    patient_id: str
    birth_date: str
    sex: str
    age: int
    study_uid: str
    study_date: str
    study_time: str
    accession: str
    institution: str
    referring: str
    study_id: str
    frame_uid: str
    field_strength: float


@dataclass
class SeriesInfo:
    """One series: description, timing and the per-slice geometry."""

    series_uid: str
    number: int
    description: str
    tr: float
    te: float
    spacing: float  # in-plane pixel spacing, mm
    thickness: float
    slice_spacing: float
    row_dir: np.ndarray
    col_dir: np.ndarray
    positions: Sequence[np.ndarray]  # ImagePositionPatient per slice
    series_time: str


def write_series(
    folder: Path,
    study: StudyInfo,
    series: SeriesInfo,
    images: np.ndarray,
    window: tuple[float, float],
) -> list[Path]:
    """Write one file per slice (IM0001.dcm ...) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    normal = np.cross(series.row_dir, series.col_dir)
    paths: list[Path] = []
    for n, (pos, img) in enumerate(zip(series.positions, images, strict=True), start=1):
        sop_uid = make_uid(series.series_uid, "sop", n)
        ds = new_mr_image(sop_uid=sop_uid, image_type=["ORIGINAL", "PRIMARY", "M", "NONE"])
        ds.StudyDate = study.study_date
        ds.SeriesDate = study.study_date
        ds.ContentDate = study.study_date
        ds.StudyTime = study.study_time
        ds.SeriesTime = series.series_time
        ds.ContentTime = series.series_time
        ds.AccessionNumber = study.accession
        ds.Modality = "MR"
        ds.Manufacturer = "RadBot Synthetic"
        ds.InstitutionName = study.institution
        ds.ReferringPhysicianName = study.referring
        ds.StudyDescription = "MRI LUMBAR SPINE"
        ds.SeriesDescription = series.description
        ds.PatientName = study.patient_name
        ds.PatientID = study.patient_id
        ds.PatientBirthDate = study.birth_date
        ds.PatientSex = study.sex
        ds.PatientAge = f"{study.age:03d}Y"
        ds.BodyPartExamined = "LSPINE"
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "SK"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.SliceThickness = _ds(series.thickness)
        ds.RepetitionTime = _ds(series.tr)
        ds.EchoTime = _ds(series.te)
        ds.MagneticFieldStrength = _ds(study.field_strength)
        ds.SpacingBetweenSlices = _ds(series.slice_spacing)
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = study.study_uid
        ds.SeriesInstanceUID = series.series_uid
        ds.StudyID = study.study_id
        ds.SeriesNumber = series.number
        ds.InstanceNumber = n
        ds.ImagePositionPatient = [_ds(v) for v in pos]
        ds.ImageOrientationPatient = [_ds(v) for v in (*series.row_dir, *series.col_dir)]
        ds.FrameOfReferenceUID = study.frame_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = _ds(float(np.dot(pos, normal)))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = int(img.shape[0]), int(img.shape[1])
        ds.PixelSpacing = [_ds(series.spacing), _ds(series.spacing)]
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.WindowCenter = _ds(window[0])
        ds.WindowWidth = _ds(window[1])
        ds.PixelData = np.ascontiguousarray(img, dtype="<u2").tobytes()
        path = folder / f"IM{n:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
