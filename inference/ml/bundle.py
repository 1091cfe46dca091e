"""The model bundle: the three trained networks and the config they were built from,
saved as one folder.

A bundle folder holds one weight file per network (``WEIGHT_FILES``: the segmenter and
the canal and foramen classifiers, as torch state dicts) and ``config.json``: the format
version, the :class:`ModelConfig` (architectures, crop geometry, intensity scaling,
threshold, AP calibration), the training history and split, and a sha256 per weight
file. :func:`load_models` rebuilds the networks from that config and refuses weights
whose sums (or config) differ from what was recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.ml.classes import DISC, N_CLASSES
from inference.ml.classification import CANAL_DETECTORS
from inference.ml.crops import CropConfig
from inference.ml.intensity import DEFAULT_INTENSITY, IntensityScaling
from inference.ml.networks import FCDenseNet, VGGClassifier

FORMAT_VERSION = 1
WEIGHT_FILES = {
    "seg": "segmentation.pt",
    "canal": "canal_classifier.pt",
    "foramen": "foramen_classifier.pt",
}


@dataclass
class ModelConfig:
    """Everything needed to rebuild the networks and their preprocessing."""

    work_spacing_mm: float = 1.25
    # MONAI's 2D U-Net: about 20 ms a 256-pixel slice on one CPU core, which keeps a
    # 77-slice real volume within the 5 s budget (the earlier FC-DenseNet took 220 ms).
    seg_arch: dict[str, Any] = field(
        default_factory=lambda: {
            "kind": "monai.UNet",
            "in_channels": 1,
            "out_channels": N_CLASSES,
            "channels": [12, 24, 48, 96, 128],
            "strides": [2, 2, 2, 2],
            "num_res_units": 1,
        }
    )
    clf_arch: dict[str, Any] = field(
        default_factory=lambda: {
            "widths": [16, 32, 48, 64],
            "convs_per_stage": 1,
            "spatial_dropout": 0.1,
            "dropout": 0.3,
        }
    )
    crop: dict[str, Any] = field(default_factory=lambda: asdict(CropConfig()))
    # Where canal_stenosis comes from (pipeline.canal_stenosis_field): "cnn", "ap",
    # "either", or "measured": the measured AP where there is one, the classifier only
    # where none could be measured. "measured" because the canal classifier learnt from
    # synthetic crops alone (on the five real volunteers an earlier one called a stenosis
    # at every level, canals measured at 18 mm included), while the AP comes from the
    # segmentation network that was fine-tuned on real volumes; on unseen synthetic
    # studies the two agree (canal stenosis detector 0.98 either way, seeds 53 and 97).
    canal_stenosis_source: str = "measured"
    threshold: float = 0.5
    # measured AP -> a * AP + b, fitted on the validation split after segmentation
    # training (a coarse working grid plus Dice loss tends to over-segment the canal
    # by a roughly constant margin); identity until calibrated.
    ap_calibration: list[float] = field(default_factory=lambda: [1.0, 0.0])
    # The disc class's probability is multiplied by this for the mask a study keeps, not
    # for the naming (pipeline.segment, segmentation.fit_class_scale): fitted after
    # fine-tuning on the real volumes with disc masks that the model trained on; 1.0
    # (the network's own outline) until fitted.
    disc_probability_scale: float = 1.0
    # The intensity scaling of the network input (inference.ml.intensity): per slice for
    # the segmentation (then resampled to work_spacing_mm), per series for the crops.
    # Bundles saved before the numbers were recorded here hold a description in words.
    preprocessing: dict[str, Any] = field(default_factory=DEFAULT_INTENSITY.to_json)

    def crop_config(self) -> CropConfig:
        c = dict(self.crop)
        c["foramen_offsets_mm"] = tuple(c["foramen_offsets_mm"])
        return CropConfig(**c)

    def class_scale(self) -> tuple[float, ...]:
        """The factor on each class's probability before the argmax (classes' order)."""
        return tuple(self.disc_probability_scale if c == DISC else 1.0 for c in range(N_CLASSES))

    def intensity(self) -> IntensityScaling:
        """The scaling these networks were trained with (the default for an older bundle)."""
        return IntensityScaling.from_json(self.preprocessing)


@dataclass
class TrainedModels:
    seg: nn.Module
    canal: nn.Module
    foramen: nn.Module
    config: ModelConfig = field(default_factory=ModelConfig)
    history: list[dict] = field(default_factory=list)
    split: dict[str, list[str]] = field(default_factory=dict)
    train_seconds: float = 0.0


def build_segmenter(arch: Mapping[str, Any]) -> nn.Module:
    arch = dict(arch)
    if arch.pop("kind", "FCDenseNet") == "monai.UNet":
        from monai.networks.nets import UNet  # monai (seconds): only for this architecture

        return UNet(
            spatial_dims=2,
            in_channels=arch["in_channels"],
            out_channels=arch["out_channels"],
            channels=tuple(arch["channels"]),
            strides=tuple(arch["strides"]),
            num_res_units=arch["num_res_units"],
        )
    arch["down_layers"] = tuple(arch["down_layers"])
    return FCDenseNet(**arch)


def build_models(config: ModelConfig) -> tuple[nn.Module, nn.Module, nn.Module]:
    seg = build_segmenter(config.seg_arch)
    crop = config.crop_config()
    arch = dict(config.clf_arch)
    arch["widths"] = tuple(arch["widths"])
    canal = VGGClassifier(in_channels=crop.canal_channels, n_outputs=len(CANAL_DETECTORS), **arch)
    foramen = VGGClassifier(in_channels=crop.foramen_channels, n_outputs=1, **arch)
    return seg, canal, foramen


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_models(models: TrainedModels, folder: str | Path) -> Path:
    """Weights (one file per network), plus ``config.json`` with the architecture,
    preprocessing, training history and a sha256 per weight file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for key, fname in WEIGHT_FILES.items():
        torch.save(getattr(models, key).state_dict(), folder / fname)
        sums[fname] = _sha256(folder / fname)
    meta = {
        "format_version": FORMAT_VERSION,
        "config": asdict(models.config),
        "sha256": sums,
        "history": models.history,
        "split": models.split,
        "train_seconds": models.train_seconds,
        "torch": torch.__version__,
    }
    (folder / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return folder


class WeightsRefused(ValueError):
    """Weight files (or their config) that differ from what was recorded; never loaded."""


def load_models(
    folder: str | Path,
    *,
    expected_sha256: Mapping[str, str] | None = None,
    expected_config: Mapping[str, Any] | None = None,
) -> TrainedModels:
    """Inverse of :func:`save_models`; refuses a weight file whose sha256 differs.

    ``config.json`` sits beside the weights, so checking the files against it only finds
    accidents: whoever can replace a weight file can rewrite its sum there too. The app
    passes the sums and the config recorded in the database (``ModelVersion.weight_files``
    and ``.config``) as ``expected_sha256`` / ``expected_config``; every weight file must
    then match the database as well, and the config the networks are built from must be
    the recorded one (its thresholds and calibration change the readings too).
    """
    folder = Path(folder)
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {meta.get('format_version')!r}")
    if expected_config is not None and meta.get("config") != dict(expected_config):
        raise WeightsRefused(
            f"{folder / 'config.json'} differs from the config recorded for this model version"
        )
    config = ModelConfig(**meta["config"])
    nets = dict(zip(WEIGHT_FILES, build_models(config), strict=True))
    for key, fname in WEIGHT_FILES.items():
        digest = _sha256(folder / fname)
        if digest != meta["sha256"][fname]:
            raise WeightsRefused(
                f"sha256 mismatch for {fname}: {digest} != {meta['sha256'][fname]}"
            )
        if expected_sha256 is not None and digest != expected_sha256.get(fname):
            raise WeightsRefused(
                f"sha256 mismatch for {fname}: {digest} is not the recorded "
                f"{expected_sha256.get(fname) or '(none recorded)'}; refusing to load it"
            )
        state = torch.load(folder / fname, map_location="cpu", weights_only=True)
        nets[key].load_state_dict(state)
        nets[key].eval()
    return TrainedModels(
        config=config,
        history=meta.get("history", []),
        split=meta.get("split", {}),
        train_seconds=meta.get("train_seconds", 0.0),
        **nets,
    )
