"""Import a NIfTI volume (research data sets) as a DICOM MR series through normal ingest.

The volume is turned into classic MR Image Storage files, one per sagittal slice, in
memory, and handed to ``studies.services.ingest.ingest_members`` like any upload, so
de-identification, geometry checks, duplicate detection and storage all apply.

Geometry: NIfTI affines map voxel indices to RAS millimetres; DICOM uses LPS, so x and
y change sign. ``inference.ml.volume.load_nifti_as_volume`` does that conversion and
arranges the voxels as (slice, row, col) with rows running head to foot and columns
front to back; each slice then gets ImagePositionPatient = the LPS point of its voxel
(row 0, col 0), ImageOrientationPatient = the LPS directions of increasing column and
row index, PixelSpacing = (row spacing, column spacing), SliceThickness = the step
between slices. UIDs derive from the file's sha256, so importing the same file again
yields the same SOPInstanceUIDs, which ingest reports as duplicates.

Size bounds (``NiftiLimits``): the file on disk, what a .nii.gz decompresses to (read as
a stream, never held, so a gzip bomb is refused before nibabel inflates it), and the
voxel count the header declares (checked before any voxel is read).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from pydicom.uid import generate_uid

from inference.ml.volume import load_nifti_as_volume
from studies.dicom.archive import Member
from studies.dicom.build import new_mr_image
from studies.dicom.writer import encode_dicom_file
from studies.services.ingest import IngestSummary, ingest_members

# Typical sequence timing, so the weighting also follows from TR/TE (milliseconds).
_TIMING_MS = {"T2": (3500.0, 100.0), "T1": (550.0, 12.0)}
_ORTHOGONAL_TOL = 1e-3  # cosine between the in-plane axes DICOM can still call orthogonal


class NiftiImportError(ValueError):
    """The file cannot be imported as a NIfTI volume; the message says why."""


@dataclass(frozen=True)
class NiftiLimits:
    file_bytes: int = 1024**3  # the file as stored (compressed or not)
    decompressed_bytes: int = 1024**3  # a .nii.gz once inflated
    voxels: int = 2**26  # 512 x 512 x 256; the volume is held as float32 and uint16 copies


DEFAULT_LIMITS = NiftiLimits()
_CHUNK = 1024**2


def _sha256_within_limits(path: Path, limits: NiftiLimits) -> str:
    """The file's sha256, refusing a file (or a gzip stream) larger than the limits."""
    try:
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise NiftiImportError(
                f"{path.name}: {size} bytes; a NIfTI file is refused above {limits.file_bytes}"
            )
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            magic = fh.read(4)
            if magic.startswith(b"BZh") or magic == b"\x28\xb5\x2f\xfd":
                raise NiftiImportError(
                    f"{path.name}: bzip2/zstd compressed; only .nii and .nii.gz are accepted"
                )
            gzipped = magic.startswith(b"\x1f\x8b")
            fh.seek(0)
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        if gzipped:
            _check_inflated_size(path, limits.decompressed_bytes)
    except OSError as exc:
        raise NiftiImportError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def _check_inflated_size(path: Path, limit: int) -> None:
    inflated = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                inflated += len(chunk)
                if inflated > limit:
                    raise NiftiImportError(
                        f"{path.name} decompresses to more than {limit} bytes (a gzip bomb?); refused"
                    )
    except (EOFError, zlib.error, gzip.BadGzipFile):
        return  # a broken stream: nibabel says what is wrong with it


@dataclass(frozen=True)
class _Slices:
    pixels: np.ndarray  # uint16 (slices, rows, cols)
    slope: float
    intercept: float
    positions: np.ndarray  # (slices, 3) LPS mm
    orientation: np.ndarray  # (6,)
    pixel_spacing: tuple[float, float]
    slice_step: float


