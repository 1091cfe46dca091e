"""Builds tiny but valid MR DICOM files for the tests (no fixtures on disk)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

SAGITTAL_IOP = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
AXIAL_IOP = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
CORONAL_IOP = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]


def make_mr(rows: int = 16, cols: int = 16, **overrides: Any) -> Dataset:
    """A valid MR Image Storage dataset; keyword overrides set (or, with None, delete) tags."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientName = "Doe^John"
    ds.PatientID = "MRN-0001"
    ds.PatientBirthDate = "19700215"
    ds.PatientSex = "M"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.StudyDate = "20240310"
    ds.SeriesDate = "20240310"
    ds.StudyTime = "101530.25"
    ds.AccessionNumber = "ACC123456"
    ds.StudyDescription = "MRI LUMBAR SPINE"
    ds.InstitutionName = "Saint Example Hospital"
    ds.SeriesNumber = 3
    ds.SeriesDescription = "SAG T2 TSE"
    ds.InstanceNumber = 1
    ds.Manufacturer = "ACME"
    ds.MagneticFieldStrength = 1.5
    ds.RepetitionTime = 3500
    ds.EchoTime = 100
    ds.SliceThickness = 4
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [0.5, 0.5]
    ds.ImagePositionPatient = [0.0, -100.0, 100.0]
    ds.ImageOrientationPatient = SAGITTAL_IOP
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(rows * cols, dtype=np.uint16) % 4096).tobytes()
    for key, value in overrides.items():
        if value is None:
            if key in ds:
                delattr(ds, key)
        else:
            setattr(ds, key, value)
    return ds


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def mr_bytes(rows: int = 16, cols: int = 16, **overrides: Any) -> bytes:
    return to_bytes(make_mr(rows, cols, **overrides))


def stored_uid(original: str) -> str:
    """The keyed UID ingest stores for an original UID (studies.dicom.deid.keyed_uid with
    the configured secret): for tests that know a study, series or image by the UID in the
    files they wrote."""
    from django.conf import settings

    from studies.dicom.deid import keyed_uid

    return keyed_uid(str(original), secret=settings.RADBOT_DEID_SECRET)
