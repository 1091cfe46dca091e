"""Image volumes with DICOM patient geometry (LPS), loaded from DICOM or NIfTI.

Everything downstream (localisation, measurement, crops) works in patient
millimetres, so a volume carries exactly the geometry needed to map a voxel
index ``(slice, row, col)`` to an LPS point and back. No Django imports here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from nibabel.spatialimages import SpatialImage
from scipy.ndimage import map_coordinates

# NIfTI's RAS and DICOM's LPS differ in the sign of x and y; the flip is its own inverse.
_FLIP_X_Y = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class Volume:
    """A stack of parallel 2D slices, sorted by position along the slice normal.

    ``orientation`` is DICOM ImageOrientationPatient: the first three cosines are the
    direction of increasing column index ("row direction"), the last three the
    direction of increasing row index. ``pixel_spacing`` is DICOM PixelSpacing:
    (spacing between rows, spacing between columns), mm.
    """

    pixels: np.ndarray  # float32 (slices, rows, cols)
    positions: np.ndarray  # (slices, 3) ImagePositionPatient, LPS mm
    orientation: np.ndarray  # (6,)
    pixel_spacing: tuple[float, float]
    slice_spacing: float
    instance_numbers: list[int] = field(default_factory=list)
    series_uid: str = ""
    patient_id: str = ""
    study_uid: str = ""
    description: str = ""

    @property
    def row_dir(self) -> np.ndarray:
        return np.asarray(self.orientation[:3], dtype=np.float64)

    @property
    def col_dir(self) -> np.ndarray:
        return np.asarray(self.orientation[3:], dtype=np.float64)

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_dir, self.col_dir)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.pixels.shape)

    def slice_step(self) -> np.ndarray:
        """Vector between consecutive slices (uses the real positions, not the tag)."""
        if len(self.positions) > 1:
            return (self.positions[-1] - self.positions[0]) / (len(self.positions) - 1)
        return self.normal * self.slice_spacing

    def slice_distance_mm(self) -> float:
        """Centre-to-centre distance between consecutive slices, from their positions; the
        tag where the positions do not tell (one slice, or every slice at one position)."""
        return float(np.linalg.norm(self.slice_step())) or self.slice_spacing

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix: (slice, row, col, 1) -> (L, P, S, 1) in mm."""
        a = np.eye(4)
        a[:3, 0] = self.slice_step()
        a[:3, 1] = self.col_dir * self.pixel_spacing[0]
        a[:3, 2] = self.row_dir * self.pixel_spacing[1]
        a[:3, 3] = self.positions[0]
        return a


@dataclass(frozen=True)
class DisplayView:
    """How a sagittal series' stored pixels become the orientation its images are read
    in, rows head to foot and columns front to back (what the segmentation network was
    trained on), and back. Most scanners store sagittal images that way; some store
    them with the front on the right, or rows and columns swapped (a rotated matrix).
    Only whole-pixel flips and a transpose: the pixels themselves are not resampled."""

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    def to_display(self, a: np.ndarray) -> np.ndarray:
        """(..., rows, cols) stored -> displayed (a view)."""
        if self.transpose:
            a = np.swapaxes(a, -1, -2)
        if self.flip_rows:
            a = a[..., ::-1, :]
        if self.flip_cols:
            a = a[..., :, ::-1]
        return a

    def from_display(self, a: np.ndarray) -> np.ndarray:
        """(..., rows, cols) displayed -> stored (a view)."""
        if self.flip_cols:
            a = a[..., :, ::-1]
        if self.flip_rows:
            a = a[..., ::-1, :]
        if self.transpose:
            a = np.swapaxes(a, -1, -2)
        return a

    def spacing(self, pixel_spacing: tuple[float, float]) -> tuple[float, float]:
        """PixelSpacing (between rows, between columns) of the displayed images."""
        return (pixel_spacing[1], pixel_spacing[0]) if self.transpose else pixel_spacing


def sagittal_display_view(vol: Volume) -> DisplayView:
    """The :class:`DisplayView` of a sagittal series, from its direction cosines: the
    stored axis nearer the head-foot line becomes the rows, running footward; the other
    the columns, running backward (LPS: foot is -z, back is +y)."""
    foot, back = np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0])
    down_rows, along_cols = vol.col_dir, vol.row_dir  # where row and column index increase
    transpose = abs(float(along_cols @ foot)) > abs(float(down_rows @ foot))
    if transpose:
        down_rows, along_cols = along_cols, down_rows
    return DisplayView(
        transpose=transpose,
        flip_rows=float(down_rows @ foot) < 0,
        flip_cols=float(along_cols @ back) < 0,
    )


