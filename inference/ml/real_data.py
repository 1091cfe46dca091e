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

A disc centre, true or estimated, is measured the way the localiser measures the
disc it finds (``localisation._disc_from_component``): at the structure's mean slice
position, the centroid of its pixels in the slice nearest it. The 3D centroid lies
1-2 mm further back (measured on all 22 volumes: a disc's or a body's midline
section is indented by the canal, its lateral parts are not), a difference of
definition, not of localisation.

Why ``IGNORE``: both sets leave structures of their own class unlabelled beyond the
annotated span (the T12-L1 disc in the disc set, T10 and above in the body set).
Counting them as background would teach the network that a disc is not a disc.

Neither set labels the sacrum, the bone the levels are named from. Both say where it
is: right under the L5-S1 disc (disc set), right under the L5 body, across its disc
(body set; the lowest body "sits directly on the sacrum" in every exam). So each volume
also carries a small **sacrum core**, a ball of S1 body well inside the sacrum wherever
that disc is thick or thin, for training only: a positive-only label (those voxels
are sacrum; nothing is said about any other voxel).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from inference.ml.classes import DISC, VERTEBRA
from inference.ml.volume import Volume, index_to_patient, load_nifti_as_volume, patient_to_index

IGNORE = 255
DISC_LEVELS_CAUDAL_FIRST = ("L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2")
BODY_NAMES_CRANIAL_FIRST = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")
# Margin kept beyond the outermost labelled structure before the ignore region: about
# half a vertebral body, so the annotated span's own neighbours are still "not labelled
# class" (a body next to a disc is not a disc) without reaching the next unlabelled one.
DISC_SPAN_MARGIN_MM = 12.0
BODY_SPAN_MARGIN_MM = 3.0
# Sacrum core (a ball of this radius). Under a labelled L5-S1 disc: its centre this far
# below the disc's caudal surface, in the top of S1 (25-30 mm tall). Under the L5 body:
# this far beyond a disc as tall as L4-L5, starting this far back from the middle of
# L5's lower endplate and bent back by this angle (see sacrum_core_below_body). Every
# core of the 22 real volumes was checked by eye to lie in S1 (check images: the
# sacrum_core_* functions drawn on each volume's midsagittal slice).
SACRUM_CORE_RADIUS_MM = 4.0
SACRUM_CORE_BELOW_DISC_MM = 9.0
SACRUM_CORE_BELOW_ENDPLATE_MM = 8.0
SACRUM_CORE_BACK_MM = 8.0
SACRUM_CORE_BEND_DEG = 15.0
# A disc centre this close to the labelled L5 body, on its caudal side, is L5-S1 (see
# l5_s1_under_l5): half the 20 mm minimum disc spacing.
L5_S1_REACH_MM = 10.0


@dataclass
class RealVolume:
    key: str
    kind: str  # "discs" or "vertebrae"
    volume: Volume
    mask: np.ndarray  # uint8 (slices, rows, cols): class ids, IGNORE outside the annotated span
    labelled: tuple[int, ...]  # the classes this mask labels
    disc_centres: dict[str, np.ndarray] = field(default_factory=dict)  # LPS mm, by level name
    estimated: set[str] = field(default_factory=set)  # disc centres inferred from bodies
    # body volumes: the labelled L5 body (LPS mm points) and the unit vector from L4's
    # centroid to L5's, which is where their L5-S1 disc is told (see l5_s1_under_l5)
    l5_points: np.ndarray | None = None
    caudal_axis: np.ndarray | None = None
    structure_centres: dict[str, np.ndarray] = field(default_factory=dict)  # labelled bodies/discs
    # positive-only sacrum label for training (see the module docstring): (N, 3) voxel
    # indices (slice, row, col); None: not found
    sacrum_core: np.ndarray | None = None


def _load_mask(path: Path) -> np.ndarray:
    return np.rint(load_nifti_as_volume(path).pixels).astype(np.int16)


def _centroids(vol: Volume, labels: np.ndarray, names: dict[int, str]) -> dict[str, np.ndarray]:
    out = {}
    for value, name in names.items():
        idx = np.argwhere(labels == value)
        if len(idx):
            out[name] = index_to_patient(vol, idx.mean(0)[None])[0]
    return out


def _midsagittal_centres(
    vol: Volume, labels: np.ndarray, names: dict[int, str]
) -> dict[str, np.ndarray]:
    """Per structure: the centroid of its pixels in the slice nearest its mean slice
    position, placed at that position (the localiser's disc centre; module docstring)."""
    out = {}
    for value, name in names.items():
        idx = np.argwhere(labels == value)
        if not len(idx):
            continue
        mean_slice = float(idx[:, 0].mean())
        section = idx[idx[:, 0] == round(mean_slice)].astype(float)
        if not len(section):
            continue
        section[:, 0] = mean_slice
        out[name] = index_to_patient(vol, section.mean(0)[None])[0]
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


