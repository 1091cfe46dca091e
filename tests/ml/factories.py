"""Phantom data for the imaging tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.ml.localisation import DiscLocation
from inference.ml.volume import Volume, index_to_patient


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


def restored(vol: Volume, *, transpose: bool = False, front_right: bool = False) -> Volume:
    """The same voxels as ``vol`` (a series stored head up, front left), stored another
    way round: rows and columns swapped (a rotated matrix) and/or columns running back
    to front. Every voxel keeps its patient position."""
    from dataclasses import replace

    out = vol
    if front_right:
        last = out.pixels.shape[2] - 1
        out = replace(
            out,
            pixels=np.ascontiguousarray(out.pixels[:, :, ::-1]),
            positions=index_to_patient(out, [[s, 0, last] for s in range(out.pixels.shape[0])]),
            orientation=np.concatenate([-out.row_dir, out.col_dir]),
        )
    if transpose:
        out = replace(
            out,
            pixels=np.ascontiguousarray(out.pixels.transpose(0, 2, 1)),
            orientation=np.concatenate([out.col_dir, out.row_dir]),
            pixel_spacing=(out.pixel_spacing[1], out.pixel_spacing[0]),
        )
    return out
