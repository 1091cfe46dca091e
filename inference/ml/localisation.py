"""Disc localisation and level naming from a sagittal class-mask volume.

Each disc is one 3D connected component of the disc class. Its lateral position is
the component's 3D centroid; its in-plane centre and orientation come from a PCA of
the component's pixels in the slice nearest that centroid (the disc's midsagittal
slice): the major axis is the disc's anterior-posterior direction in its mid-plane,
the minor axis the disc normal. 2D rather than 3D PCA because sagittal slices are
3-4 mm apart: the lateral axis is sampled far more coarsely than the other two.

Level names are counted upward from the sacrum (a class of its own), never from the
top: the top of a lumbar field of view varies (T11, T12 or L1). Every step is a
check, and a failed check stops the naming there with a reason, because a name one
level off shifts every finding of the report:

* the sacrum: a sacrum-class component big enough to be one, with more of it in view
  than a lumbar body's height (or else it might be L5), no lumbar-body class
  under the lowest disc that outweighs it, narrowed 20-40 mm under that disc (an L5
  body read as sacrum, over a missed disc, is as deep there as the body above), and no
  disc further down with sacrum class on both its sides;
* L5-S1: the disc sitting on the sacrum (its centre within a few mm of the sacrum);
* each step up: the next disc lies cranial at a plausible spacing, tilted by a
  plausible angle, with a vertebral body of plausible height between the two, and
  the canal runs behind the body.

A level whose checks pass gets a confidence (the product of how well within its
limits each check is, times the confidence of the level below: a doubtful step
makes every level above it doubtful). A level below ``min_confidence`` is not named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import ndimage

from inference.ml.classes import CANAL, DISC, SACRUM, VERTEBRA
from inference.ml.postprocess import SPECK_SHARE, class_components
from inference.ml.volume import Volume, index_to_patient, patient_to_index
from spine.labels import LEVELS

__all__ = [
    "CANAL",
    "DISC",
    "SACRUM",
    "VERTEBRA",
    "DiscLocation",
    "Localisation",
    "LocaliserConfig",
    "discs_from_json",
    "discs_to_json",
    "find_discs",
    "localise",
    "naming_disagreement",
]


@dataclass
class DiscLocation:
    """One disc in patient LPS mm; unit vectors point posterior, cranial and left."""

    level: str | None
    centre: np.ndarray
    posterior: np.ndarray
    normal: np.ndarray
    lateral: np.ndarray
    slice_index: int  # index into the (position-sorted) volume
    thickness_mm: float
    depth_mm: float
    volume_mm3: float


_DISC_VECTORS = ("centre", "posterior", "normal", "lateral")


def discs_to_json(discs: Mapping[str, DiscLocation]) -> dict[str, dict[str, Any]]:
    """Disc locations as JSON (floats round-trip exactly), for a stage's artefact."""
    out = {}
    for lv, d in discs.items():
        row = asdict(d)
        for key in _DISC_VECTORS:
            row[key] = [float(v) for v in getattr(d, key)]
        row["slice_index"] = int(d.slice_index)
        for key in ("thickness_mm", "depth_mm", "volume_mm3"):
            row[key] = float(row[key])
        out[lv] = row
    return out


def discs_from_json(data: Mapping[str, Mapping[str, Any]]) -> dict[str, DiscLocation]:
    discs = {}
    for lv, row in data.items():
        fields = dict(row)
        for key in _DISC_VECTORS:
            fields[key] = np.asarray(fields[key], dtype=np.float64)
        discs[lv] = DiscLocation(**fields)
    return discs


@dataclass
class Localisation:
    """``ok``: at least one level is named. ``reason`` says why none is; ``not_assessed``
    says why each unnamed level is not (outside the view, a failed check ...)."""

    discs: list[DiscLocation] = field(default_factory=list)  # named levels, LEVELS order
    all_discs: list[DiscLocation] = field(default_factory=list)  # every disc found, bottom up
    ok: bool = False
    reason: str | None = None
    not_assessed: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    sacrum_extent_mm: float = float("nan")
    # the disc taken for L5-S1 (the one on the sacrum), kept even when a later check
    # refuses the naming: where the count starts is what a second reading is compared on
    anchor: DiscLocation | None = None
    # why the bone under ``anchor`` may not be the sacrum at all (a lumbar-looking body
    # there), or "": a refusal about where the count starts, not about a level above it
    sacrum_doubt: str = ""

    def by_level(self) -> dict[str, DiscLocation]:
        return {d.level: d for d in self.discs if d.level is not None}

    @property
    def complete(self) -> bool:
        return self.ok and not self.not_assessed


