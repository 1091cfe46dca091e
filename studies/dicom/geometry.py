"""Slice geometry: plane and weighting classification, pixel <-> patient mapping, and
per-series consistency.

Conventions follow DICOM PS3.3 C.7.6.2: ImageOrientationPatient holds the row direction
(the direction of increasing column index) followed by the column direction, in the
patient LPS frame; PixelSpacing is (spacing between rows, spacing between columns).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ErrorCode, IngestError

if TYPE_CHECKING:
    from .reader import ParsedInstance

Vec3 = tuple[float, float, float]

# A slice counts as sagittal/coronal/axial when its normal is within 30 degrees of the
# matching patient axis. Lumbar axials are routinely angled along the disc spaces by
# 10-25 degrees and must still be called axial; beyond 30 degrees the image is no longer
# a usable stand-in for the canonical plane, so we call it oblique.
PLANE_TOLERANCE_DEG = 30.0
_PLANE_COS = math.cos(math.radians(PLANE_TOLERANCE_DEG))
_PLANES = ("sagittal", "coronal", "axial")  # normal along x (L-R), y (A-P), z (S-I)

# Series consistency tolerances. Scanners round IOP/IPP/spacing to ~6 significant
# digits, so anything tighter than these produces false alarms; anything looser lets
# genuinely mixed stacks (e.g. two axial blocks at different angles) through.
ORIENTATION_TOL = 0.01  # max abs difference of any direction cosine (~0.6 degree)
SPACING_TOL_MM = 0.01
DUPLICATE_TOL_MM = 0.01  # two slices closer than this along the normal are the same slice
IN_PLANE_TOL_MM = 0.5  # allowed drift of slice origins off the normal line


def _as_floats(values: Sequence[Any], n: int, what: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise IngestError(f"{what} is not numeric", code=ErrorCode.INVALID_VALUE) from None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        raise IngestError(f"{what} must hold {n} finite numbers", code=ErrorCode.INVALID_VALUE)
    return out


def _cross(a: Sequence[float], b: Sequence[float]) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm(a: Sequence[float]) -> float:
    return math.sqrt(_dot(a, a))


def slice_normal(iop: Sequence[float]) -> Vec3:
    """Unit normal (row x column) of an ImageOrientationPatient.

    Raises IngestError(invalid_value) for degenerate orientations (zero or parallel
    vectors, or ones far from orthogonal), since every later geometric step relies on it.
    """
    v = _as_floats(iop, 6, "ImageOrientationPatient")
    row, col = v[:3], v[3:]
    nr, nc = _norm(row), _norm(col)
    # Direction cosines are meant to be unit length; tolerate scanner rounding only.
    if abs(nr - 1.0) > 0.01 or abs(nc - 1.0) > 0.01:
        raise IngestError(
            "ImageOrientationPatient direction cosines are not unit vectors",
            code=ErrorCode.INVALID_VALUE,
        )
    if abs(_dot(row, col)) / (nr * nc) > 0.01:
        raise IngestError(
            "ImageOrientationPatient row and column directions are not orthogonal",
            code=ErrorCode.INVALID_VALUE,
        )
    n = _cross(row, col)
    length = _norm(n)
    return (n[0] / length, n[1] / length, n[2] / length)


def plane_from_orientation(iop: Sequence[float]) -> str:
    """Return "sagittal", "coronal", "axial" or "oblique" (see PLANE_TOLERANCE_DEG)."""
    n = slice_normal(iop)
    axis = max(range(3), key=lambda i: abs(n[i]))
    return _PLANES[axis] if abs(n[axis]) >= _PLANE_COS else "oblique"


def pixel_to_patient(
    ipp: Sequence[float],
    iop: Sequence[float],
    spacing: Sequence[float],
    row: float,
    col: float,
) -> Vec3:
    """Patient (LPS, mm) coordinates of the centre of pixel (row, col), 0-based."""
    p = _as_floats(ipp, 3, "ImagePositionPatient")
    o = _as_floats(iop, 6, "ImageOrientationPatient")
    dr, dc = _as_floats(spacing, 2, "PixelSpacing")
    # Moving along a row (col index) follows the row direction o[:3] in steps of the
    # column spacing; moving down a column follows o[3:] in steps of the row spacing.
    return (
        p[0] + o[0] * dc * col + o[3] * dr * row,
        p[1] + o[1] * dc * col + o[4] * dr * row,
        p[2] + o[2] * dc * col + o[5] * dr * row,
    )


@dataclass(frozen=True)
class SlicePoint:
    """A patient point on a series: slice index (viewer order), pixel row/column, distance off."""

    slice_index: int
    row: float
    col: float
    off_slice_mm: float


def project_point(
    point: Sequence[float],
    *,
    positions: Sequence[Sequence[float]],
    orientation: Sequence[float],
    spacing_row_mm: float,
    spacing_col_mm: float,
) -> SlicePoint | None:
    """Where an LPS point falls on a stack of parallel slices; None when it cannot be placed.

    ``positions`` are the ImagePositionPatient of the slices in viewer order. The inverse
    of pixel_to_patient: along the row direction the step is the column spacing, down the
    column direction it is the row spacing (PS3.3 C.7.6.2). Unlike slice_normal it does
    not raise: the viewer leaves out a point it cannot place.
    """
    if not positions or len(point) != 3 or len(orientation) != 6:
        return None
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = _cross(row_dir, col_dir)
    length = _norm(normal)
    if length == 0:
        return None
    normal = (normal[0] / length, normal[1] / length, normal[2] / length)
    offsets = [_dot([point[k] - p[k] for k in range(3)], normal) for p in positions]
    index = min(range(len(positions)), key=lambda i: abs(offsets[i]))
    origin = positions[index]
    v = [point[k] - origin[k] for k in range(3)]
    return SlicePoint(
        slice_index=index,
        row=_dot(v, col_dir) / spacing_row_mm,
        col=_dot(v, row_dir) / spacing_col_mm,
        off_slice_mm=abs(offsets[index]),
    )


# --- weighting -------------------------------------------------------------------------

# Inversion times that null fat at 1.5 T / 3 T; nothing else uses such a short TI.
STIR_TI_MS = (100.0, 250.0)
T1_MAX_TR_MS, T1_MAX_TE_MS = 800.0, 30.0
T2_MIN_TR_MS, T2_MIN_TE_MS = 1500.0, 60.0

_STIR_WORDS = re.compile(r"(?<![A-Z])(STIR|TIRM|SPAIR_?IR)(?![A-Z])")
# "T1"/"T2" as a token ("T1W", "T2_TSE", "SAG T2") but not "T12" (a vertebra) or T2*
# (a gradient-echo weighting, clinically distinct from spin-echo T2).
_T1_WORD = re.compile(r"(?<![A-Z0-9])T1(?![0-9])")
_T2_WORD = re.compile(r"(?<![A-Z0-9])T2(?![0-9*])(?!STAR)")


class _Getter(Protocol):
    def get(self, key: str, default: Any = ...) -> Any: ...


def _first(value: Any) -> Any:
    # Multi-echo series carry several TEs; the first echo decides the weighting.
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return next(iter(value), None)


def _num(value: Any) -> float | None:
    value = _first(value)
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return str(value)
    return " ".join(str(v) for v in value)


def weighting_from(source: _Getter | Mapping[str, Any]) -> str:
    """Classify a series as "T1", "T2", "STIR" or "other".

    ``source`` is a pydicom Dataset or any mapping keyed by DICOM keywords
    (SeriesDescription, ProtocolName, SequenceName, ScanningSequence, RepetitionTime,
    EchoTime, InversionTime). Order of evidence: STIR keywords, then a fat-nulling
    inversion time, then unambiguous T1/T2 keywords, then TR/TE. Keywords go first
    because sites name series reliably while TR/TE overlap (e.g. T1 FLAIR, PD).
    """
    words = " ".join(
        _text(source.get(k)) for k in ("SeriesDescription", "ProtocolName", "SequenceName")
    ).upper()
    if _STIR_WORDS.search(words):
        return "STIR"

    ti = _num(source.get("InversionTime"))
    if ti is not None and STIR_TI_MS[0] <= ti <= STIR_TI_MS[1]:
        return "STIR"

    t1, t2 = bool(_T1_WORD.search(words)), bool(_T2_WORD.search(words))
    if t1 != t2:
        return "T1" if t1 else "T2"

    tr, te = _num(source.get("RepetitionTime")), _num(source.get("EchoTime"))
    if tr is not None and te is not None:
        if tr < T1_MAX_TR_MS and te < T1_MAX_TE_MS:
            return "T1"
        if tr > T2_MIN_TR_MS and te > T2_MIN_TE_MS:
            return "T2"
    return "other"


# --- series consistency ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesGeometry:
    slice_count: int
    rows: int
    cols: int
    pixel_spacing: tuple[float, float]
    orientation: tuple[float, ...]
    normal: Vec3
    plane: str
    # Indices into the instances passed to check_series_geometry, ordered by position
    # along the normal (i.e. from one side of the stack to the other).
    order: tuple[int, ...]
    # Signed distance of each slice (in `order`) along the normal, mm.
    positions_along_normal: tuple[float, ...]
    # Median gap between consecutive slices; None for a single slice.
    slice_spacing: float | None
    # False when gaps vary by more than 10% (missing slices, interleaved blocks); this is
    # reported, not rejected, because such series are still readable.
    uniform_spacing: bool


def _fail(reason: str) -> IngestError:
    return IngestError(reason, code=ErrorCode.INCONSISTENT_GEOMETRY)


def check_series_geometry(instances: Sequence[ParsedInstance]) -> SeriesGeometry:
    """Validate that the instances of one series form a single regular stack."""
    if not instances:
        raise _fail("series has no images")
    first = instances[0]
    for inst in instances[1:]:
        if (inst.rows, inst.cols) != (first.rows, first.cols):
            raise _fail(
                f"image size differs within the series: {first.rows}x{first.cols} "
                f"({first.name}) vs {inst.rows}x{inst.cols} ({inst.name})"
            )
        if any(
            abs(a - b) > SPACING_TOL_MM
            for a, b in zip(inst.pixel_spacing, first.pixel_spacing, strict=True)
        ):
            raise _fail(
                f"pixel spacing differs within the series: {list(first.pixel_spacing)} "
                f"({first.name}) vs {list(inst.pixel_spacing)} ({inst.name})"
            )
        if any(
            abs(a - b) > ORIENTATION_TOL
            for a, b in zip(inst.orientation, first.orientation, strict=True)
        ):
            raise _fail(
                f"slice orientation differs within the series ({first.name} vs {inst.name}); "
                "it may mix several stacks"
            )

    normal = slice_normal(first.orientation)
    dist = [_dot(inst.position, normal) for inst in instances]
    order = sorted(range(len(instances)), key=lambda i: dist[i])
    ordered = [dist[i] for i in order]

    for a, b in itertools.pairwise(order):
        if abs(dist[b] - dist[a]) < DUPLICATE_TOL_MM:
            raise _fail(
                f"two images share the same slice position ({instances[a].name} and "
                f"{instances[b].name}); the series may contain duplicates or several stacks"
            )

    origin = first.position
    for inst, d in zip(instances, dist, strict=True):
        off = [inst.position[k] - origin[k] - (d - dist[0]) * normal[k] for k in range(3)]
        if _norm(off) > IN_PLANE_TOL_MM:
            raise _fail(
                f"slice positions are not on one line along the slice normal "
                f"({inst.name} is {_norm(off):.1f} mm off); the series may mix several stacks"
            )

    gaps = sorted(b - a for a, b in itertools.pairwise(ordered))
    spacing = gaps[len(gaps) // 2] if gaps else None
    uniform = spacing is None or all(abs(g - spacing) <= 0.1 * spacing for g in gaps)
    return SeriesGeometry(
        slice_count=len(instances),
        rows=first.rows,
        cols=first.cols,
        pixel_spacing=first.pixel_spacing,
        orientation=first.orientation,
        normal=normal,
        plane=plane_from_orientation(first.orientation),
        order=tuple(order),
        positions_along_normal=tuple(ordered),
        slice_spacing=spacing,
        uniform_spacing=uniform,
    )
