"""Canal anterior-posterior (AP) diameter at each disc, in mm.

Definition (matches the synthetic truth): in the disc's midsagittal slice, probe
from the disc centre along the disc's mid-plane in the posterior direction
(perpendicular to the canal axis at that level) and take the length of the first
contiguous run of canal (dural sac). The canal map is sampled bilinearly and
thresholded at 0.5, so with softmax probabilities (or a lightly smoothed binary
mask) the two walls are placed to a fraction of a pixel, not to whole pixels.

On real T2 images the sac holds the conus and the roots of the cauda equina, dark
against the CSF, and the network leaves them out of the canal class: the probe then
leaves the canal inside the sac and meets it again behind them. Given the whole
series' canal map, a gap is taken for the sac's contents, and measured across, when
it is at most ``SAC_CONTENTS_MM`` long, the canal behind it is one piece with the
canal in front of it in the disc's slice (the CSF joins around the end of the conus
and between the roots), and canal lies beside every point of it on the slices to both
sides (CSF surrounds the roots). A wall behind the sac (the dura, the ligamentum
flavum) runs on sideways, with no canal beside it, and a separate bright spot behind
the sac (fluid in a facet joint) is not one piece with it: both still end the run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter, label, map_coordinates

from inference.ml.classes import CANAL
from inference.ml.localisation import DiscLocation
from inference.ml.volume import Volume, patient_to_index

PROBE_MM = 45.0
STEP_MM = 0.02
# Following the canal along the spine (canal_followed_mm): 1 mm steps, looking up to
# 12 mm either side of the track, bridging at most 2 mm between the track and the canal.
FOLLOW_STEP_MM = 1.0
FOLLOW_HALF_WIDTH_MM = 12.0
FOLLOW_GAP_MM = 2.0
FOLLOW_REACH_MM = 20.0
# Bridging the sac's contents (module docstring): the longest gap taken for them (the
# conus is 8-10 mm deep), and how far to each side canal must lie beside every point of it.
SAC_CONTENTS_MM = 12.0
SAC_SIDE_MM = 10.0
# A midline AP diameter that differs by more than STEADY_AP_MM between the disc's slice
# and a slice beside it at most STEADY_NEIGHBOUR_MM away measures where the outline
# happens to part, not the sac (ap_unsteady). 1 mm to the side the midline sac is the
# same width; at the conus the canal class can split in one slice and not the next.
STEADY_NEIGHBOUR_MM = 1.5
STEADY_AP_MM = 3.0


def canal_map_from_mask(mask_slice: np.ndarray, sigma_px: float = 0.0) -> np.ndarray:
    """Binary canal mask of one slice -> float map; optional smoothing lets oblique
    edges dither across neighbouring pixels (sub-pixel information)."""
    m = (mask_slice == CANAL).astype(np.float32)
    return gaussian_filter(m, sigma_px) if sigma_px > 0 else m


class _Run(NamedTuple):
    t: np.ndarray  # the probe's distances from the disc centre (mm)
    vals: np.ndarray  # the canal map along it
    first: int  # first and last sample of the sac's run
    last: int
    # a gap after the run that looks like the sac's contents from the side but whose far
    # canal is a separate piece in the disc's slice: the posterior wall is uncertain
    unsure_behind_mm: float | None = None


def _canal_run(
    vol: Volume,
    canal_map: np.ndarray,
    disc: DiscLocation,
    series_canal: np.ndarray | None = None,
) -> _Run | None:
    """The probe behind the disc and its first canal run (``None``: no canal behind the
    disc). With ``series_canal`` (the canal map of every slice, ``canal_map`` being the
    disc's), the run goes on across gaps that are the sac's contents (module docstring)."""
    t = np.arange(0.0, PROBE_MM, STEP_MM)
    pts = disc.centre[None, :] + t[:, None] * disc.posterior[None, :]
    idx = patient_to_index(vol, pts)
    # project onto the slice itself: the centre's lateral offset is not a canal offset
    vals = map_coordinates(canal_map, idx[:, 1:].T, order=1, mode="constant", cval=0.0)
    inside = np.flatnonzero(vals >= 0.5)
    if inside.size == 0:
        return None
    runs = np.split(inside, np.flatnonzero(np.diff(inside) > 1) + 1)
    last = int(runs[0][-1])
    if series_canal is None or len(runs) == 1:
        return _Run(t, vals, int(inside[0]), last)
    pieces, _ = label(canal_map >= 0.5)

    def piece(run: np.ndarray) -> int:
        """The piece most of the run's samples fall in (0: none); nearest pixels, so a
        run a sample or two long at the outline's edge can land on either side of it."""
        rc = np.rint(idx[run, 1:]).astype(int)
        on_slice = (rc >= 0).all(axis=1) & (rc < np.array(canal_map.shape)).all(axis=1)
        found = pieces[rc[on_slice, 0], rc[on_slice, 1]]
        found = found[found > 0]
        return int(np.bincount(found).argmax()) if found.size else 0

    sac = piece(runs[0])
    for nxt in runs[1:]:
        gap = np.arange(last + 1, int(nxt[0]))
        if (t[nxt[0]] - t[last]) > SAC_CONTENTS_MM or not _beside_on_both_sides(
            vol, series_canal, disc.slice_index, idx[gap, 1:]
        ):
            break
        if sac == 0 or piece(nxt) != sac:
            return _Run(t, vals, int(inside[0]), last, float(t[nxt[0]] - t[last]))
        last = int(nxt[-1])
    return _Run(t, vals, int(inside[0]), last)


def _beside_on_both_sides(
    vol: Volume, series_canal: np.ndarray, slice_index: int, points: np.ndarray
) -> bool:
    """Whether every (row, col) point of the disc's slice has canal within
    ``SAC_SIDE_MM`` of it on the slices to either side."""
    reach = max(1, round(SAC_SIDE_MM / max(vol.slice_spacing, 1e-6)))
    for direction in (-1, 1):
        near = [
            slice_index + direction * k
            for k in range(1, reach + 1)
            if 0 <= slice_index + direction * k < series_canal.shape[0]
        ]
        if not near:
            return False
        seen = np.zeros(len(points), bool)
        for s in near:
            seen |= (
                map_coordinates(series_canal[s], points.T, order=1, mode="constant", cval=0.0)
                >= 0.5
            )
        if not seen.all():
            return False
    return True


def ap_diameter(
    vol: Volume,
    canal_map: np.ndarray,
    disc: DiscLocation,
    series_canal: np.ndarray | None = None,
) -> float:
    """AP diameter (mm) for one disc; ``canal_map`` is the (rows, cols) canal
    probability of the disc's slice; with ``series_canal``, that of every slice, the
    sac's contents are measured across (module docstring). 0.0 when no canal lies
    behind the disc."""
    run = _canal_run(vol, canal_map, disc, series_canal)
    if run is None:
        return 0.0
    t, vals, first, last, _ = run

    def crossing(i_out: int, i_in: int) -> float:
        # linear interpolation of the 0.5 crossing between two samples
        if i_out < 0 or i_out >= len(vals):
            return float(t[i_in])
        v0, v1 = vals[i_out], vals[i_in]
        f = (0.5 - v0) / (v1 - v0) if v1 != v0 else 0.0
        return float(t[i_out] + f * (t[i_in] - t[i_out]))

    return crossing(last + 1, last) - crossing(first - 1, first)


def posterior_wall_unsure(
    vol: Volume, canal_map: np.ndarray, disc: DiscLocation, series_canal: np.ndarray
) -> str:
    """Why the sac's posterior wall behind the disc is uncertain, or "": canal lies again
    a short way behind the measured run, with canal beside the gap on both sides as
    around the sac's contents, but it is a separate piece in the disc's slice, so it may
    be the back of the sac or something behind it."""
    run = _canal_run(vol, canal_map, disc, series_canal)
    if run is None or run.unsure_behind_mm is None:
        return ""
    return (
        f"canal is found again {run.unsure_behind_mm:.0f} mm behind the measured sac, "
        "not joined to it, so its posterior wall is uncertain"
    )


def ap_unsteady(vol: Volume, series_canal: np.ndarray, disc: DiscLocation) -> str:
    """Why the disc's midline AP diameter is not steady across the slices beside the
    disc's (within ``STEADY_NEIGHBOUR_MM``; none in a series of thicker slices), or ""."""
    distance = vol.slice_distance_mm()
    if distance > STEADY_NEIGHBOUR_MM:
        return ""
    readings = [
        ap_diameter(vol, series_canal[s], replace(disc, slice_index=s), series_canal)
        for s in (disc.slice_index - 1, disc.slice_index, disc.slice_index + 1)
        if 0 <= s < series_canal.shape[0]
    ]
    if max(readings) - min(readings) <= STEADY_AP_MM:
        return ""
    return (
        f"the midline AP diameter reads {min(readings):.1f} to {max(readings):.1f} mm in the "
        f"slices {distance:.1f} mm either side of the disc's, so the canal outline is not steady"
    )


def canal_followed_mm(
    vol: Volume,
    canal_map: np.ndarray,
    disc: DiscLocation,
    *,
    caudal: bool,
    reach_mm: float = FOLLOW_REACH_MM,
) -> float:
    """How far (mm, up to ``reach_mm``) the canal measured behind the disc can be
    followed head- or footward in the disc's slice, from the middle of the measured run.

    Each 1 mm step looks for canal on a line parallel to the probe and moves to the
    middle of the run it finds, so the track bends with lordosis and the sacral curve;
    it stops where no canal lies within ``FOLLOW_GAP_MM`` of the track. The dural sac
    runs on past every lumbar disc (it ends at S1-S2), so an outline that stops just
    above or below a disc is not a canal that the AP diameter could be measured on."""
    run = _canal_run(vol, canal_map, disc)
    if run is None:
        return 0.0
    t, _, first, last, _ = run
    point = disc.centre + 0.5 * (t[first] + t[last]) * disc.posterior
    step = (-1.0 if caudal else 1.0) * FOLLOW_STEP_MM * disc.normal
    across = np.arange(-FOLLOW_HALF_WIDTH_MM, FOLLOW_HALF_WIDTH_MM + 1e-9, 0.25)
    followed = 0.0
    while followed < reach_mm:
        nxt = point + step
        line = nxt[None, :] + across[:, None] * disc.posterior[None, :]
        idx = patient_to_index(vol, line)
        inside = np.flatnonzero(
            map_coordinates(canal_map, idx[:, 1:].T, order=1, mode="constant", cval=0.0) >= 0.5
        )
        if inside.size == 0:
            break
        runs = [
            (float(across[r[0]]), float(across[r[-1]]))
            for r in np.split(inside, np.flatnonzero(np.diff(inside) > 1) + 1)
        ]
        lo, hi = min(runs, key=_gap_from_track)
        if _gap_from_track((lo, hi)) > FOLLOW_GAP_MM:
            break
        point = nxt + 0.5 * (lo + hi) * disc.posterior
        followed += FOLLOW_STEP_MM
    return min(followed, reach_mm)


def _gap_from_track(run: tuple[float, float]) -> float:
    """mm from the track (offset 0) to a canal run given by its two ends; 0 inside it."""
    lo, hi = run
    return 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))