# Two readings of one study take the same disc for L5-S1 when their centres lie this close:
# half the 20 mm minimum disc spacing. In the cross-validated real readings at 1.25 and
# 1.1 mm the same disc moved a median 2 mm (at most 6.4 mm); a count one disc off, 34-39 mm.
NAMING_TOLERANCE_MM = 10.0
REFUSAL_PREFIX = "cannot assign levels: "


@dataclass
class LocaliserConfig:
    """Plausibility limits (adult lumbar spine on sagittal MRI, generous on purpose:
    they are there to catch a wrong structure, not to grade anatomy)."""

    min_disc_mm3: float = 400.0  # smaller disc-class blobs are noise
    min_sacrum_mm3: float = 3000.0
    sacrum_min_extent_mm: float = 30.0  # sacrum seen at least this tall along the L5-S1 normal
    sacrum_contact_mm: float = 10.0  # L5-S1 disc surface to sacrum
    disc_spacing_mm: tuple[float, float] = (20.0, 55.0)  # centre to centre, adjacent discs
    body_height_mm: tuple[float, float] = (14.0, 45.0)
    max_step_angle_deg: float = 35.0
    min_body_fraction: float = 0.5  # share of the line between two discs that is body
    max_lateral_offset_mm: float = 15.0  # next disc's centre beside the current one's
    max_ap_offset_mm: float = 25.0  # ... and in front of or behind it (lordosis shifts ~5-15 mm)
    min_confidence: float = 0.5
    # the bone under L5-S1 followed down this far (mm below the disc): a sacrum has
    # narrowed there, L5 over a missed disc and S1 has not (see _bone_under)
    sacrum_taper_window_mm: tuple[float, float] = (20.0, 40.0)
    max_sacrum_taper_ratio: float = 0.75  # its mean depth there over the body above's
    # a disc this far under L5-S1, in line with it, with sacrum class both above and below
    # it (each side at least this share of the sacrum near it): the "sacrum" above it may
    # be L5 (see _disc_inside_sacrum)
    inner_disc_window_mm: tuple[float, float] = (12.0, 45.0)
    min_sacrum_share_each_side: float = 0.15


def _plane_mm(vol: Volume, rows: np.ndarray, cols: np.ndarray, s: float) -> np.ndarray:
    idx = np.stack([np.full(len(rows), s, float), rows, cols], axis=1)
    return index_to_patient(vol, idx)


def _disc_from_component(
    vol: Volume, comp: np.ndarray, mask: np.ndarray, origin: tuple[int, int, int] = (0, 0, 0)
) -> DiscLocation | None:
    """The disc one component makes; ``comp`` is its bounding box of the volume, at
    ``origin`` (slice, row, column) in it."""
    vox = np.argwhere(comp) + np.asarray(origin)
    vol_mm3 = len(vox) * vol.pixel_spacing[0] * vol.pixel_spacing[1] * vol.slice_distance_mm()
    s_c = float(vox[:, 0].mean())
    s_i = int(np.clip(round(s_c), 0, mask.shape[0] - 1))
    rc = np.argwhere(comp[s_i - origin[0]]) + np.asarray(origin[1:])
    if len(rc) < 10:
        return None
    pts = _plane_mm(vol, rc[:, 0].astype(float), rc[:, 1].astype(float), s_c)
    centre = pts.mean(0)
    cov = np.cov((pts - centre).T)
    w, v = np.linalg.eigh(cov)
    # eigh sorts ascending; the zero-variance eigenvector is the slice normal
    major, minor = v[:, 2], v[:, 1]
    canal = np.argwhere(mask[s_i] == CANAL)
    if len(canal):
        cpts = _plane_mm(vol, canal[:, 0].astype(float), canal[:, 1].astype(float), s_c)
        # posterior = towards the canal pixels closest to this disc
        d = np.linalg.norm(cpts - centre, axis=1)
        near = cpts[d < np.percentile(d, 10) + 1e-6].mean(0)
        if np.dot(near - centre, major) < 0:
            major = -major
    elif major[1] < 0:  # no canal segmented: fall back to LPS +y = posterior
        major = -major
    if minor[2] < 0:  # cranial = LPS +z
        minor = -minor
    lateral = np.cross(major, minor)
    return DiscLocation(
        level=None,
        centre=centre,
        posterior=major,
        normal=minor,
        lateral=lateral,
        slice_index=s_i,
        thickness_mm=float(np.sqrt(12 * max(w[1], 0))),
        depth_mm=float(np.sqrt(12 * max(w[2], 0))),
        volume_mm3=vol_mm3,
    )


