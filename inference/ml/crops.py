"""Fixed-size, disc-aligned crops for the classifiers.

Every crop is resampled (trilinear, in patient mm) onto a square grid of
``size_px`` x ``spacing_mm`` (48 mm at 1 mm/px by default: CPU-sized), rotated so
columns run along the disc's posterior direction (sagittal) or patient left
(axial) and rows run caudally, so a disc looks the same whatever the lordosis,
pixel spacing or field of view. Intensities are scaled per series (robust
percentiles of the whole series, :mod:`inference.ml.intensity`), so a crop keeps its
contrast relative to the rest of the study (bright CSF stays bright).

Foraminal crops are per side and mirrored: the right side is sampled with the
lateral axis negated and parasagittal channels ordered medial -> lateral, so one
set of weights serves both foramina.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.ml.intensity import DEFAULT_INTENSITY, IntensityScaling
from inference.ml.localisation import DiscLocation
from inference.ml.volume import Volume, patient_to_index, sample_patient

# The channels a crop leaves at zero when a series is missing (a study without a
# sagittal T1, or without an axial series at the level): canal crops are T2 (0-2), T1 (3)
# and the axials (4-6); foraminal crops are T2 (0-2) and the axials (3-5). The classifiers
# learn with these dropped at random (TrainSettings.absent_series_rate).
CANAL_SERIES_CHANNELS: dict[str, tuple[int, ...]] = {"sag_t1": (3,), "axial_t2": (4, 5, 6)}
FORAMEN_SERIES_CHANNELS: dict[str, tuple[int, ...]] = {"axial_t2": (3, 4, 5)}


@dataclass(frozen=True)
class CropConfig:
    size_px: int = 48
    spacing_mm: float = 1.0
    canal_shift_mm: float = 12.0  # crop centre behind the disc centre: disc back + canal
    foramen_offsets_mm: tuple[float, ...] = (12.0, 16.0, 20.0)  # lateral, medial -> lateral
    foramen_cranial_mm: float = 4.0  # the foramen sits slightly above the disc centre
    axial_lateral_mm: float = 14.0  # axial foraminal crop centre off the midline

    @property
    def canal_channels(self) -> int:
        return 7  # sag T2 (3 slices), sag T1 (mid), axial T2 (3 slices)

    @property
    def foramen_channels(self) -> int:
        return len(self.foramen_offsets_mm) + 3  # parasagittal T2 + axial T2


def series_scale(
    vol: Volume, intensity: IntensityScaling = DEFAULT_INTENSITY
) -> tuple[float, float]:
    """The series' intensity that maps to 0, and the range that maps to 1 (every
    second voxel in each direction: a percentile does not need them all)."""
    lo, hi = np.percentile(vol.pixels[::2, ::2, ::2], intensity.percentiles)
    return float(lo), float(max(hi - lo, 1e-6))


def sample_plane(
    vol: Volume,
    centre: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    cfg: CropConfig,
    scale: tuple[float, float] | None = None,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> np.ndarray:
    """A (size, size) image: column index along ``u``, row index along ``v``; ``scale``
    is the series' :func:`series_scale` (computed here when not given)."""
    n, sp = cfg.size_px, cfg.spacing_mm
    off = (np.arange(n) - (n - 1) / 2) * sp
    pts = centre[None, None, :] + off[None, :, None] * u + off[:, None, None] * v
    img = sample_patient(vol, pts, order=1, cval=0.0)
    lo, rng = scale or series_scale(vol, intensity)
    low, high = intensity.clip
    return np.clip((img - lo) / rng, low, high).astype(np.float32)


def _on_slice(vol: Volume, point: np.ndarray, slice_index: float) -> np.ndarray:
    """Move ``point`` along the slice axis onto slice ``slice_index`` (fractional ok)."""
    s_now = patient_to_index(vol, point)[0, 0]
    return point + (slice_index - s_now) * vol.slice_step()


