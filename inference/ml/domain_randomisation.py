"""Training images drawn from synthetic *label maps*, not from rendered studies.

The synthetic generator's images share one intensity model, so a network trained on
them learns that model, not anatomy, and fails on a real scanner. Here the generator
gives only tissue maps (about 30 tissues: fat, muscle, marrow, cortex, annulus,
nucleus, CSF ...); every training sample then draws its own look (SynthSeg's idea):

* an intensity per tissue, from a T1-, T2- or STIR-like table with wide jitter, or
  fully at random;
* slice thickness 3-5 mm: the image is the mean of sub-planes across the slab
  (partial volume), the target is the centre plane;
* in-plane resolution 0.4-1.2 mm: a Gaussian point-spread of that width before the
  image is brought to the working grid;
* a smooth bias field, Rician noise, blur and a gamma curve (MONAI transforms);
* a field of view that cuts the spine at a random height, with or without the sacrum.

Every parameter is in :class:`RandomisationConfig`, which travels with the model's
config, so a trained model records how its training images were made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from inference.ml.classes import N_CLASSES
from studies.synth import render
from studies.synth.measure import sample_anatomy
from studies.synth.render import mask_from_tissue, tissue_on_plane

# Fine grid the tissue maps are drawn on, as a fraction of the working spacing: the
# working-grid image is their area average, as a scanner's pixel integrates signal.
OVERSAMPLE = 2


@dataclass(frozen=True)
class RandomisationConfig:
    fov_mm: tuple[float, float] = (170.0, 260.0)  # square field of view, per slice
    slice_thickness_mm: tuple[float, float] = (3.0, 5.0)
    sub_planes: int = 3
    lateral_offset_mm: tuple[float, float] = (-22.0, 22.0)  # slice position from the midline
    in_plane_mm: tuple[float, float] = (0.4, 1.2)
    contrasts: tuple[str, ...] = ("T2", "T2", "T1", "STIR", "random")
    tissue_jitter: tuple[float, float] = (0.6, 1.5)  # per-tissue factor on the table value
    bias_coeff: float = 0.5  # MONAI RandBiasField coefficient range
    noise_std: tuple[float, float] = (0.01, 0.08)
    blur_sigma_px: tuple[float, float] = (0.0, 0.8)
    gamma: tuple[float, float] = (0.7, 1.5)
    without_sacrum: float = 0.25  # share of fields of view whose bottom cuts above the sacrum

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RandomisationConfig:
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**fields)


@dataclass
class LabelMapBank:
    """Tissue maps of sagittal slabs on the fine grid, drawn once, re-coloured per sample."""

    tissues: list[np.ndarray] = field(default_factory=list)  # (sub_planes, H, W) uint8
    classes: list[np.ndarray] = field(default_factory=list)  # (H, W) uint8, centre plane
    in_plane_mm: list[float] = field(default_factory=list)


def build_bank(
    *,
    n_anatomies: int,
    slices_per_anatomy: int,
    work_spacing_mm: float,
    config: RandomisationConfig,
    seed: int,
) -> LabelMapBank:
    """Draw anatomies from the synthetic generator and cut random sagittal slabs."""
    rng = np.random.default_rng(seed)
    fine = work_spacing_mm / OVERSAMPLE
    bank = LabelMapBank()
    row, col = (
        np.array([0.0, 1.0, 0.0]),
        np.array([0.0, 0.0, -1.0]),
    )  # anterior->posterior, head->foot
    for _ in range(n_anatomies):
        age = int(rng.integers(20, 85))
        anat = sample_anatomy(rng, age)
        for _ in range(slices_per_anatomy):
            fov = float(rng.uniform(*config.fov_mm))
            n_px = round(fov / work_spacing_mm) * OVERSAMPLE
            s_lo = anat.body_lo[0] - 20.0
            if rng.random() < config.without_sacrum:
                # the bottom edge falls between mid-L5 and mid-L3: no sacrum in view
                bottom = float(
                    rng.uniform(
                        0.5 * (anat.body_lo[1] + anat.body_hi[1]),
                        0.5 * (anat.body_lo[3] + anat.body_hi[3]),
                    )
                )
                s_centre = bottom + fov / 2
            else:
                s_centre = float(rng.uniform(s_lo + 0.3 * fov, anat.body_hi[-1] + 40.0 - 0.3 * fov))
                s_centre = max(s_centre, s_lo + 0.15 * fov)
            centre = anat.to_patient(np.array([s_centre]), np.array([10.0]), np.zeros(1))[0]
            x = centre[0] + float(rng.uniform(*config.lateral_offset_mm))
            thickness = float(rng.uniform(*config.slice_thickness_mm))
            offsets = np.linspace(-thickness / 3, thickness / 3, config.sub_planes)
            centre_y = centre[1] + float(rng.uniform(-0.15, 0.15)) * fov
            planes = []
            for dx in offsets:
                origin = np.array([x + dx, centre_y - fov / 2, centre[2] + fov / 2])
                planes.append(tissue_on_plane(anat, origin, row, col, fine, n_px, n_px))
            bank.tissues.append(np.stack(planes).astype(np.uint8))
            bank.classes.append(mask_from_tissue(planes[len(planes) // 2]))
            bank.in_plane_mm.append(float(rng.uniform(*config.in_plane_mm)))
    return bank


def _contrast_table(kind: str, rng: np.random.Generator, config: RandomisationConfig) -> np.ndarray:
    r = render  # short: the table below names many tissues

    n = r.N_TISSUES
    if kind == "random":
        table = rng.uniform(0.0, 1.0, n)
        table[r.AIR] = rng.uniform(0.0, 0.05)
        return table
    t1 = np.zeros(n)
    t2 = np.zeros(n)
    marrow_fat = rng.uniform(0.35, 0.8)
    base = {
        r.AIR: (0.0, 0.0),
        r.FAT: (0.95, 0.75),
        r.MUSCLE: (0.33, 0.22),
        r.SOFT: (0.45, 0.42),
        r.VESSEL: (0.06, 0.05),
        r.BONE_POST: (marrow_fat * 0.95, 0.38),
        r.FACET_JOINT: (0.2, 0.55),
        r.FORAMEN_FAT: (0.92, 0.68),
        r.ROOT: (0.35, 0.3),
        r.LIGAMENT: (0.12, 0.1),
        r.CSF: (0.14, 1.0),
        r.CORD: (0.4, 0.35),
        r.MARROW: (marrow_fat, 0.42),
        r.CORTEX: (0.06, 0.05),
        r.SACRAL_MARROW: (marrow_fat, 0.42),
        r.SACRAL_CORTEX: (0.06, 0.05),
    }
    for tid, (v1, v2) in base.items():
        t1[tid], t2[tid] = v1, v2
    for k in range(r.N_DISCS):
        hydration = rng.uniform(0.0, 1.0)
        t1[r.ANNULUS0 + k], t2[r.ANNULUS0 + k] = 0.3, 0.18 + 0.07 * hydration
        t1[r.NUCLEUS0 + k], t2[r.NUCLEUS0 + k] = 0.36, 0.22 + 0.68 * hydration
        t1[r.HERNIATION0 + k], t2[r.HERNIATION0 + k] = 0.3, 0.3 + 0.3 * hydration
    if kind == "T1":
        table = t1
    else:
        table = t2.copy()
        if kind == "STIR":
            # fat suppressed: fat and fatty marrow dark, fluid bright
            for tid in (r.FAT, r.FORAMEN_FAT, r.MARROW, r.SACRAL_MARROW, r.BONE_POST):
                table[tid] = rng.uniform(0.03, 0.15)
    jitter = rng.uniform(*config.tissue_jitter, n)
    table = table * jitter
    # Tissues sharing a signal in the tables stay tied where anatomy ties them.
    table[r.SACRAL_MARROW], table[r.SACRAL_CORTEX] = table[r.MARROW], table[r.CORTEX]
    return table


def _soft_targets(classes: np.ndarray) -> np.ndarray:
    """Fine-grid classes -> (N_CLASSES, H/OVERSAMPLE, W/OVERSAMPLE) fractions."""
    onehot = (
        F.one_hot(torch.from_numpy(classes.astype(np.int64)), N_CLASSES).permute(2, 0, 1).float()
    )
    return F.avg_pool2d(onehot[None], OVERSAMPLE)[0].numpy()


def render_sample(
    bank: LabelMapBank,
    index: int,
    rng: np.random.Generator,
    config: RandomisationConfig,
    work_spacing_mm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One randomised image (H, W) float32 on the working grid and its class fractions."""
    # monai (seconds: it pulls pandas, scikit-learn, nibabel): loaded by the first sample.
    from monai.transforms import RandBiasField, RandGaussianSmooth, RandRicianNoise

    kind = str(rng.choice(config.contrasts))
    table = _contrast_table(kind, rng, config).astype(np.float32)
    slab = bank.tissues[index]
    img = table[slab].mean(0)  # partial volume across the slice thickness
    # within-tissue texture, so no tissue is a flat constant
    img = img * (
        1.0 + 0.08 * gaussian_filter(rng.standard_normal(img.shape).astype(np.float32), 1.5)
    )
    fine = work_spacing_mm / OVERSAMPLE
    psf = 0.5 * bank.in_plane_mm[index] / fine  # Gaussian sigma ~ half the pixel width
    img = gaussian_filter(img, psf)
    x: torch.Tensor | np.ndarray = torch.from_numpy(img[None].astype(np.float32))  # MONAI: either
    seed = int(rng.integers(2**31))
    bias = RandBiasField(degree=3, coeff_range=(0.0, config.bias_coeff), prob=1.0)
    bias.set_random_state(seed)
    x = bias(x)
    noise = RandRicianNoise(
        prob=1.0,
        std=float(rng.uniform(*config.noise_std)),
        relative=True,
        channel_wise=True,
        sample_std=False,
    )
    noise.set_random_state(seed + 1)
    x = noise(x)
    x = F.avg_pool2d(torch.as_tensor(x)[None].float(), OVERSAMPLE)[0]
    blur_hi = float(rng.uniform(*config.blur_sigma_px))
    if blur_hi > 0.05:
        smooth = RandGaussianSmooth(sigma_x=(0.0, blur_hi), sigma_y=(0.0, blur_hi), prob=1.0)
        smooth.set_random_state(seed + 2)
        x = smooth(x)
    x = torch.as_tensor(x).clamp_min(0)
    x = x.pow(float(rng.uniform(*config.gamma)))
    return x[0].numpy().astype(np.float32), _soft_targets(bank.classes[index])