def find_discs(
    vol: Volume, mask: np.ndarray, cfg: LocaliserConfig | None = None
) -> list[DiscLocation]:
    """Every disc component, ordered bottom (caudal) to top."""
    cfg = cfg or LocaliserConfig()
    comps = class_components(mask, DISC)
    if comps.count == 0:
        return []
    voxel_mm3 = vol.pixel_spacing[0] * vol.pixel_spacing[1] * vol.slice_distance_mm()
    sizes = comps.sizes()
    keep = [
        i + 1
        for i, sz in enumerate(sizes)
        if sz * voxel_mm3 >= max(cfg.min_disc_mm3, SPECK_SHARE * sizes.max() * voxel_mm3)
    ]
    # Each component inside its bounding box: a whole-volume comparison and scan per disc
    # took most of the localiser's second on a 77-slice 1 mm volume.
    boxes = ndimage.find_objects(comps.labels)
    o = comps.origin
    discs = []
    for lab in keep:
        box = boxes[lab - 1]
        origin = (int(o[0]) + box[0].start, int(o[1]) + box[1].start, int(o[2]) + box[2].start)
        d = _disc_from_component(vol, comps.labels[box] == lab, mask, origin)
        if d is not None:
            discs.append(d)
    discs.sort(key=lambda d: float(d.centre[2]))  # LPS z: caudal first
    return discs


def _score(value: float, lo: float, hi: float, soft: float) -> float:
    """1 well inside [lo, hi], falling linearly to 0 at the limits over ``soft``."""
    if not lo <= value <= hi:
        return 0.0
    return float(min(1.0, (value - lo) / soft, (hi - value) / soft))


def _sacrum(vol: Volume, mask: np.ndarray, cfg: LocaliserConfig) -> tuple[np.ndarray | None, float]:
    """Patient-mm points of the largest sacrum component, or None when it is too small."""
    comps = class_components(mask, SACRUM)
    if comps.count == 0:
        return None, 0.0
    voxel_mm3 = vol.pixel_spacing[0] * vol.pixel_spacing[1] * vol.slice_distance_mm()
    sizes = comps.sizes()
    best = int(np.argmax(sizes)) + 1
    volume = float(sizes[best - 1] * voxel_mm3)
    if volume < cfg.min_sacrum_mm3:
        return None, volume
    box = ndimage.find_objects(comps.labels, max_label=best)[best - 1]
    start = comps.origin + np.array([b.start for b in box])
    idx = np.argwhere(comps.labels[box] == best) + start
    if len(idx) > 20000:  # a subsample is enough for distances and extents
        idx = idx[np.random.default_rng(0).choice(len(idx), 20000, replace=False)]
    return index_to_patient(vol, idx.astype(float)), volume


def _touches_edge(vol: Volume, pts: np.ndarray) -> bool:
    idx = patient_to_index(vol, pts)
    rows, cols = vol.pixels.shape[1:]
    return bool(
        (idx[:, 1] > rows - 2.5).any() or (idx[:, 2] < 1.5).any() or (idx[:, 2] > cols - 2.5).any()
    )


def _in_slice(idx: np.ndarray, plane_shape: tuple[int, ...]) -> np.ndarray:
    """Which (slice, row, column) indices fall inside a slice of ``plane_shape``."""
    return (
        (idx[:, 1] >= 0)
        & (idx[:, 1] < plane_shape[0])
        & (idx[:, 2] >= 0)
        & (idx[:, 2] < plane_shape[1])
    )


