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


def canal_map_from_mask(mask_slice: np.ndarray, sigma_px: float = 0.0) -> np.ndarray:
    """Binary canal mask of one slice -> float map; optional smoothing lets oblique
    edges dither across neighbouring pixels (sub-pixel information)."""
    m = (mask_slice == CANAL).astype(np.float32)
    return gaussian_filter(m, sigma_px) if sigma_px > 0 else m


def ap_diameter(
    vol: Volume,
    canal_map: np.ndarray,
    disc: DiscLocation,
) -> float:
    """AP diameter (mm) for one disc; ``canal_map`` is the (rows, cols) canal
    probability of the disc's slice. 0.0 when no canal lies behind the disc."""
    t = np.arange(0.0, PROBE_MM, STEP_MM)
    pts = disc.centre[None, :] + t[:, None] * disc.posterior[None, :]
    idx = patient_to_index(vol, pts)
    # project onto the slice itself: the centre's lateral offset is not a canal offset
    vals = map_coordinates(canal_map, idx[:, 1:].T, order=1, mode="constant", cval=0.0)
    inside = np.flatnonzero(vals >= 0.5)
    if inside.size == 0:
        return 0.0
    breaks = np.flatnonzero(np.diff(inside) > 1)
    last = inside[breaks[0]] if breaks.size else inside[-1]
    first = inside[0]

    def crossing(i_out: int, i_in: int) -> float:
        # linear interpolation of the 0.5 crossing between two samples
        if i_out < 0 or i_out >= len(vals):
            return float(t[i_in])
        v0, v1 = vals[i_out], vals[i_in]
        f = (0.5 - v0) / (v1 - v0) if v1 != v0 else 0.0
        return float(t[i_out] + f * (t[i_in] - t[i_out]))

    return crossing(last + 1, last) - crossing(first - 1, first)
