from __future__ import annotations

import numpy as np
import pydicom
import pytest

from spine.labels import LEVELS
from studies.synth.generator import DatasetSummary

REQUIRED = (
    "Modality",
    "SOPClassUID",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "InstitutionName",
    "ReferringPhysicianName",
    "StudyDescription",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "FrameOfReferenceUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "SliceLocation",
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "RepetitionTime",
    "EchoTime",
    "ScanningSequence",
    "MRAcquisitionType",
    "MagneticFieldStrength",
    "BodyPartExamined",
    "WindowCenter",
    "WindowWidth",
)


def _series(study_dir, name):
    return [pydicom.dcmread(p) for p in sorted((study_dir / name).glob("IM*.dcm"))]


def _geometry(ds):
    iop = np.array(ds.ImageOrientationPatient, dtype=float)
    return (
        np.array(ds.ImagePositionPatient, dtype=float),
        iop[:3],
        iop[3:],
        float(ds.PixelSpacing[0]),
    )


def test_every_file_is_valid_mr(dataset: DatasetSummary) -> None:
    study_uids = set()
    for study_dir in dataset.study_dirs:
        files = sorted(study_dir.rglob("*.dcm"))
        assert len(files) == 2 * len(_series(study_dir, "sag_t2")) + 3 * len(LEVELS)
        for path in files:
            ds = pydicom.dcmread(path, force=False)
            missing = [tag for tag in REQUIRED if tag not in ds]
            assert missing == [], f"{path}: {missing}"
            assert ds.Modality == "MR"
            assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
            assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
            assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
            assert ds.StudyDescription == "MRI LUMBAR SPINE"
            assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (
                16,
                12,
                11,
                0,
            )
            px = ds.pixel_array
            assert px.shape == (ds.Rows, ds.Columns) and max(px.shape) <= 320
            assert px.max() <= 4095 and px.max() > 100
            assert ds.PatientSex in ("M", "F") and 25 <= int(ds.PatientAge[:3]) <= 80
            study_uids.add(ds.StudyInstanceUID)
    assert len(study_uids) == len(dataset.study_dirs)


def test_series_layout_and_sequences(dataset: DatasetSummary) -> None:
    for study_dir in dataset.study_dirs:
        t2, t1 = _series(study_dir, "sag_t2"), _series(study_dir, "sag_t1")
        assert len(t2) >= 11 and len(t1) == len(t2)
        assert float(t2[0].RepetitionTime) > 2500 and float(t2[0].EchoTime) >= 80
        assert float(t1[0].RepetitionTime) < 800 and float(t1[0].EchoTime) < 20
        assert t2[0].SeriesInstanceUID != t1[0].SeriesInstanceUID
        for a, b in zip(t2, t1, strict=True):
            assert a.ImagePositionPatient == b.ImagePositionPatient
        xs = [float(d.ImagePositionPatient[0]) for d in t2]
        steps = np.diff(xs)
        assert np.allclose(steps, float(t2[0].SpacingBetweenSlices), atol=1e-3)
        assert 3.0 <= float(t2[0].SpacingBetweenSlices) <= 4.0
        assert 0.5 <= float(t2[0].PixelSpacing[0]) <= 1.0
        _, row, col, _ = _geometry(t2[0])
        assert np.allclose(row, (0, 1, 0)) and np.allclose(col, (0, 0, -1))
        for level in LEVELS:
            ax = _series(study_dir, f"ax_t2_{level}")
            assert len(ax) == 3 and ax[0].SeriesDescription == f"AX T2 {level}"
            assert 0.6 <= float(ax[0].PixelSpacing[0]) <= 0.8


def _pixel(pos, row, col, spacing, point):
    d = point - pos
    return float(d @ col) / spacing, float(d @ row) / spacing  # (row index, column index)


def test_sagittal_geometry_hits_the_disc(dataset: DatasetSummary) -> None:
    for study_dir in dataset.study_dirs:
        masks = np.load(study_dir / "masks.npz")
        t2 = _series(study_dir, "sag_t2")
        xs = np.array([float(d.ImagePositionPatient[0]) for d in t2])
        for li, centre in enumerate(masks["disc_centres"]):
            m = int(np.argmin(np.abs(xs - centre[0])))
            assert abs(xs[m] - centre[0]) <= float(t2[0].SpacingBetweenSlices) / 2 + 1e-6
            i, j = _pixel(*_geometry(t2[m]), centre)
            assert masks["sag"][m, round(i), round(j)] == 2, (study_dir.name, LEVELS[li])
            # one vertebral body height above, the disc must not be there
            i_up = round(i - 15.0 / float(t2[0].PixelSpacing[0]))
            assert masks["sag"][m, i_up, round(j)] == 1


def test_axial_planes_pass_through_disc_centres(dataset: DatasetSummary) -> None:
    for study_dir in dataset.study_dirs:
        masks = np.load(study_dir / "masks.npz")
        for li, level in enumerate(LEVELS):
            centre = masks["disc_centres"][li]
            mid = _series(study_dir, f"ax_t2_{level}")[1]
            pos, row, col, spacing = _geometry(mid)
            normal = np.cross(row, col)
            assert abs(float((centre - pos) @ normal)) < 0.01
            assert abs(row[0] - 1.0) < 1e-6  # tilted about x only
            assert abs(normal[2]) > np.cos(np.radians(30))  # still an "axial" for the reader
            i, j = _pixel(pos, row, col, spacing, centre)
            assert 0 <= i < mid.Rows and 0 <= j < mid.Columns
            assert masks[f"ax_{level}"][1, round(i), round(j)] == 2
            # the disc-parallel plane: the neighbouring slices are equidistant along the normal
            lo = _series(study_dir, f"ax_t2_{level}")[0]
            gap = float((pos - np.array(lo.ImagePositionPatient, dtype=float)) @ normal)
            assert gap == pytest.approx(float(mid.SpacingBetweenSlices), abs=1e-3)