def _line_fraction(
    vol: Volume, mask: np.ndarray, a: DiscLocation, b: DiscLocation, cls: int, shift_mm: float = 0.0
) -> float:
    """Share of the segment between the facing surfaces of discs a (below) and b that
    lies in class ``cls``, sampled in a's midsagittal slice, ``shift_mm`` behind (or, if
    negative, in front of) the line joining the centres."""
    start = a.centre + a.normal * a.thickness_mm / 2 + shift_mm * a.posterior
    end = b.centre - b.normal * b.thickness_mm / 2 + shift_mm * a.posterior
    t = np.linspace(0.15, 0.85, 25)
    pts = start[None] + t[:, None] * (end - start)[None]
    idx = np.rint(patient_to_index(vol, pts)).astype(int)
    idx[:, 0] = a.slice_index
    inside = _in_slice(idx, mask.shape[1:])
    if not inside.any():
        return 0.0
    vals = mask[idx[inside, 0], idx[inside, 1], idx[inside, 2]]
    return float(np.mean(vals == cls))


def _canal_behind(vol: Volume, mask: np.ndarray, d: DiscLocation) -> bool:
    """Canal class within 40 mm behind the disc centre, in its midsagittal slice."""
    t = np.arange(0.0, 40.0, 0.5)
    pts = d.centre[None] + t[:, None] * d.posterior[None]
    idx = np.rint(patient_to_index(vol, pts)).astype(int)
    ok = _in_slice(idx, mask.shape[1:])
    return bool((mask[d.slice_index, idx[ok, 1], idx[ok, 2]] == CANAL).any())


_BONE_UNDER_STEP_MM = 2.5
_BONE_UNDER_REACH_MM = 40.0  # across the column, either side of its centre line
_BONE_UNDER_LOST_MM = 8.0  # the column is lost when its bone lies further from the line


def _bone_pieces(mask: np.ndarray, slice_index: int) -> np.ndarray:
    """The body, disc and sacrum pixels of one slice, labelled by connected piece."""
    return ndimage.label(np.isin(mask[slice_index], (VERTEBRA, DISC, SACRUM)))[0]


def _bone_under(vol: Volume, pieces: np.ndarray, d: DiscLocation, length_mm: float) -> np.ndarray:
    """How deep (front to back, mm) the bone under disc ``d`` is, every 2.5 mm down from
    the disc's caudal surface, in its midsagittal slice (``pieces``: :func:`_bone_pieces`);
    shorter than ``length_mm`` / 2.5 where the bone ends or leaves the image.

    The bone is every body, disc and sacrum pixel joined to the bone right under the disc:
    whether the network calls a block L5 or sacrum is the question, so the classes are
    not trusted apart, and a piece apart from it (bowel read as body or disc, in front of
    the sacrum) is not the column. The line down follows the bone as it curves (the
    sacrum bends backwards): each depth is measured across the column's own axis, taken
    from its centres over the last 10 mm."""
    plane = vol.normal
    offsets = np.arange(-_BONE_UNDER_REACH_MM, _BONE_UNDER_REACH_MM + 0.25, 0.5)
    centre = d.centre - d.normal * d.thickness_mm / 2
    down, across = -d.normal, d.posterior
    centres = [centre]
    depths: list[float] = []
    for _ in range(int(length_mm / _BONE_UNDER_STEP_MM) + 1):
        pts = centre[None] + offsets[:, None] * across[None]
        idx = np.rint(patient_to_index(vol, pts)).astype(int)
        ok = _in_slice(idx, pieces.shape)
        found = np.zeros(len(offsets), int)
        found[ok] = pieces[idx[ok, 1], idx[ok, 2]]
        if not depths:  # the pieces the column starts in, right under the disc
            column = np.unique(found[(found > 0) & (np.abs(offsets) <= d.depth_mm / 2)])
        inside = np.isin(found, column)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(np.int8), [0]])))
        runs = edges.reshape(-1, 2)  # [first, last + 1) of each run of bone
        if not len(runs):
            break
        lo, hi = offsets[runs[:, 0]], offsets[runs[:, 1] - 1]
        apart = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
        k = int(np.argmin(apart))
        if apart[k] > _BONE_UNDER_LOST_MM:
            break
        depths.append(float(hi[k] - lo[k]) + 0.5)
        centre = centre + (lo[k] + hi[k]) / 2 * across
        centres.append(centre)
        if len(centres) >= 5:
            axis = centres[-1] - centres[-5]
            axis = axis - (axis @ plane) * plane
            if np.linalg.norm(axis) > 1e-6:
                down = axis / np.linalg.norm(axis)
                turned = np.cross(plane, down)
                across = turned if turned @ across > 0 else -turned
        centre = centre + down * _BONE_UNDER_STEP_MM
    return np.asarray(depths)


