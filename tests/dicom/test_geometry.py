from __future__ import annotations

import math

import pytest

from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.geometry import (
    check_series_geometry,
    pixel_to_patient,
    plane_from_orientation,
    project_point,
    slice_normal,
    weighting_from,
)
from studies.dicom.reader import read_instance
from tests.dicom.factory import AXIAL_IOP, CORONAL_IOP, SAGITTAL_IOP, mr_bytes


def _tilted_axial(deg: float) -> list[float]:
    # Axial rotated about the L-R axis, as for a disc-parallel lumbar axial.
    r = math.radians(deg)
    return [1.0, 0.0, 0.0, 0.0, math.cos(r), math.sin(r)]


@pytest.mark.parametrize(
    ("iop", "plane"),
    [
        (SAGITTAL_IOP, "sagittal"),
        (AXIAL_IOP, "axial"),
        (CORONAL_IOP, "coronal"),
        (_tilted_axial(20), "axial"),
        (_tilted_axial(45), "oblique"),
        (_tilted_axial(70), "coronal"),
    ],
)
def test_plane_from_orientation(iop, plane):
    assert plane_from_orientation(iop) == plane


def test_slice_normal_is_row_cross_column():
    assert slice_normal(AXIAL_IOP) == pytest.approx((0.0, 0.0, 1.0))
    assert slice_normal(SAGITTAL_IOP) == pytest.approx((-1.0, 0.0, 0.0))


def test_slice_normal_rejects_non_orthogonal():
    with pytest.raises(IngestError) as info:
        slice_normal([1, 0, 0, 0.7, 0.7, 0])
    assert info.value.code == ErrorCode.INVALID_VALUE


def test_pixel_to_patient_uses_row_and_column_spacing():
    # PixelSpacing is (between rows, between columns): moving one column goes 0.8 mm
    # along the row direction (x), one row goes 0.5 mm along the column direction (y).
    p = pixel_to_patient([10, 20, 30], AXIAL_IOP, [0.5, 0.8], row=2, col=3)
    assert p == pytest.approx((10 + 3 * 0.8, 20 + 2 * 0.5, 30))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"SeriesDescription": "SAG T1 TSE"}, "T1"),
        ({"SeriesDescription": "t2_tse_sag"}, "T2"),
        ({"SeriesDescription": "SAG STIR"}, "STIR"),
        ({"SeriesDescription": "sag tirm"}, "STIR"),
        ({"SeriesDescription": "T2 STIR"}, "STIR"),
        (
            {
                "SeriesDescription": "SAG",
                "InversionTime": 160,
                "RepetitionTime": 4000,
                "EchoTime": 60,
            },
            "STIR",
        ),
        ({"SeriesDescription": "SAG", "RepetitionTime": 550, "EchoTime": 12}, "T1"),
        ({"SeriesDescription": "AX", "RepetitionTime": 4000, "EchoTime": 100}, "T2"),
        ({"SeriesDescription": "AX", "RepetitionTime": 2000, "EchoTime": 30}, "other"),
        ({"SeriesDescription": "LOCALIZER"}, "other"),
        ({"SeriesDescription": "T12 LEVEL", "RepetitionTime": 600, "EchoTime": 10}, "T1"),
        ({"SeriesDescription": "T2* GRE"}, "other"),
    ],
)
def test_weighting_from_fields(fields, expected):
    assert weighting_from(fields) == expected


def test_weighting_from_dataset():
    inst = read_instance(
        mr_bytes(SeriesDescription="SAG", RepetitionTime=500, EchoTime=10), name="t1.dcm"
    )
    assert inst.weighting == "T1"


def _series(n: int = 5, **per_slice):
    out = []
    for i in range(n):
        over = {k: (v(i) if callable(v) else v) for k, v in per_slice.items()}
        over.setdefault("ImagePositionPatient", [float(-4 * i), -100.0, 100.0])
        over.setdefault("InstanceNumber", i + 1)
        out.append(read_instance(mr_bytes(**over), name=f"s{i}.dcm"))
    return out


def test_consistent_series_is_sorted_along_normal():
    series = _series(5)
    shuffled = [series[i] for i in (3, 0, 4, 1, 2)]
    geo = check_series_geometry(shuffled)
    assert geo.slice_count == 5
    assert geo.plane == "sagittal"
    assert geo.slice_spacing == pytest.approx(4.0)
    assert geo.uniform_spacing
    # The sagittal normal is -x, so x=0 comes first and x=-16 last along it.
    assert [shuffled[i].name for i in geo.order] == [
        "s0.dcm",
        "s1.dcm",
        "s2.dcm",
        "s3.dcm",
        "s4.dcm",
    ]


def _geometry_error(series) -> IngestError:
    with pytest.raises(IngestError) as info:
        check_series_geometry(series)
    assert info.value.code == ErrorCode.INCONSISTENT_GEOMETRY
    return info.value


def test_different_orientation_rejected():
    series = _series(
        4,
        ImageOrientationPatient=lambda i: (
            SAGITTAL_IOP if i < 3 else [0.0, 0.96592583, 0.25881905, 0.0, 0.25881905, -0.96592583]
        ),
    )
    assert "orientation" in _geometry_error(series).reason


def test_different_pixel_spacing_rejected():
    series = _series(4, PixelSpacing=lambda i: [0.5, 0.5] if i else [0.6, 0.6])
    assert "pixel spacing" in _geometry_error(series).reason


def test_different_matrix_rejected():
    series = _series(2)
    series.append(
        read_instance(mr_bytes(32, 32, ImagePositionPatient=[-8.0, -100.0, 100.0]), name="big.dcm")
    )
    assert "image size" in _geometry_error(series).reason


def test_duplicate_positions_rejected():
    series = _series(4, ImagePositionPatient=lambda i: [float(-4 * min(i, 2)), -100.0, 100.0])
    assert "same slice position" in _geometry_error(series).reason


def test_non_collinear_positions_rejected():
    series = _series(
        4, ImagePositionPatient=lambda i: [float(-4 * i), -100.0 + (5 if i == 2 else 0), 100.0]
    )
    assert "not on one line" in _geometry_error(series).reason


def test_gap_is_reported_not_rejected():
    series = _series(
        4, ImagePositionPatient=lambda i: [float(-4 * i - (4 if i == 3 else 0)), -100.0, 100.0]
    )
    geo = check_series_geometry(series)
    assert not geo.uniform_spacing


def test_empty_series_rejected():
    _geometry_error([])


def test_projection_inverts_dicom_pixel_to_patient():
    orientation = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    positions = [(-8.0 + 4 * i, -100.0, 100.0) for i in range(5)]
    point = pixel_to_patient(positions[3], orientation, (0.5, 0.7), row=9.0, col=4.0)
    found = project_point(
        point, positions=positions, orientation=orientation, spacing_row_mm=0.5, spacing_col_mm=0.7
    )
    assert found.slice_index == 3
    assert found.row == pytest.approx(9.0) and found.col == pytest.approx(4.0)
    assert found.off_slice_mm == pytest.approx(0.0)
    off = project_point(
        [point[0] + 1.5, point[1], point[2]],
        positions=positions,
        orientation=orientation,
        spacing_row_mm=0.5,
        spacing_col_mm=0.7,
    )
    assert (off.slice_index, off.off_slice_mm) == (3, pytest.approx(1.5))