def sacrum_core_below_disc(vol: Volume, disc: np.ndarray) -> np.ndarray | None:
    """The sacrum core's voxel indices under a labelled L5-S1 disc (bool mask): its
    thinnest axis is its normal, and S1 begins at its caudal surface."""
    idx = np.argwhere(disc)
    if len(idx) < 50:
        return None
    pts = index_to_patient(vol, idx)
    centre = pts.mean(0)
    normal = np.linalg.eigh(np.cov((pts - centre).T))[1][:, 0]
    if normal[2] > 0:  # LPS: +z is cranial; the core is caudal
        normal = -normal
    half = float(np.percentile((pts - centre) @ normal, 98))
    return _ball(vol, centre + normal * (half + SACRUM_CORE_BELOW_DISC_MM), SACRUM_CORE_RADIUS_MM)


def sacrum_core_below_body(vol: Volume, l5: np.ndarray, l4: np.ndarray) -> np.ndarray | None:
    """The sacrum core's voxel indices under a labelled L5 body (bool masks of L5 and
    L4), around L5's midsagittal slice.

    The L5 body's axis is taken from its upper endplate, the face towards L4: a principal
    axis would not do (a body is about as deep as it is tall), nor the L4-to-L5 line (the
    lumbosacral junction bends more than that, up to an L5 standing at 45 degrees). The
    core lies past L5's full height and a disc as tall as L4-L5's, under the back half
    of L5 (where the L5-S1 disc is thinnest) and bent backwards with the lumbosacral
    angle: straight on along L5's axis runs out of the front of a steep sacrum."""
    idx5 = np.argwhere(l5)
    if len(idx5) < 50 or not l4.any():
        return None
    mid = int(np.median(idx5[:, 0]))
    p5 = index_to_patient(vol, idx5[idx5[:, 0] == mid])
    idx4 = np.argwhere(l4[mid])
    if len(idx4) < 50:
        return None
    p4 = index_to_patient(vol, np.column_stack([np.full(len(idx4), mid), idx4]))
    dist = cKDTree(p4[:, 1:]).query(p5[:, 1:])[0]
    on_face = dist <= dist.min() + 3.0  # L5's points nearest L4: its upper endplate
    face = p5[on_face]
    if len(face) < 5:
        return None
    _, vecs = np.linalg.eigh(np.cov((face[:, 1:] - face[:, 1:].mean(0)).T))
    axis = np.array([0.0, *vecs[:, 0]])  # normal to the endplate line, in the slice
    c5 = p5.mean(0)
    if axis @ (c5 - p4.mean(0)) < 0:
        axis = -axis  # from L4 towards L5, i.e. caudal
    below = float(np.percentile((p5 - c5) @ axis, 99))
    gap = float(np.median(dist[on_face]))
    back = np.array([0.0, axis[2], -axis[1]])
    if back[1] < 0:  # LPS: +y is posterior
        back = -back
    turn = np.radians(SACRUM_CORE_BEND_DEG)
    bent = np.cos(turn) * axis + np.sin(turn) * back
    start = c5 + axis * below + back * SACRUM_CORE_BACK_MM
    return _ball(vol, start + bent * (gap + SACRUM_CORE_BELOW_ENDPLATE_MM), SACRUM_CORE_RADIUS_MM)