def _sacrum_taper(vol: Volume, mask: np.ndarray, d: DiscLocation, cfg: LocaliserConfig) -> float:
    """The bone's mean depth over ``cfg.sacrum_taper_window_mm`` under disc ``d`` (0 where
    it has ended), as a share of the depth of the vertebral body above the disc (its
    median 5-15 mm above; the disc's own depth where that body cannot be followed).

    The body above rather than the disc: a second reading that outlines a thin disc
    smaller (cross-validated vb2_17: 19 against 28 mm) would otherwise make the same
    sacrum look too deep."""
    first, last = cfg.sacrum_taper_window_mm
    depths = np.zeros(int(last / _BONE_UNDER_STEP_MM) + 1)
    pieces = _bone_pieces(mask, d.slice_index)  # one labelling for both directions
    seen = _bone_under(vol, pieces, d, last)
    depths[: len(seen)] = seen
    window = depths[round(first / _BONE_UNDER_STEP_MM) :]
    above = _bone_under(vol, pieces, replace(d, normal=-d.normal), 15.0)
    reference = float(np.median(above[2:])) if len(above) >= 5 else d.depth_mm
    return float(window.mean() / max(reference, 1.0))


_INNER_DISC_REACH_MM = 25.0  # the sacrum near a disc: within this of its centre


def _disc_inside_sacrum(
    sacrum: np.ndarray, discs: list[DiscLocation], anchor: DiscLocation, cfg: LocaliserConfig
) -> float | None:
    """How far under ``anchor`` a disc lies that is in line with it and has sacrum class
    on both its sides, or None where none does.

    A disc separates two vertebrae, so sacrum both above and below one means the bone
    above it is a vertebra of its own: L5 read as sacrum over its L5-S1 disc, only part
    of which was read as disc (cross-validated vb2_07: its back third, 32 mm under the
    disc taken for L5-S1). In the real volumes' readings the S1-S2 remnant discs the
    network outlines have sacrum above them only (every share 0.97 or more)."""
    lo, hi = cfg.inner_disc_window_mm
    side = cfg.min_sacrum_share_each_side
    for d in discs:
        rel = d.centre - anchor.centre
        under = -float(rel @ anchor.normal)
        in_line = (
            abs(float(rel @ anchor.lateral)) <= cfg.max_lateral_offset_mm
            and abs(float(rel @ anchor.posterior)) <= cfg.max_ap_offset_mm
        )
        if d is anchor or not lo <= under <= hi or not in_line:
            continue
        near = sacrum[np.linalg.norm(sacrum - d.centre, axis=1) < _INNER_DISC_REACH_MM]
        if not len(near):
            continue
        above = float(np.mean((near - d.centre) @ d.normal > 0))
        if side <= above <= 1.0 - side:
            return under
    return None


def _refuse(out: Localisation, reason: str) -> Localisation:
    out.reason = f"{REFUSAL_PREFIX}{reason}"
    out.not_assessed = {lv: reason for lv in LEVELS}
    return out


