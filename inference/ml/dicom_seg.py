"""Reference masks from DICOM Segmentation (SEG) objects, as the models' class ids.

Each segment of the SEG is mapped to one class (1 vertebra, 2 disc, 3 canal) by its
SegmentedPropertyTypeCodeSequence when that is one of the SNOMED CT codes below,
otherwise by its SegmentLabel (case-insensitive):

* disc: codes for the thoracolumbar discs (T10/T11 ... L5/S1); labels containing
  "disc" or "disk" (checked first: "intervertebral disc" also contains "vertebra");
* canal: 61853006 spinal (vertebral) canal; labels containing "canal", "thecal" or
  "dural sac";
* vertebra: 51282000 vertebra, the T10-L5 vertebrae, 54735007 sacrum; labels
  containing "vertebra" or "sacrum", or a vertebra name alone ("L3", "S1").

Segments matching none (e.g. spinal cord, muscle) are ignored. Where segments
overlap, the smaller structure wins: canal over disc over vertebra.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VERTEBRA, DISC, CANAL = 1, 2, 3
CLASS_NAMES = {VERTEBRA: "vertebra", DISC: "disc", CANAL: "canal"}

SCT_CLASSES: dict[str, int] = {
    # vertebrae (pydicom's SCT dictionary: Vertebra, T10Vertebra ... L5Vertebra, sacrum)
    "51282000": VERTEBRA, "7610001": VERTEBRA, "12989004": VERTEBRA, "23215003": VERTEBRA,
    "66794005": VERTEBRA, "14293000": VERTEBRA, "36470004": VERTEBRA, "11994002": VERTEBRA,
    "49668003": VERTEBRA, "54735007": VERTEBRA,
    # discs T10/T11 ... L5/S1
    "34959001": DISC, "1537001": DISC, "76206002": DISC, "80064006": DISC, "67459009": DISC,
    "62551000": DISC, "84020006": DISC, "715056000": DISC,
    # spinal canal
    "61853006": CANAL,
}
_VERTEBRA_NAME = re.compile(r"^\s*(?:[ctl]\d{1,2}|s\d)\s*$", re.IGNORECASE)


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
    if "vertebra" in text or "sacrum" in text or _VERTEBRA_NAME.match(text):
        return VERTEBRA
    return None


def read_seg(path: str | Path):
    """The SEG as a ``highdicom.seg.Segmentation``; :class:`SegImportError` otherwise."""
    import highdicom as hd
    import pydicom

    try:
        header = pydicom.dcmread(str(path), stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise SegImportError(f"{path}: not a DICOM file ({exc})") from exc
    if str(getattr(header, "Modality", "")) != "SEG":
        raise SegImportError(f"{path}: not a DICOM SEG (Modality {getattr(header, 'Modality', 'missing')!r})")
    try:
        return hd.seg.segread(str(path))
    except (AttributeError, ValueError, KeyError) as exc:
        raise SegImportError(f"{path}: unreadable DICOM SEG ({exc})") from exc


def referenced_series(seg) -> set[str]:
    """SeriesInstanceUIDs of the images the SEG was derived from."""
    return {str(series) for _, series, _ in seg.get_source_image_uids()}


def seg_mask(seg, sop_instance_uids: Sequence[str], series_uid: str, name: str = "the SEG") -> SegMask:
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
        codes = [(str(c.scheme_designator), str(c.value)) for c in [description.segmented_property_type]]
        cls = segment_class(str(description.segment_label), codes)
        if cls is None:
            ignored.append(str(description.segment_label))
        else:
            mapping[number] = cls
    if not mapping:
        raise SegImportError(
            f"{name}: no segment is a vertebra, disc or canal (labels: {', '.join(ignored)})"
        )
    numbers = sorted(mapping, key=lambda n: mapping[n])  # vertebra, then disc, then canal on top
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(sop_instance_uids), segment_numbers=numbers,
        assert_missing_frames_are_empty=True, skip_overlap_checks=True,
    )
    classes = np.zeros(pixels.shape[:3], dtype=np.uint8)
    for i, number in enumerate(numbers):
        classes[pixels[..., i] > 0] = mapping[number]
    return SegMask(series_uid=series_uid, classes=classes,
                   mapping={n: CLASS_NAMES[c] for n, c in mapping.items()}, ignored=ignored)
