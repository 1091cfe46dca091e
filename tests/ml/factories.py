"""Phantom data for the imaging tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.ml.localisation import DiscLocation


def upright_disc(
    *,
    centre: Sequence[float],
    slice_index: int,
    level: str = "L4-L5",
    thickness_mm: float = 10.0,
    depth_mm: float = 35.0,
    volume_mm3: float = 1e4,
) -> DiscLocation:
    """A disc lying square to LPS: posterior +y, cranial +z, left +x."""
    return DiscLocation(
        level=level,
        centre=np.asarray(centre, dtype=float),
        posterior=np.array([0.0, 1.0, 0.0]),
        normal=np.array([0.0, 0.0, 1.0]),
        lateral=np.array([1.0, 0.0, 0.0]),
        slice_index=slice_index,
        thickness_mm=thickness_mm,
        depth_mm=depth_mm,
        volume_mm3=volume_mm3,
    )