def localise(vol: Volume, mask: np.ndarray, cfg: LocaliserConfig | None = None) -> Localisation:
    """Find the discs and name L5-S1 upward from the sacrum, as far as the checks allow."""
    cfg = cfg or LocaliserConfig()
    if mask.shape != vol.pixels.shape:
        raise ValueError(f"mask {mask.shape} does not match volume {vol.pixels.shape}")
    discs = find_discs(vol, mask, cfg)
    out = Localisation(all_discs=discs)
    if not discs:
        return _refuse(out, "no intervertebral disc found in the sagittal series")
    sacrum, sacrum_mm3 = _sacrum(vol, mask, cfg)
    if sacrum is None:
        return _refuse(
            out,
            "the sacrum is not in the field of view (no sacrum found"
            + (
                f"; the largest sacrum-like region is {sacrum_mm3 / 1000:.1f} cm3)"
                if sacrum_mm3
                else ")"
            )
            + ", so the levels cannot be counted from it",
        )
    # L5-S1: the disc whose caudal surface lies on the sacrum
    contact = []
    for d in discs:
        gap = float(np.min(np.linalg.norm(sacrum - d.centre, axis=1))) - d.thickness_mm / 2
        above = float(np.median((sacrum - d.centre) @ d.normal)) < 0  # sacrum mostly below
        contact.append(gap if above else np.inf)
    k0 = int(np.argmin(contact))
    if not np.isfinite(contact[k0]) or contact[k0] > cfg.sacrum_contact_mm:
        return _refuse(
            out,
            f"no disc lies on the sacrum (the nearest is {contact[k0]:.0f} mm from it)"
            if np.isfinite(contact[k0])
            else "no disc lies above the sacrum",
        )
    l5s1 = discs[k0]
    out.anchor = l5s1
    below = (sacrum - l5s1.centre) @ l5s1.normal
    extent = float(-below.min() - l5s1.thickness_mm / 2) if len(below) else 0.0
    out.sacrum_extent_mm = extent
    if extent < cfg.sacrum_min_extent_mm:
        cut = " and is cut off by the field of view" if _touches_edge(vol, sacrum) else ""
        return _refuse(
            out,
            f"only {extent:.0f} mm of bone below the lowest disc is sacrum{cut}; "
            "too little to tell the sacrum from L5",
        )
    # a lumbar-looking body directly under the disc contradicts the sacrum; looked for
    # across the disc's depth, not only below its centre: an L5 body taken for the sacrum
    # (its L5-S1 disc missed) shows as body class in part of the bone under "L5-S1"
    probe = _probe_below(l5s1)
    band = max(
        _line_fraction(vol, mask, l5s1, probe, VERTEBRA, shift * l5s1.depth_mm)
        for shift in (-0.25, 0.0, 0.25)
    )
    if band > 0.5:
        out.sacrum_doubt = (
            "the bone directly below the lowest disc looks like a lumbar vertebral body, "
            "not the sacrum"
        )
        return _refuse(out, out.sacrum_doubt)
    inner_mm = _disc_inside_sacrum(sacrum, discs, l5s1, cfg)
    if inner_mm is not None:
        out.sacrum_doubt = (
            f"the bone taken for the sacrum lies both above and below a disc {inner_mm:.0f} mm "
            "under the one taken for L5-S1: the bone above that disc may be L5"
        )
        return _refuse(out, out.sacrum_doubt)
    taper = _sacrum_taper(vol, mask, l5s1, cfg)
    if taper > cfg.max_sacrum_taper_ratio:
        first, last = cfg.sacrum_taper_window_mm
        out.sacrum_doubt = (
            f"the bone {first:.0f}-{last:.0f} mm below the lowest disc is still "
            f"{taper:.0%} as deep as the vertebral body above that disc, where a sacrum has "
            "narrowed: it may be an L5 body over a disc the segmentation missed"
        )
        return _refuse(out, out.sacrum_doubt)
    chain = [l5s1]
    conf = [1.0]
    reasons: dict[int, str] = {}
    while len(chain) < len(LEVELS):
        cur = chain[-1]
        cands = []
        for d in discs:
            if any(d is c for c in chain):
                continue
            rel = d.centre - cur.centre
            along = float(rel @ cur.normal)
            # the next disc up the same column: not off to the side, nor far in front
            # or behind (a blob beside the spine must not be counted as a level)
            in_line = (
                abs(float(rel @ cur.lateral)) <= cfg.max_lateral_offset_mm
                and abs(float(rel @ cur.posterior)) <= cfg.max_ap_offset_mm
            )
            if along > 5.0 and in_line:
                cands.append((float(np.linalg.norm(rel)), along, d))
        if not cands:
            reasons[len(chain)] = (
                f"no disc found above {LEVELS[len(LEVELS) - len(chain)]} (outside the field of view or not segmented)"
            )
            break
        dist, along, nxt = min(cands, key=lambda c: c[0])
        lo, hi = cfg.disc_spacing_mm
        angle = float(np.degrees(np.arccos(np.clip(abs(float(cur.normal @ nxt.normal)), -1, 1))))
        body_h = along - (cur.thickness_mm + nxt.thickness_mm) / 2
        body = _line_fraction(vol, mask, cur, nxt, VERTEBRA)
        below_name = LEVELS[len(LEVELS) - len(chain)]
        if not lo <= dist <= hi:
            why = f"the next disc above {below_name} is {dist:.0f} mm away, outside {lo:.0f}-{hi:.0f} mm (a disc may be missed or split)"
        elif angle > cfg.max_step_angle_deg:
            why = f"the next disc above {below_name} is tilted {angle:.0f} degrees from it (more than {cfg.max_step_angle_deg:.0f})"
        elif not cfg.body_height_mm[0] <= body_h <= cfg.body_height_mm[1]:
            why = (
                f"the vertebral body above {below_name} would be {body_h:.0f} mm tall, outside "
                f"{cfg.body_height_mm[0]:.0f}-{cfg.body_height_mm[1]:.0f} mm"
            )
        elif body < cfg.min_body_fraction:
            why = f"no vertebral body found between {below_name} and the next disc above it"
        else:
            why = ""
        if why:
            reasons[len(chain)] = why
            break
        step = (
            _score(dist, lo, hi, 5.0)
            * float(np.clip((cfg.max_step_angle_deg - angle) / 10.0, 0.0, 1.0))
            * min(1.0, body / 0.8)
            * _score(body_h, *cfg.body_height_mm, 4.0)
        )
        if not _canal_behind(vol, mask, nxt):
            step *= 0.6  # the canal should run behind every lumbar disc
        c = conf[-1] * step
        if c < cfg.min_confidence:
            reasons[len(chain)] = f"the naming confidence fell to {c:.2f}"
            break
        chain.append(nxt)
        conf.append(c)
    if not _canal_behind(vol, mask, l5s1):
        conf = [c * 0.6 for c in conf]
    if len(chain) < 2:
        # One disc on a sacrum-like region is too little evidence: the L5 body above it,
        # between two discs, is what confirms that the bone below is the sacrum.
        return _refuse(
            out,
            "only one disc found above the sacrum, so L5 (and with it the sacrum) cannot be "
            "confirmed: " + reasons.get(1, "no second disc"),
        )
    named = list(reversed(LEVELS))  # L5-S1 first, upwards
    for d, name, c in zip(chain, named, conf, strict=False):
        if c < cfg.min_confidence:
            break
        d.level = name
        out.confidence[name] = round(float(c), 3)
    first_missing = len(out.confidence)
    for i in range(first_missing, len(LEVELS)):
        name = named[i]
        out.not_assessed[name] = (
            reasons.get(first_missing, "the naming confidence is too low")
            if i == first_missing
            else f"{named[first_missing]} could not be named"
        )
    out.discs = sorted((d for d in chain if d.level), key=lambda d: LEVELS.index(d.level))
    out.ok = bool(out.discs)
    if not out.ok:
        out.reason = "cannot assign levels: " + out.not_assessed[named[0]]
    return out


