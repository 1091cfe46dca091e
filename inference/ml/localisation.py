"""Disc localisation and level assignment from a sagittal class-mask volume.

Each disc is one 3D connected component of the disc class. Its lateral position is
the component's 3D centroid; its in-plane centre and orientation come from a PCA of
the component's pixels in the slice nearest that centroid (the disc's midsagittal
slice): the major axis is the disc's anterior-posterior direction in its mid-plane,
the minor axis the disc normal. 2D rather than 3D PCA because sagittal slices are
3-4 mm apart: the lateral axis is sampled far more coarsely than the other two.

Level names are assigned from the bottom, anchored at the sacrum, never counted
from the top (the top of a lumbar field of view varies: T11, T12 or L1).

Sacrum criterion (documented, deliberately conservative): look at the vertebral
body directly below the lowest disc, in that disc's midsagittal slice, inside the
disc's AP band. It is accepted as the sacrum only if its visible craniocaudal
extent is at least ``sacrum_min_ratio`` x the median height of the lumbar bodies
between the discs above (sacrum ~55-70 mm vs lumbar bodies ~23-31 mm; even with
only S1-S2 in the field it is taller than a lumbar body), or at least
``sacrum_min_extent_mm``. A body that is cut off by the field of view at lumbar
height, or no body at all, gives a reason instead of a guess: calling L4-L5
"L5-S1" would shift every level of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from inference.ml.volume import Volume, index_to_patient
from labeling.schema import LEVELS

DISC, VERTEBRA, CANAL = 2, 1, 3


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


@dataclass
class Localisation:
    discs: list[DiscLocation] = field(default_factory=list)  # assigned levels, LEVELS order
    all_discs: list[DiscLocation] = field(default_factory=list)  # every disc found, bottom up
    ok: bool = False
    reason: str | None = None
    sacrum_extent_mm: float = float("nan")

    def by_level(self) -> dict[str, DiscLocation]:
        return {d.level: d for d in self.discs if d.level is not None}


@dataclass
class LocaliserConfig:
    min_disc_mm3: float = 400.0  # smaller disc-class blobs are noise
    sacrum_min_ratio: float = 1.4
    sacrum_min_extent_mm: float = 40.0


def _plane_mm(vol: Volume, rows: np.ndarray, cols: np.ndarray, s: float) -> np.ndarray:
    idx = np.stack([np.full(len(rows), s, float), rows, cols], axis=1)
    return index_to_patient(vol, idx)


def _disc_from_component(vol: Volume, comp: np.ndarray, mask: np.ndarray) -> DiscLocation | None:
    vox = np.argwhere(comp)
    vol_mm3 = len(vox) * vol.pixel_spacing[0] * vol.pixel_spacing[1] * abs(
        float(np.linalg.norm(vol.slice_step())))
    s_c = float(vox[:, 0].mean())
    s_i = int(np.clip(round(s_c), 0, comp.shape[0] - 1))
    rc = np.argwhere(comp[s_i])
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
        level=None, centre=centre, posterior=major, normal=minor, lateral=lateral,
        slice_index=s_i, thickness_mm=float(np.sqrt(12 * max(w[1], 0))),
        depth_mm=float(np.sqrt(12 * max(w[2], 0))), volume_mm3=vol_mm3,
    )


def find_discs(vol: Volume, mask: np.ndarray, cfg: LocaliserConfig | None = None
               ) -> list[DiscLocation]:
    """Every disc component, ordered bottom (caudal) to top."""
    cfg = cfg or LocaliserConfig()
    labels, n = ndimage.label(mask == DISC)
    if n == 0:
        return []
    voxel_mm3 = vol.pixel_spacing[0] * vol.pixel_spacing[1] * float(np.linalg.norm(vol.slice_step()))
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    keep = [i + 1 for i, sz in enumerate(sizes)
            if sz * voxel_mm3 >= max(cfg.min_disc_mm3, 0.1 * sizes.max() * voxel_mm3)]
    discs = []
    for lab in keep:
        d = _disc_from_component(vol, labels == lab, mask)
        if d is not None:
            discs.append(d)
    discs.sort(key=lambda d: float(d.centre[2]))  # LPS z: caudal first
    return discs


def _body_below(vol: Volume, mask: np.ndarray, disc: DiscLocation) -> tuple[float, bool]:
    """Visible craniocaudal extent (mm, from the disc centre down) of the vertebral
    body below ``disc`` and whether that body touches the image edge."""
    s = disc.slice_index
    vert, n = ndimage.label(mask[s] == VERTEBRA, structure=np.ones((3, 3)))
    if n == 0:
        return 0.0, False
    rc = np.argwhere(vert > 0)
    pts = _plane_mm(vol, rc[:, 0].astype(float), rc[:, 1].astype(float), float(s))
    rel = pts - disc.centre
    ap = rel @ disc.posterior
    cc = rel @ disc.normal  # + cranial
    band = np.abs(ap) < 0.3 * disc.depth_mm
    just_below = band & (cc < 0) & (cc > -(disc.thickness_mm / 2 + 8.0))
    if not just_below.any():
        return 0.0, False
    lab = np.bincount(vert[rc[just_below, 0], rc[just_below, 1]]).argmax()
    mine = (vert[rc[:, 0], rc[:, 1]] == lab) & band & (cc < 0)
    extent = float(-cc[mine].min() - disc.thickness_mm / 2)
    comp_rc = rc[vert[rc[:, 0], rc[:, 1]] == lab]
    touches = bool((comp_rc[:, 0] == 0).any() or (comp_rc[:, 0] == mask.shape[1] - 1).any()
                   or (comp_rc[:, 1] == 0).any() or (comp_rc[:, 1] == mask.shape[2] - 1).any())
    return extent, touches


def localise(vol: Volume, mask: np.ndarray, cfg: LocaliserConfig | None = None) -> Localisation:
    """Find the discs and name L1-L2 .. L5-S1 upward from the sacrum, or say why not."""
    cfg = cfg or LocaliserConfig()
    if mask.shape != vol.pixels.shape:
        raise ValueError(f"mask {mask.shape} does not match volume {vol.pixels.shape}")
    discs = find_discs(vol, mask, cfg)
    out = Localisation(all_discs=discs)
    if not discs:
        out.reason = "no intervertebral disc found in the sagittal series"
        return out
    gaps = [float(np.dot(b.centre - a.centre, a.normal)) - (a.thickness_mm + b.thickness_mm) / 2
            for a, b in zip(discs[:-1], discs[1:], strict=False)]
    lumbar_h = float(np.median(gaps)) if gaps else 27.0
    extent, touches = _body_below(vol, mask, discs[0])
    out.sacrum_extent_mm = extent
    if extent <= 0:
        out.reason = ("cannot assign levels: no vertebral body below the lowest disc, so the "
                      "sacrum is not in the field of view")
        return out
    if extent < min(cfg.sacrum_min_ratio * lumbar_h, cfg.sacrum_min_extent_mm):
        cut = " and is cut off by the field of view" if touches else ""
        out.reason = (f"cannot assign levels: the body below the lowest disc is {extent:.0f} mm "
                      f"tall{cut}, like a lumbar body ({lumbar_h:.0f} mm); the sacrum is not "
                      "identified")
        return out
    if len(discs) < len(LEVELS):
        out.reason = (f"cannot assign levels: only {len(discs)} discs above the sacrum, "
                      f"{len(LEVELS)} needed (L1-L2 is outside the field of view)")
        return out
    named = list(reversed(LEVELS))  # L5-S1 first, upwards
    for d, name in zip(discs, named, strict=False):
        d.level = name
    out.discs = sorted((d for d in discs if d.level), key=lambda d: LEVELS.index(d.level))
    out.ok = True
    return out
