"""Canal anterior-posterior (AP) diameter at each disc, in mm.

Definition (matches the synthetic truth): in the disc's midsagittal slice, probe
from the disc centre along the disc's mid-plane in the posterior direction
(perpendicular to the canal axis at that level) and take the length of the first
contiguous run of canal (dural sac). The canal map is sampled bilinearly and
thresholded at 0.5, so with softmax probabilities (or a lightly smoothed binary
mask) the two walls are placed to a fraction of a pixel, not to whole pixels.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

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


def canal_map_from_mask(mask_slice: np.ndarray, sigma_px: float = 0.0) -> np.ndarray:
    """Binary canal mask of one slice -> float map; optional smoothing lets oblique
    edges dither across neighbouring pixels (sub-pixel information)."""
    m = (mask_slice == CANAL).astype(np.float32)
    return gaussian_filter(m, sigma_px) if sigma_px > 0 else m


def _canal_run(
    vol: Volume, canal_map: np.ndarray, disc: DiscLocation
) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """The probe behind the disc: its distances, the canal map along it, and the first
    and last sample of the first canal run (``None``: no canal behind the disc)."""
    t = np.arange(0.0, PROBE_MM, STEP_MM)
    pts = disc.centre[None, :] + t[:, None] * disc.posterior[None, :]
    idx = patient_to_index(vol, pts)
    # project onto the slice itself: the centre's lateral offset is not a canal offset
    vals = map_coordinates(canal_map, idx[:, 1:].T, order=1, mode="constant", cval=0.0)
    inside = np.flatnonzero(vals >= 0.5)
    if inside.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(inside) > 1)
    last = inside[breaks[0]] if breaks.size else inside[-1]
    return t, vals, int(inside[0]), int(last)


def ap_diameter(
    vol: Volume,
    canal_map: np.ndarray,
    disc: DiscLocation,
) -> float:
    """AP diameter (mm) for one disc; ``canal_map`` is the (rows, cols) canal
    probability of the disc's slice. 0.0 when no canal lies behind the disc."""
    run = _canal_run(vol, canal_map, disc)
    if run is None:
        return 0.0
    t, vals, first, last = run

    def crossing(i_out: int, i_in: int) -> float:
        # linear interpolation of the 0.5 crossing between two samples
        if i_out < 0 or i_out >= len(vals):
            return float(t[i_in])
        v0, v1 = vals[i_out], vals[i_in]
        f = (0.5 - v0) / (v1 - v0) if v1 != v0 else 0.0
        return float(t[i_out] + f * (t[i_in] - t[i_out]))

    return crossing(last + 1, last) - crossing(first - 1, first)


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
    t, _, first, last = run
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
