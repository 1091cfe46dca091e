"""A routine clinical sagittal series simulated from a thin-slice volume.

The real volumes the project holds are 1 mm isotropic, 67-77 sagittal slices. A
routine lumbar sagittal T2 is acquired as 12-20 slices of 3-4 mm, usually with a gap
of about a tenth of the thickness, and 0.5-0.9 mm pixels. :func:`acquire` turns a
thin-slice volume into such a series, so that the pipeline can be scored on the
geometry it will mostly meet, against the thin volume's masks:

* each thick slice is the mean of the thin slices it covers, each weighted by how much
  of it lies inside the slab (a box slice profile: partial volume across the slab);
* slices are centred on the volume's middle and spaced thickness + gap apart;
* in plane, the field of view is kept and the pixels resampled bilinearly (smoothed
  first when they get coarser, so that nothing aliases);
* labels (:func:`acquire_labels`) take the thin slice nearest each slab's centre and
  the nearest pixel in plane: the class at the slab's middle, not a blend.

Patient coordinates do not change, so disc centres measured on the thin volume stay
the truth for the thick one. No Django imports here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from inference.ml.real_data import RealVolume
from inference.ml.volume import Volume


@dataclass(frozen=True)
class Acquisition:
    """The series geometry to simulate; ``pixel_spacing_mm`` None keeps the pixels."""

    slice_thickness_mm: float
    slice_gap_mm: float = 0.0
    pixel_spacing_mm: float | None = None

    def __post_init__(self) -> None:
        if self.slice_thickness_mm <= 0:
            raise ValueError("the slice thickness must be positive")
        if self.slice_gap_mm < 0:
            raise ValueError("the slice gap cannot be negative")
        if self.pixel_spacing_mm is not None and self.pixel_spacing_mm <= 0:
            raise ValueError("the pixel spacing must be positive")

    @property
    def step_mm(self) -> float:
        return self.slice_thickness_mm + self.slice_gap_mm

    def describe(self) -> str:
        pixels = f"{self.pixel_spacing_mm:g} mm pixels" if self.pixel_spacing_mm else "pixels kept"
        return f"{self.slice_thickness_mm:g} mm slices, {self.slice_gap_mm:g} mm gap, {pixels}"


@dataclass(frozen=True)
class _Plan:
    """Where the thick slices lie (mm along the normal from thin slice 0's centre) and
    the thin slices' weights in each: (thick, thin)."""

    centres_mm: np.ndarray
    weights: np.ndarray


def _plan(vol: Volume, acq: Acquisition) -> _Plan:
    thin = vol.slice_distance_mm()
    n_thin = vol.pixels.shape[0]
    extent = n_thin * thin  # from the first thin slab's outer face to the last's
    n = int(np.floor((extent - acq.slice_thickness_mm) / acq.step_mm)) + 1
    if n < 1:
        raise ValueError(
            f"a {acq.slice_thickness_mm:g} mm slice does not fit in {extent:.0f} mm of slices"
        )
    first = (extent - (n - 1) * acq.step_mm) / 2 - thin / 2
    centres = first + acq.step_mm * np.arange(n)
    lo_thin = np.arange(n_thin) * thin - thin / 2
    half = acq.slice_thickness_mm / 2
    overlap = np.clip(
        np.minimum(centres[:, None] + half, lo_thin[None, :] + thin)
        - np.maximum(centres[:, None] - half, lo_thin[None, :]),
        0.0,
        None,
    )
    return _Plan(centres_mm=centres, weights=overlap / overlap.sum(axis=1, keepdims=True))


def _in_plane(vol: Volume, acq: Acquisition) -> tuple[tuple[int, int], tuple[float, float]]:
    """The new (rows, cols) and pixel spacing: the same field of view."""
    if acq.pixel_spacing_mm is None:
        return vol.pixels.shape[1:], vol.pixel_spacing
    shape = tuple(
        max(1, round(n * s / acq.pixel_spacing_mm))
        for n, s in zip(vol.pixels.shape[1:], vol.pixel_spacing, strict=True)
    )
    return (int(shape[0]), int(shape[1])), (acq.pixel_spacing_mm, acq.pixel_spacing_mm)


def _source_coords(vol: Volume, shape: tuple[int, int], spacing: tuple[float, float]) -> np.ndarray:
    """Old fractional (row, col) of each new pixel centre, as a (2, rows, cols) grid."""
    axes = [
        (np.arange(n) + 0.5) * new / old - 0.5
        for n, new, old in zip(shape, spacing, vol.pixel_spacing, strict=True)
    ]
    return np.stack(np.meshgrid(*axes, indexing="ij"))


def _geometry(vol: Volume, plan: _Plan, spacing: tuple[float, float]) -> dict:
    unit = vol.slice_step() / vol.slice_distance_mm()
    # the first pixel's centre moves when the pixels change size; the field of view's
    # outer edge stays where it was
    shift = (spacing[0] - vol.pixel_spacing[0]) / 2 * vol.col_dir + (
        spacing[1] - vol.pixel_spacing[1]
    ) / 2 * vol.row_dir
    positions = vol.positions[0] + shift + plan.centres_mm[:, None] * unit[None, :]
    step = float(plan.centres_mm[1] - plan.centres_mm[0]) if len(plan.centres_mm) > 1 else 0.0
    return {
        "positions": positions,
        "pixel_spacing": spacing,
        "slice_spacing": step or vol.slice_spacing,
        "instance_numbers": list(range(1, len(positions) + 1)),
    }


def acquire(vol: Volume, acq: Acquisition) -> Volume:
    """``vol`` as a series of ``acq``'s geometry (module docstring)."""
    plan = _plan(vol, acq)
    shape, spacing = _in_plane(vol, acq)
    thick = np.tensordot(plan.weights, vol.pixels.astype(np.float64), axes=(1, 0))
    # how many times coarser the new pixels are, per axis (1: as fine or finer)
    factors = [max(1.0, new / old) for new, old in zip(spacing, vol.pixel_spacing, strict=True)]
    coords = _source_coords(vol, shape, spacing)
    out = np.empty((len(thick), *shape), np.float32)
    for k, image in enumerate(thick):
        if max(factors) > 1.0:
            # the usual anti-aliasing blur, in old pixels: sqrt(f^2 - 1) / 2
            image = gaussian_filter(image, [0.5 * np.sqrt(f * f - 1.0) for f in factors])
        out[k] = map_coordinates(image, coords, order=1, mode="nearest")
    return replace(vol, pixels=out, **_geometry(vol, plan, spacing))


def acquire_labels(labels: np.ndarray, vol: Volume, acq: Acquisition) -> np.ndarray:
    """``labels`` (on ``vol``'s grid) on the grid :func:`acquire` gives: the thin slice
    nearest each slab's centre, the nearest pixel in plane."""
    plan = _plan(vol, acq)
    shape, spacing = _in_plane(vol, acq)
    thin = vol.slice_distance_mm()
    nearest = np.clip(np.rint(plan.centres_mm / thin).astype(int), 0, labels.shape[0] - 1)
    coords = _source_coords(vol, shape, spacing)
    return np.stack(
        [
            map_coordinates(labels[s], coords, order=0, mode="nearest").astype(labels.dtype)
            for s in nearest
        ]
    )


def acquire_real(real: RealVolume, acq: Acquisition) -> RealVolume:
    """A real volume and its mask as a series of ``acq``'s geometry. The truth in patient
    millimetres (disc and structure centres, the L5 body) is the thin volume's; the
    sacrum core, a training label on the thin grid, is not carried over."""
    return replace(
        real,
        volume=acquire(real.volume, acq),
        mask=acquire_labels(real.mask, real.volume, acq),
        sacrum_core=None,
    )