def _ds(value: float) -> str:
    """A DS string of at most 16 characters."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    if len(text) > 16:
        text = f"{value:.9g}"
    return text[:16]


def _load(path: Path, limits: NiftiLimits = DEFAULT_LIMITS) -> _Slices:

    try:
        img = nib.load(str(path))
    except FileNotFoundError as exc:
        raise NiftiImportError(f"{path.name}: no such file") from exc
    except ImageFileError as exc:
        raise NiftiImportError(
            f"{path.name} is not a NIfTI file (nibabel cannot read it: {exc})"
        ) from exc
    except Exception as exc:  # a truncated .gz, a corrupt header ...
        raise NiftiImportError(
            f"{path.name} is not a readable NIfTI file ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise NiftiImportError(f"{path.name} is a {type(img).__name__}, not a NIfTI image")
    shape = tuple(int(n) for n in img.shape)
    voxels = int(np.prod(shape, dtype=np.float64)) if shape else 0
    if voxels > limits.voxels:
        raise NiftiImportError(
            f"{path.name} declares {voxels} voxels (shape {shape}); a volume is refused above {limits.voxels}"
        )
    extra = shape[3:]
    if len(shape) < 3 or any(n > 1 for n in extra):
        raise NiftiImportError(
            f"{path.name} has shape {shape}: only a single 3D volume can be imported "
            "(split 4D series, e.g. multiple echoes or time points, into 3D files first)"
        )
    if min(shape[:3]) < 1:
        raise NiftiImportError(f"{path.name} has an empty dimension: shape {shape}")
    m = img.affine[:3, :3]
    if not np.all(np.isfinite(img.affine)) or abs(np.linalg.det(m)) < 1e-9:
        raise NiftiImportError(f"{path.name} has no usable voxel-to-patient affine")
    try:
        vol = load_nifti_as_volume(path)
    except Exception as exc:
        raise NiftiImportError(
            f"{path.name}: the voxel data cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    if not np.all(np.isfinite(vol.pixels)):
        raise NiftiImportError(f"{path.name} contains NaN or infinite voxel values")
    if abs(float(vol.row_dir @ vol.col_dir)) > _ORTHOGONAL_TOL:
        raise NiftiImportError(
            f"{path.name}: the in-plane voxel axes are not orthogonal (a sheared affine), "
            "which DICOM ImageOrientationPatient cannot express"
        )
    return _Slices(
        *_to_uint16(vol.pixels),
        positions=vol.positions,
        orientation=vol.orientation,
        pixel_spacing=vol.pixel_spacing,
        slice_step=vol.slice_spacing,
    )


def _to_uint16(data: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Stored values, RescaleSlope and RescaleIntercept with value = stored * slope + intercept."""
    lo, hi = float(data.min()), float(data.max())
    integral = bool(np.all(np.equal(np.round(data), data)))
    if integral and lo >= 0 and hi <= 65535:
        return data.astype(np.uint16), 1.0, 0.0
    intercept = lo
    span = hi - lo
    slope = 1.0 if integral and span <= 65535 else (span / 65535.0 if span > 0 else 1.0)
    stored = np.clip(np.round((data - intercept) / slope), 0, 65535).astype(np.uint16)
    return stored, slope, intercept


def _uid(sha: str, *parts: object) -> str:
    return generate_uid(entropy_srcs=["radbot-nifti", sha, *(str(p) for p in parts)])


def nifti_to_dicom(
    *,
    path: str | Path,
    patient_id: str,
    study_uid: str | None = None,
    series_description: str = "SAG T2 (NIfTI)",
    weighting: str = "T2",
    limits: NiftiLimits = DEFAULT_LIMITS,
) -> list[tuple[str, bytes]]:
    """(file name, DICOM bytes) per slice, in NIfTI-derived slice order (right to left)."""
    path = Path(path)
    if not patient_id.strip():
        raise NiftiImportError("a patient ID is required")
    if not path.is_file():
        raise NiftiImportError(f"{path}: no such file")
    sha = _sha256_within_limits(path, limits)
    sl = _load(path, limits)
    study_uid = study_uid or _uid(sha, "study", patient_id)
    series_uid = _uid(sha, "series", study_uid)
    frame_uid = _uid(sha, "frame", study_uid)
    normal = np.cross(sl.orientation[:3], sl.orientation[3:])
    timing = _TIMING_MS.get(weighting.upper())
    n_slices, rows, cols = sl.pixels.shape
    out: list[tuple[str, bytes]] = []
    for n in range(n_slices):
        sop_uid = _uid(sha, "sop", study_uid, n)
        ds = new_mr_image(sop_uid=sop_uid, image_type=["DERIVED", "SECONDARY", "M", "NONE"])
        ds.Modality = "MR"
        ds.Manufacturer = "RadBot NIfTI import"
        ds.StudyDescription = "NIfTI import"
        ds.SeriesDescription = series_description[:64]
        ds.ProtocolName = series_description[:64]
        ds.DerivationDescription = f"converted from NIfTI {path.name[:40]} sha256 {sha[:16]}"
        ds.PatientName = patient_id
        ds.PatientID = patient_id
        ds.MRAcquisitionType = "2D"
        ds.SliceThickness = _ds(sl.slice_step)
        ds.SpacingBetweenSlices = _ds(sl.slice_step)
        if timing is not None:
            ds.RepetitionTime = _ds(timing[0])
            ds.EchoTime = _ds(timing[1])
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.InstanceNumber = n + 1
        position = sl.positions[n]
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageOrientationPatient = [_ds(v) for v in sl.orientation]
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = _ds(float(position @ normal))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [_ds(sl.pixel_spacing[0]), _ds(sl.pixel_spacing[1])]
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        if (sl.slope, sl.intercept) != (1.0, 0.0):
            ds.RescaleSlope = _ds(sl.slope)
            ds.RescaleIntercept = _ds(sl.intercept)
            ds.RescaleType = "US"
        ds.PixelData = np.ascontiguousarray(sl.pixels[n], dtype="<u2").tobytes()
        out.append((f"{path.name}/IM{n + 1:04d}.dcm", encode_dicom_file(ds)))
    return out


def import_nifti(
    *,
    path: str | Path,
    patient_id: str,
    study_uid: str | None = None,
    series_description: str = "SAG T2 (NIfTI)",
    weighting: str = "T2",
    user=None,
    limits: NiftiLimits = DEFAULT_LIMITS,
) -> IngestSummary:
    """Convert a 3D NIfTI volume to a DICOM MR series and ingest it. Raises NiftiImportError."""
    files = nifti_to_dicom(
        path=path,
        patient_id=patient_id,
        study_uid=study_uid,
        series_description=series_description,
        weighting=weighting,
        limits=limits,
    )
    return ingest_members(members=(Member(name=name, data=data) for name, data in files), user=user)