def naming_disagreement(
    main: Localisation, check: Localisation, tolerance_mm: float = NAMING_TOLERANCE_MM
) -> str:
    """Why a second reading of the same study (the network at another working scale)
    contradicts ``main``'s count from the sacrum, or "" when it does not. Only where each
    reading starts the count is compared: the disc it takes for L5-S1, and whether the
    bone under that disc is the sacrum. The levels above are each checked by ``main``'s
    own chain, so a check that starts from the same disc but stops the naming higher up
    (a missed disc above) agrees. A check that finds a lumbar-looking body under that
    disc does not: on a steep lumbosacral junction over a thin, dark L5-S1 disc, L5 can
    read as sacrum and every level one too high (cross-validated real volume vb2_16:
    both readings took the true L4-L5 for L5-S1; the check alone saw the body under it)."""
    if main.anchor is None:
        return ""  # main names nothing: refused already, with its own reason
    if check.anchor is None:
        why = (check.reason or "").removeprefix(REFUSAL_PREFIX)
        return f"a second reading finds no disc on the sacrum ({why})"
    apart = float(np.linalg.norm(main.anchor.centre - check.anchor.centre))
    if apart > tolerance_mm:
        return (
            f"a second reading takes a disc {apart:.0f} mm away for L5-S1, so the count "
            "from the sacrum is uncertain"
        )
    if check.sacrum_doubt:
        return (
            f"in a second reading {check.sacrum_doubt}, so the count from the sacrum is uncertain"
        )
    return ""


def _probe_below(d: DiscLocation) -> DiscLocation:
    """A pseudo-disc 25 mm below ``d``: the segment to it crosses the bone under d."""
    return replace(d, centre=d.centre - d.normal * (25.0 + d.thickness_mm), thickness_mm=0.0)
