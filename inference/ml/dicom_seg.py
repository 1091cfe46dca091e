"""Reference masks from DICOM Segmentation (SEG) objects, as the models' class ids.

Each segment of the SEG is mapped to one class (1 vertebra, 2 disc, 3 canal, 4 sacrum:
:mod:`inference.ml.classes`) by its
SegmentedPropertyTypeCodeSequence when that is one of the SNOMED CT codes below,
otherwise by its SegmentLabel (case-insensitive):

* disc: codes for the thoracolumbar discs (T10/T11 ... L5/S1); labels containing
  "disc" or "disk" (checked first: "intervertebral disc" also contains "vertebra");
* canal: 61853006 spinal (vertebral) canal; labels containing "canal", "thecal" or
  "dural sac";
* sacrum: 54735007 sacrum; labels containing "sacrum" or "sacral", or "S1" alone
  (levels are counted from it, so it is never merged with the lumbar bodies);
* vertebra: 51282000 vertebra, the T10-L5 vertebrae; labels containing "vertebra",
  or a vertebra name alone ("L3").

Segments matching none (e.g. spinal cord, muscle) are ignored. Where segments
overlap, the smaller structure wins: canal over disc over vertebra and sacrum.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from inference.ml.classes import CANAL, CLASS_NAMES, DISC, SACRUM, VERTEBRA

if TYPE_CHECKING:
    from highdicom.seg import Segmentation
    from pydicom import Dataset

SCT_CLASSES: dict[str, int] = {
    # vertebrae (pydicom's SCT dictionary: Vertebra, T10Vertebra ... L5Vertebra, sacrum)
    "51282000": VERTEBRA,
    "7610001": VERTEBRA,
    "12989004": VERTEBRA,
    "23215003": VERTEBRA,
    "66794005": VERTEBRA,
    "14293000": VERTEBRA,
    "36470004": VERTEBRA,
    "11994002": VERTEBRA,
    "49668003": VERTEBRA,
    "54735007": SACRUM,
    # discs T10/T11 ... L5/S1
    "34959001": DISC,
    "1537001": DISC,
    "76206002": DISC,
    "80064006": DISC,
    "67459009": DISC,
    "62551000": DISC,
    "84020006": DISC,
    "715056000": DISC,
    # spinal canal
    "61853006": CANAL,
}
_PAINT_ORDER = (VERTEBRA, SACRUM, DISC, CANAL)
_VERTEBRA_NAME = re.compile(r"^\s*[ctl]\d{1,2}\s*$", re.IGNORECASE)
_SACRAL_NAME = re.compile(r"^\s*s\d\s*$", re.IGNORECASE)


class SegImportError(ValueError):
    """The SEG cannot be imported as a reference mask; the message says why."""


@dataclass
class SegMask:
    series_uid: str
    classes: np.ndarray  # (instances, rows, cols) uint8, in the order of the uids asked for
    mapping: dict[int, str]  # segment number -> class name (mapped segments only)
    ignored: list[str]  # labels of segments that mapped to no class


def segment_class(label: str, codes: Sequence[tuple[str, str]]) -> int | None:
    """The class of one segment from its property type codes ((scheme, value)) and label."""
    for scheme, value in codes:
        if scheme.upper() in {"SCT", "SRT"} and value in SCT_CLASSES:
            return SCT_CLASSES[value]
    text = label.lower()
    if "disc" in text or "disk" in text:
        return DISC
    if any(word in text for word in ("canal", "thecal", "dural sac")):
        return CANAL
    if "sacrum" in text or "sacral" in text or _SACRAL_NAME.match(text):
        return SACRUM
    if "vertebra" in text or _VERTEBRA_NAME.match(text):
        return VERTEBRA
    return None


# Bounds on what a SEG may make this process read and decode (a SEG made on a lumbar
# series is a few MB; these leave room for large 3D series and refuse bombs).
SEG_MAX_FILE_BYTES = 512 * 1024**2
SEG_MAX_VOXELS = 2**28  # rows x columns x frames, decoded to one byte each or more


def read_seg(
    path: str | Path, *, max_file_bytes: int = SEG_MAX_FILE_BYTES, max_voxels: int = SEG_MAX_VOXELS
) -> Segmentation:
    """The SEG as a ``highdicom.seg.Segmentation``; :class:`SegImportError` with a reason
    for anything else: not a file, too large, not DICOM, not a SEG, a deflated data set
    (which inflates without bound), more frames than ``max_voxels`` allows, or any parse
    error of pydicom or highdicom."""
    # highdicom (half a second, with pydicom): loaded when a SEG is read.
    import highdicom as hd
    import pydicom
    from pydicom.filereader import read_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SegImportError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if not path.is_file():
        raise SegImportError(f"{path}: not a file")
    if size > max_file_bytes:
        raise SegImportError(f"{path}: {size} bytes; a SEG is refused above {max_file_bytes} bytes")
    try:
        meta = read_file_meta_info(str(path))
        if meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
            raise SegImportError(
                f"{path}: deflated DICOM (inflates without a bound) is not accepted for a SEG"
            )
        header = pydicom.dcmread(str(path), stop_before_pixels=True)
    except SegImportError:
        raise
    except Exception as exc:
        raise SegImportError(
            f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})"
        ) from exc
    if str(getattr(header, "Modality", "")) != "SEG":
        raise SegImportError(
            f"{path}: not a DICOM SEG (Modality {getattr(header, 'Modality', 'missing')!r})"
        )
    try:
        voxels = (
            int(header.Rows) * int(header.Columns) * int(getattr(header, "NumberOfFrames", 1) or 1)
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise SegImportError(
            f"{path}: the SEG has no valid Rows, Columns or NumberOfFrames ({exc})"
        ) from exc
    if voxels > max_voxels:
        raise SegImportError(
            f"{path}: {voxels} voxels in its frames; a SEG is refused above {max_voxels}"
        )
    try:
        return hd.seg.segread(str(path))
    except Exception as exc:
        raise SegImportError(f"{path}: unreadable DICOM SEG ({type(exc).__name__}: {exc})") from exc


def referenced_series(seg: Segmentation) -> set[str]:
    """SeriesInstanceUIDs of the images the SEG was derived from."""
    return {str(series) for _, series, _ in seg.get_source_image_uids()}


def seg_mask(
    seg: Segmentation, sop_instance_uids: Sequence[str], series_uid: str, name: str = "the SEG"
) -> SegMask:
    """Class ids of the SEG (from :func:`read_seg`) for the given images of ``series_uid``,
    in that order; ``name`` appears in error messages.

    Raises :class:`SegImportError` when the SEG was derived from another series (or
    from several), refers to images not among ``sop_instance_uids``, or has no
    segment that maps to a class.
    """
    sources = seg.get_source_image_uids()
    series = referenced_series(seg)
    if series != {series_uid}:
        raise SegImportError(
            f"{name} was made on series {', '.join(sorted(series)) or '(none)'}, "
            f"not on {series_uid}"
        )
    unknown = {str(uid) for _, _, uid in sources} - set(sop_instance_uids)
    if unknown:
        raise SegImportError(f"{name} refers to {len(unknown)} image(s) not in series {series_uid}")
    mapping: dict[int, int] = {}
    ignored = []
    for number in seg.segment_numbers:
        description = seg.get_segment_description(number)
        codes = [
            (str(c.scheme_designator), str(c.value)) for c in [description.segmented_property_type]
        ]
        cls = segment_class(str(description.segment_label), codes)
        if cls is None:
            ignored.append(str(description.segment_label))
        else:
            mapping[number] = cls
    if not mapping:
        raise SegImportError(
            f"{name}: no segment is a vertebra, sacrum, disc or canal (labels: {', '.join(ignored)})"
        )
    numbers = sorted(
        mapping, key=lambda n: _PAINT_ORDER.index(mapping[n])
    )  # smaller structures on top
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(sop_instance_uids),
        segment_numbers=numbers,
        assert_missing_frames_are_empty=True,
        skip_overlap_checks=True,
    )
    classes = np.zeros(pixels.shape[:3], dtype=np.uint8)
    for i, number in enumerate(numbers):
        classes[pixels[..., i] > 0] = mapping[number]
    return SegMask(
        series_uid=series_uid,
        classes=classes,
        mapping={n: CLASS_NAMES[c] for n, c in mapping.items()},
        ignored=ignored,
    )


# --- writing: the models' classes as a SEG ----------------------------------------------------

# What each class is written as: label, SNOMED CT code and meaning. Each label alone also
# maps back to its class in :func:`segment_class`, and the codes to SCT_CLASSES where there
# is one (the intervertebral disc in general has none there; its label carries it).
SEG_SEGMENTS: dict[int, tuple[str, str, str]] = {
    VERTEBRA: ("Vertebral body", "51282000", "Vertebra"),
    DISC: ("Intervertebral disc", "360499006", "Intervertebral disc structure"),
    CANAL: ("Spinal canal", "61853006", "Spinal canal"),
    SACRUM: ("Sacrum", "54735007", "Sacrum"),
}


@dataclass(frozen=True)
class SegIdentity:
    """The new object's own identity (its series and SOP instance UIDs are the caller's:
    deterministic UIDs make a resent object the same object)."""

    series_instance_uid: str
    sop_instance_uid: str
    series_number: int = 9002
    instance_number: int = 1
    manufacturer: str = "RadBot Web"
    model_name: str = "image models"
    software_version: str = "1"
    series_description: str = "AI segmentation"


# Type 2 attributes the SEG copies from its source images, which de-identified images may
# lack (highdicom reads them unconditionally).
_TYPE2_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
)


def _with_type2_study_attributes(ds: Dataset) -> Dataset:
    missing = [k for k in _TYPE2_COPIED if k not in ds]
    if not missing:
        return ds
    ds = copy.deepcopy(ds)
    for keyword in missing:
        setattr(ds, keyword, "")
    return ds


def build_seg(
    source_images: Sequence[Dataset], classes: np.ndarray, identity: SegIdentity
) -> Segmentation:
    """A binary DICOM SEG of ``classes`` ((images, rows, cols) class ids, one frame per
    image of ``source_images``, in that order), one segment per class present, written by
    an automatic algorithm. Empty frames are left out. Raises ValueError when the shapes
    differ or no class is present."""
    # highdicom (half a second, with pydicom): loaded when a SEG is built.
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    if classes.ndim != 3 or classes.shape[0] != len(source_images):
        raise ValueError(
            f"{classes.shape} class ids for {len(source_images)} images: one frame per image"
        )
    present = [c for c in SEG_SEGMENTS if np.any(classes == c)]
    if not present:
        raise ValueError("the mask holds no vertebra, disc, canal or sacrum: nothing to write")
    labels = np.zeros(classes.shape, dtype=np.uint8)
    descriptions = []
    for number, cls in enumerate(present, start=1):
        labels[classes == cls] = number
        label, value, meaning = SEG_SEGMENTS[cls]
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label,
                segmented_property_category=codes.SCT.AnatomicalStructure,
                segmented_property_type=Code(value, "SCT", meaning),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=hd.AlgorithmIdentificationSequence(
                    name=identity.model_name[:64],
                    version=identity.software_version[:64],
                    family=codes.DCM.ArtificialIntelligence,
                ),
            )
        )
    return hd.seg.Segmentation(
        source_images=[_with_type2_study_attributes(ds) for ds in source_images],
        pixel_array=labels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=identity.series_instance_uid,
        series_number=identity.series_number,
        sop_instance_uid=identity.sop_instance_uid,
        instance_number=identity.instance_number,
        manufacturer=identity.manufacturer,
        manufacturer_model_name=identity.model_name[:64],
        software_versions=identity.software_version[:64],
        device_serial_number="0",
        series_description=identity.series_description,
        omit_empty_frames=True,
    )