def index_to_patient(vol: Volume, idx: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Voxel indices (N, 3) as (slice, row, col), fractional allowed -> LPS mm (N, 3)."""
    idx = np.atleast_2d(np.asarray(idx, dtype=np.float64))
    a = vol.affine
    return idx @ a[:3, :3].T + a[:3, 3]


def patient_to_index(vol: Volume, pts: np.ndarray) -> np.ndarray:
    """LPS mm (N, 3) -> fractional voxel indices (N, 3) as (slice, row, col)."""
    pts = np.atleast_2d(np.asarray(pts, dtype=np.float64))
    a = vol.affine
    return np.linalg.solve(a[:3, :3], (pts - a[:3, 3]).T).T


def sample_patient(vol: Volume, pts: np.ndarray, order: int = 1, cval: float = 0.0) -> np.ndarray:
    """Trilinear (order=1) intensity at LPS points of any shape (..., 3)."""
    pts = np.asarray(pts, dtype=np.float64)
    flat = patient_to_index(vol, pts.reshape(-1, 3))
    out = map_coordinates(vol.pixels, flat.T, order=order, mode="constant", cval=cval)
    return out.reshape(pts.shape[:-1]).astype(np.float32)


def _files(folder_or_files: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(folder_or_files, str | Path):
        p = Path(folder_or_files)
        if p.is_dir():
            return sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        return [p]
    return [Path(f) for f in folder_or_files]


def load_series(folder_or_files: str | Path | Sequence[str | Path]) -> Volume:
    """One DICOM series -> Volume, slices sorted by position along the slice normal."""
    datasets = [pydicom.dcmread(str(f)) for f in _files(folder_or_files)]
    datasets = [d for d in datasets if "PixelData" in d]
    if not datasets:
        raise ValueError(f"no DICOM images in {folder_or_files!r}")
    iop = np.array([float(v) for v in datasets[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    # Sort by the projection on the normal: InstanceNumber order is not guaranteed to
    # follow anatomy (this generator writes right -> left, some scanners the reverse).
    datasets.sort(key=lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], normal)))
    pixels = []
    for d in datasets:
        arr = d.pixel_array.astype(np.float32)
        slope = float(getattr(d, "RescaleSlope", 1.0) or 1.0)
        inter = float(getattr(d, "RescaleIntercept", 0.0) or 0.0)
        pixels.append(arr * slope + inter)
    positions = np.array([[float(v) for v in d.ImagePositionPatient] for d in datasets])
    ps = tuple(float(v) for v in datasets[0].PixelSpacing)
    if len(positions) > 1:
        slice_spacing = float(np.median(np.abs(np.diff(positions @ normal))))
    else:
        slice_spacing = float(
            getattr(datasets[0], "SpacingBetweenSlices", 0)
            or getattr(datasets[0], "SliceThickness", 1.0)
        )
    d0 = datasets[0]
    return Volume(
        pixels=np.stack(pixels).astype(np.float32),
        positions=positions,
        orientation=iop,
        pixel_spacing=(ps[0], ps[1]),
        slice_spacing=slice_spacing,
        instance_numbers=[int(getattr(d, "InstanceNumber", i + 1)) for i, d in enumerate(datasets)],
        series_uid=str(getattr(d0, "SeriesInstanceUID", "")),
        patient_id=str(getattr(d0, "PatientID", "")),
        study_uid=str(getattr(d0, "StudyInstanceUID", "")),
        description=str(getattr(d0, "SeriesDescription", "")),
    )


def load_nifti_as_volume(path: str | Path) -> Volume:
    """A NIfTI image -> sagittal Volume in DICOM LPS geometry.

    NIfTI affines map voxels to RAS; DICOM is LPS, so x and y change sign. The voxel
    axis closest to patient L-R becomes the slice axis; the other two are arranged so
    columns run anterior -> posterior and rows head -> foot, the usual sagittal
    display (and what the synthetic DICOM series use), flipping axes where needed.
    """
    img = nib.load(str(path))
    if not isinstance(img, SpatialImage):  # (nib.load opens other nibabel formats too)
        raise ValueError(f"{path}: not an image volume")
    data = np.asarray(img.dataobj, dtype=np.float32)
    while data.ndim > 3:
        data = data[..., 0]
    lps = _FLIP_X_Y @ img.affine
    m = lps[:3, :3]
    dirs = m / np.linalg.norm(m, axis=0)
    # target axes: slice ~ +x (right -> left), row index ~ -z (foot), col index ~ +y
    targets = [np.array([1.0, 0, 0]), np.array([0, 0, -1.0]), np.array([0, 1.0, 0])]
    order: list[int] = []
    flips: list[bool] = []
    for t in targets:
        scores = [abs(dirs[:, a] @ t) if a not in order else -1.0 for a in range(3)]
        a = int(np.argmax(scores))
        order.append(a)
        flips.append(float(dirs[:, a] @ t) < 0)
    data = np.transpose(data, order)
    new = np.eye(4)
    new[:3, 3] = lps[:3, 3]
    for k, (a, flip) in enumerate(zip(order, flips, strict=True)):
        col = lps[:3, a].copy()
        if flip:
            new[:3, 3] += col * (data.shape[k] - 1)
            col = -col
            data = np.flip(data, axis=k)
        new[:3, k] = col
    zooms = np.linalg.norm(new[:3, :3], axis=0)
    row_dir = new[:3, 2] / zooms[2]
    col_dir = new[:3, 1] / zooms[1]
    positions = np.array([new[:3, 3] + s * new[:3, 0] for s in range(data.shape[0])])
    return Volume(
        pixels=np.ascontiguousarray(data, dtype=np.float32),
        positions=positions,
        orientation=np.concatenate([row_dir, col_dir]),
        pixel_spacing=(float(zooms[1]), float(zooms[2])),
        slice_spacing=float(zooms[0]),
        instance_numbers=list(range(1, data.shape[0] + 1)),
        series_uid=f"nifti:{Path(path).name}",
        description=Path(path).name,
    )


def save_volume_as_nifti(vol: Volume, path: str | Path) -> None:
    """``vol`` as a NIfTI file that :func:`load_nifti_as_volume` reads back as the same
    voxels in the same LPS geometry (the affine goes back from LPS to RAS)."""
    ras = _FLIP_X_Y @ vol.affine
    nib.save(nib.Nifti1Image(np.ascontiguousarray(vol.pixels, dtype=np.float32), ras), str(path))