def _ball(vol: Volume, centre: np.ndarray, radius_mm: float) -> np.ndarray | None:
    """(N, 3) indices of the voxels within ``radius_mm`` of ``centre`` (LPS), or None when
    the centre lies outside the volume."""
    c = patient_to_index(vol, centre[None])[0]
    if np.any(c < 0) or np.any(c > np.asarray(vol.pixels.shape) - 1):
        return None
    spacing = np.linalg.norm(vol.affine[:3, :3], axis=0)  # mm per (slice, row, col) step
    reach = np.ceil(radius_mm / spacing).astype(int)
    first = np.maximum(np.floor(c).astype(int) - reach, 0)
    last = np.minimum(np.ceil(c).astype(int) + reach + 1, vol.pixels.shape)
    grid = np.stack(
        np.meshgrid(*(np.arange(a, b) for a, b in zip(first, last, strict=True)), indexing="ij"),
        -1,
    ).reshape(-1, 3)
    near = np.linalg.norm(index_to_patient(vol, grid) - centre, axis=1) <= radius_mm
    return grid[near]


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
        return RealVolume(
            key=key,
            kind="discs",
            volume=vol,
            mask=mask,
            labelled=(DISC,),
            disc_centres=_midsagittal_centres(vol, labels, names),
            structure_centres=_centroids(vol, labels, names),
            sacrum_core=sacrum_core_below_disc(vol, labels == 1),  # 1 = L5-S1
        )
    if suffix == "_vertebrae.nii.gz":
        names = {i + 1: b for i, b in enumerate(BODY_NAMES_CRANIAL_FIRST)}
        names_to_value = {b: v for v, b in names.items()}
        mask[labels > 0] = VERTEBRA
        _ignore_outside(mask, vol, labels, BODY_SPAN_MARGIN_MM)
        discs, estimated = body_disc_centres(_midsagittal_centres(vol, labels, names))
        bodies = _centroids(vol, labels, names)
        l4, l5 = labels == names_to_value["L4"], labels == names_to_value["L5"]
        l5_points, axis = lowest_body_frame(vol, l5, l4)
        return RealVolume(
            key=key,
            kind="vertebrae",
            volume=vol,
            mask=mask,
            labelled=(VERTEBRA,),
            disc_centres=discs,
            estimated=estimated,
            structure_centres=bodies,
            l5_points=l5_points,
            caudal_axis=axis,
            sacrum_core=sacrum_core_below_body(vol, l5, l4),
        )
    raise ValueError(f"{folder / 'labels.json'}: unknown mask suffix {suffix!r}")


def body_disc_centres(bodies: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], set[str]]:
    """Disc centres between consecutive labelled bodies (T11-T12 ... L4-L5). All are
    estimates (no disc is labelled). L5-S1 has no body below it to take a midpoint with:
    it is told from L5 itself (:func:`l5_s1_under_l5`), not given a centre here."""
    order = [b for b in BODY_NAMES_CRANIAL_FIRST if b in bodies]
    discs: dict[str, np.ndarray] = {}
    for upper, lower in itertools.pairwise(order):
        discs[f"{upper}-{lower}"] = (bodies[upper] + bodies[lower]) / 2
    return discs, set(discs)


def lowest_body_frame(
    vol: Volume, l5: np.ndarray, l4: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """L5's points (LPS mm) and the unit vector from L4's centroid to L5's, from their
    bool masks; (None, None) when either is empty."""
    if not l5.any() or not l4.any():
        return None, None
    points = index_to_patient(vol, np.argwhere(l5))
    axis = points.mean(0) - index_to_patient(vol, np.argwhere(l4)).mean(0)
    return points, axis / np.linalg.norm(axis)


def l5_s1_under_l5(real: RealVolume, centre: np.ndarray) -> bool:
    """Whether a disc centre (LPS mm) is the L5-S1 disc of a body-labelled volume: on
    L5's caudal side (beyond its centroid, away from L4) and within
    ``L5_S1_REACH_MM`` of the labelled L5 body.

    A point extrapolated half a segment below L5 (the rule before this one) misses the
    disc on steep lumbosacral junctions by more than the naming tolerance: on vb2_04
    (checked on its midsagittal slice) it lies in S1, 15 mm from the disc. The disc itself touches L5: in cross-validated
    readings of the 14 body volumes that were named, every disc named L5-S1 lay 2.8-6.0
    mm from L5's mask and 12-20 mm beyond its centroid, every L4-L5 18-21 mm on the
    cranial side. The disc below S1 lies a sacral body's height (25 mm or more)
    from L5, so it is never taken for L5-S1."""
    if real.l5_points is None or real.caudal_axis is None:
        return False
    beyond = float((centre - real.l5_points.mean(0)) @ real.caudal_axis)
    nearest = float(np.min(np.linalg.norm(real.l5_points - centre, axis=1)))
    return beyond > 0 and nearest <= L5_S1_REACH_MM


def find_real_volumes(root: str | Path) -> list[Path]:
    """Every ``*_image.nii.gz`` with a ``labels.json`` beside it, below ``root``."""
    root = Path(root)
    return sorted(p for p in root.rglob("*_image.nii.gz") if (p.parent / "labels.json").is_file())


def crop_rows(real: RealVolume) -> tuple[int, int]:
    """The annotated head-foot span (rows not IGNORE), for evaluation on the same span."""
    rows = np.flatnonzero((real.mask != IGNORE).any(axis=(0, 2)))
    return (int(rows.min()), int(rows.max()) + 1) if len(rows) else (0, 0)
