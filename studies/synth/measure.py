"""The canal truth measured on the drawn label field, and the measured anatomy sample.

Above both :mod:`studies.synth.anatomy` (the geometry) and :mod:`studies.synth.render`
(its tissue labels): the AP diameter a level's truth records is the one its drawn
masks show, so it is measured after drawing, with the renderer's label field.
"""

from __future__ import annotations

import numpy as np

from studies.synth.anatomy import AP_RANGES_MM, DISC_NAMES, Anatomy, draw_anatomy
from studies.synth.render import MASK_CANAL, mask_from_tissue, tissue_at


def measure_ap_diameter(anat: Anatomy, level: str, step: float = 0.005) -> float:
    """Canal AP diameter (mm) at a disc centre, measured on the drawn label field.

    The probe runs along the disc's mid-plane (+q) in the midline, through the disc
    centre, and returns the length of the dural-sac run that starts behind the disc.
    """
    k = DISC_NAMES.index(level)
    sk = float(anat.disc_s[k])
    qs = np.arange(0.0, 45.0, step)
    pts = anat.to_patient(np.full_like(qs, sk), qs, np.zeros_like(qs))
    inside = mask_from_tissue(tissue_at(anat, pts)) == MASK_CANAL
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return 0.0
    # first contiguous run only (the sac), not anything further back
    breaks = np.flatnonzero(np.diff(idx) > 1)
    last = idx[breaks[0]] if breaks.size else idx[-1]
    return float((last - idx[0] + 1) * step)


def sample_anatomy(rng: np.random.Generator, age: int) -> Anatomy:
    """Draw one spine (:func:`studies.synth.anatomy.draw_anatomy`) and record each
    level's drawn canal AP diameter, which must fall in its grade's range."""
    anat = draw_anatomy(rng, age)
    for t in anat.levels:
        ap = measure_ap_diameter(anat, t.level)
        lo, hi = AP_RANGES_MM[t.canal_stenosis]
        if not lo <= ap <= hi:
            raise AssertionError(f"{t.level}: drawn AP {ap:.2f} mm outside {t.canal_stenosis}")
        t.ap_diameter_mm = round(ap, 2)
    return anat