def _axial_crops(
    axial: Volume | None,
    centre: np.ndarray,
    lateral_dir: np.ndarray,
    cfg: CropConfig,
    intensity: IntensityScaling,
) -> list[np.ndarray]:
    """The level's 3 axial slices (zeros if the series is missing), each cropped
    around ``centre`` projected onto that slice; columns along ``lateral_dir``."""
    if axial is None:
        return [np.zeros((cfg.size_px, cfg.size_px), np.float32)] * 3
    scale = series_scale(axial, intensity)
    out = []
    n = axial.pixels.shape[0]
    picks = [0, n // 2, n - 1] if n >= 3 else [0] * 3
    for s in picks:
        c = _on_slice(axial, centre, float(s))
        # rows along the axial column direction (anterior -> posterior in the image)
        out.append(sample_plane(axial, c, lateral_dir, axial.col_dir, cfg, scale, intensity))
    return out


def canal_crop(
    sag_t2: Volume,
    sag_t1: Volume | None,
    axial: Volume | None,
    disc: DiscLocation,
    cfg: CropConfig = CropConfig(),
    jitter: np.ndarray | None = None,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> np.ndarray:
    """(7, size, size): sagittal T2 slices s-1, s, s+1, T1 at s, then the 3 axials."""
    centre = disc.centre + cfg.canal_shift_mm * disc.posterior
    if jitter is not None:
        centre = centre + jitter
    s_mid = disc.slice_index
    n_sl = sag_t2.pixels.shape[0]
    scale = series_scale(sag_t2, intensity)
    chans = []
    for k in (-1, 0, 1):
        s = int(np.clip(s_mid + k, 0, n_sl - 1))
        chans.append(
            sample_plane(
                sag_t2,
                _on_slice(sag_t2, centre, s),
                disc.posterior,
                -disc.normal,
                cfg,
                scale,
                intensity,
            )
        )
    if sag_t1 is not None:
        chans.append(
            sample_plane(
                sag_t1,
                _on_slice(sag_t1, centre, s_mid),
                disc.posterior,
                -disc.normal,
                cfg,
                intensity=intensity,
            )
        )
    else:
        chans.append(np.zeros_like(chans[0]))
    chans += _axial_crops(axial, centre, disc.lateral, cfg, intensity)
    return np.stack(chans)


def foramen_crop(
    sag_t2: Volume,
    axial: Volume | None,
    disc: DiscLocation,
    side: str,
    cfg: CropConfig = CropConfig(),
    jitter: np.ndarray | None = None,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> np.ndarray:
    """(len(offsets) + 3, size, size) for ``side`` in {"left", "right"}, mirrored so
    that the right side looks like the left (lateral always increasing column)."""
    sign = 1.0 if side == "left" else -1.0
    lat = sign * disc.lateral  # points away from the midline on this side
    base = disc.centre + cfg.canal_shift_mm * disc.posterior + cfg.foramen_cranial_mm * disc.normal
    if jitter is not None:
        base = base + jitter
    scale = series_scale(sag_t2, intensity)
    chans = [
        sample_plane(sag_t2, base + d * lat, disc.posterior, -disc.normal, cfg, scale, intensity)
        for d in cfg.foramen_offsets_mm
    ]
    chans += _axial_crops(axial, base + cfg.axial_lateral_mm * lat, lat, cfg, intensity)
    return np.stack(chans)


def best_foramen_slice(
    sag_t2: Volume, disc: DiscLocation, side: str, cfg: CropConfig = CropConfig()
) -> int:
    """Index of the sagittal slice nearest the middle foraminal offset on ``side``."""
    sign = 1.0 if side == "left" else -1.0
    mid = cfg.foramen_offsets_mm[len(cfg.foramen_offsets_mm) // 2]
    p = disc.centre + sign * mid * disc.lateral
    s = patient_to_index(sag_t2, p)[0, 0]
    return int(np.clip(round(s), 0, sag_t2.pixels.shape[0] - 1))
