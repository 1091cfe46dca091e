"""Real sagittal MRI with partial masks (one labelled structure per data set).

The project reads these volumes from ``../shared/data/real_mri`` at run time and never
copies them (GPL-3.0 data). Two layouts are understood, each described by its own
``labels.json``:

* ``*_discs.nii.gz``: the five lumbar discs, 1 = L5-S1 ... 5 = L1-L2;
* ``*_vertebrae.nii.gz``: vertebral bodies, 1 = T11 ... 7 = L5.

A :class:`RealVolume` carries the image as a :class:`Volume` (LPS geometry, the same
conversion the app's NIfTI import uses), its partial mask in the segmentation classes
with ``IGNORE`` where the annotation says nothing, the set of classes it does label,
and the truth the evaluation needs: disc centres per level name, and which of them
are only estimated (midpoints between labelled bodies).

Why ``IGNORE``: both sets leave structures of their own class unlabelled beyond the
annotated span (the T12-L1 disc in the disc set, T10 and above in the body set).
Counting them as background would teach the network that a disc is not a disc.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.ml.classes import DISC, VERTEBRA
from inference.ml.volume import Volume, index_to_patient, load_nifti_as_volume

IGNORE = 255
DISC_LEVELS_CAUDAL_FIRST = ("L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2")
BODY_NAMES_CRANIAL_FIRST = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")
# Margin kept beyond the outermost labelled structure before the ignore region: about
# half a vertebral body, so the annotated span's own neighbours are still "not labelled
# class" (a body next to a disc is not a disc) without reaching the next unlabelled one.
DISC_SPAN_MARGIN_MM = 12.0
BODY_SPAN_MARGIN_MM = 3.0


@dataclass
class RealVolume:
    key: str
    kind: str  # "discs" or "vertebrae"
    volume: Volume
    mask: np.ndarray  # uint8 (slices, rows, cols): class ids, IGNORE outside the annotated span
    labelled: tuple[int, ...]  # the classes this mask labels
    disc_centres: dict[str, np.ndarray] = field(default_factory=dict)  # LPS mm, by level name
    estimated: set[str] = field(default_factory=set)  # disc centres inferred from bodies
    structure_centres: dict[str, np.ndarray] = field(default_factory=dict)  # labelled bodies/discs


def _load_mask(path: Path) -> np.ndarray:
    return np.rint(load_nifti_as_volume(path).pixels).astype(np.int16)


def _centroids(vol: Volume, labels: np.ndarray, names: dict[int, str]) -> dict[str, np.ndarray]:
    out = {}
    for value, name in names.items():
        idx = np.argwhere(labels == value)
        if len(idx):
            out[name] = index_to_patient(vol, idx.mean(0)[None])[0]
    return out


def _ignore_outside(mask: np.ndarray, vol: Volume, labels: np.ndarray, margin_mm: float) -> None:
    """Rows (head-foot) beyond the labelled span + margin become IGNORE, in place."""
    rows = np.flatnonzero(labels.any(axis=(0, 2)))
    if not len(rows):
        mask[:] = IGNORE
        return
    margin = round(margin_mm / vol.pixel_spacing[0])
    top, bottom = max(0, rows.min() - margin), min(mask.shape[1], rows.max() + margin + 1)
    mask[:, :top] = IGNORE
    mask[:, bottom:] = IGNORE


def load_real_volume(image_path: str | Path) -> RealVolume:
    """One ``*_image.nii.gz`` and the mask beside it (found through ``labels.json``)."""
    image_path = Path(image_path)
    folder = image_path.parent
    meta = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    suffix = meta["mask_file_suffix"]
    key = image_path.name.removesuffix("_image.nii.gz")
    vol = load_nifti_as_volume(image_path)
    vol.series_uid = f"real:{key}"
    labels = _load_mask(folder / f"{key}{suffix}")
    if labels.shape != vol.pixels.shape:
        raise ValueError(f"{key}: mask {labels.shape} and image {vol.pixels.shape} differ")
    mask = np.zeros(labels.shape, np.uint8)
    if suffix == "_discs.nii.gz":
        names = {i + 1: lv for i, lv in enumerate(DISC_LEVELS_CAUDAL_FIRST)}
        mask[labels > 0] = DISC
        _ignore_outside(mask, vol, labels, DISC_SPAN_MARGIN_MM)
        centres = _centroids(vol, labels, names)
        return RealVolume(
            key=key,
            kind="discs",
            volume=vol,
            mask=mask,
            labelled=(DISC,),
            disc_centres=centres,
            structure_centres=centres,
        )
    if suffix == "_vertebrae.nii.gz":
        names = {i + 1: b for i, b in enumerate(BODY_NAMES_CRANIAL_FIRST)}
        mask[labels > 0] = VERTEBRA
        _ignore_outside(mask, vol, labels, BODY_SPAN_MARGIN_MM)
        bodies = _centroids(vol, labels, names)
        discs, estimated = body_disc_centres(bodies)
        return RealVolume(
            key=key,
            kind="vertebrae",
            volume=vol,
            mask=mask,
            labelled=(VERTEBRA,),
            disc_centres=discs,
            estimated=estimated,
            structure_centres=bodies,
        )
    raise ValueError(f"{folder / 'labels.json'}: unknown mask suffix {suffix!r}")


def body_disc_centres(bodies: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], set[str]]:
    """Disc centres between consecutive labelled bodies (T11-T12 ... L4-L5), and L5-S1
    extrapolated half a segment below L5. All are estimates (no disc is labelled)."""
    order = [b for b in BODY_NAMES_CRANIAL_FIRST if b in bodies]
    discs: dict[str, np.ndarray] = {}
    for upper, lower in itertools.pairwise(order):
        discs[f"{upper}-{lower}"] = (bodies[upper] + bodies[lower]) / 2
    if "L5" in bodies and "L4" in bodies:
        discs["L5-S1"] = bodies["L5"] + (bodies["L5"] - bodies["L4"]) / 2
    return discs, set(discs)


def find_real_volumes(root: str | Path) -> list[Path]:
    """Every ``*_image.nii.gz`` with a ``labels.json`` beside it, below ``root``."""
    root = Path(root)
    return sorted(p for p in root.rglob("*_image.nii.gz") if (p.parent / "labels.json").is_file())


def crop_rows(real: RealVolume) -> tuple[int, int]:
    """The annotated head-foot span (rows not IGNORE), for evaluation on the same span."""
    rows = np.flatnonzero((real.mask != IGNORE).any(axis=(0, 2)))
    return (int(rows.min()), int(rows.max()) + 1) if len(rows) else (0, 0)
