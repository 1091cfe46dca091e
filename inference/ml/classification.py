"""Central-canal and foraminal classifiers (multi-label BCE, one logit per detector).

* Canal classifier: one sample per study x level, outputs the guide's detectors
  ``bulging``, ``herniation``, ``canal_stenosis``. ``canal_class`` is *derived* from
  them with the guide's table (``spine.labels.canal_class``), never a separate
  head, so the two can never disagree.
* Foraminal classifier: one sample per study x level x side (mirrored crops), one
  output ``foraminal_stenosis``.

Imbalance: BCE ``pos_weight`` = negatives/positives per detector (capped at 10).
Semi-supervised hooks: every sample has a weight (gold labels 1.0, NLP-derived
labels lower, e.g. 0.5) multiplying its loss; :func:`pseudo_relabel` replaces the
targets of NLP-labelled samples with the model's confident predictions (and lowers
the weight of those it is unsure of), and :func:`pseudo_label` turns confident
predictions on unlabelled crops into low-weight training samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.ml.segmentation import device

CANAL_DETECTORS: tuple[str, ...] = ("bulging", "herniation", "canal_stenosis")
FORAMEN_DETECTORS: tuple[str, ...] = ("foraminal_stenosis",)


@dataclass
class CropSet:
    """Crops with binary targets; ``x`` is (N, K, C, H, W): K augmented versions."""

    x: np.ndarray
    y: np.ndarray  # (N, D) float 0/1
    w: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (N,) weights
    ids: list[str] = field(default_factory=list)
    nlp: np.ndarray = field(
        default_factory=lambda: np.zeros(0, bool)
    )  # (N,) target from NLP, not gold

    def __post_init__(self) -> None:
        if self.w.size == 0:
            self.w = np.ones(len(self.x), np.float32)
        if self.nlp.size == 0:
            self.nlp = np.zeros(len(self.x), bool)

    def __len__(self) -> int:
        return len(self.x)

    def concat(self, other: CropSet) -> CropSet:
        if len(self) == 0:
            return other
        return CropSet(
            np.concatenate([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.w, other.w]),
            self.ids + other.ids,
            np.concatenate([self.nlp, other.nlp]),
        )


def pos_weights(y: np.ndarray, cap: float = 10.0) -> torch.Tensor:
    pos = y.sum(0)
    neg = len(y) - pos
    return torch.tensor(np.clip(neg / np.maximum(pos, 1.0), 1.0, cap), dtype=torch.float32)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    gain = 1.0 + 0.1 * (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1)
    return x * gain + 0.02 * torch.randn(x.shape, generator=gen)


def drop_series(
    x: torch.Tensor,
    groups: Sequence[Sequence[int]],
    rate: float,
    gen: torch.Generator,
) -> torch.Tensor:
    """``x`` (B, C, H, W) with each channel group zeroed, independently per sample and
    group, with probability ``rate``: crops as a study without that series gives them
    (crops.CANAL_SERIES_CHANNELS). Why: trained only on studies that had every series,
    the canal classifier called a herniation and a stenosis at nearly every level of
    unseen synthetic studies read without their axials (herniation accuracy 0.92 -> 0.10,
    canal stenosis 0.98 -> 0.13: seed 53, 20 studies), and at every level of the real
    volunteers, who have a sagittal T2 only."""
    if rate <= 0 or not groups:
        return x
    x = x.clone()
    for group in groups:
        absent = torch.rand(x.shape[0], generator=gen) < rate
        x[absent.nonzero().squeeze(1)[:, None], torch.as_tensor(list(group))[None, :]] = 0.0
    return x


def _epoch_tensor(data: CropSet, rng: np.random.Generator, train: bool) -> torch.Tensor:
    k = rng.integers(data.x.shape[1], size=len(data)) if train else np.zeros(len(data), int)
    return torch.from_numpy(data.x[np.arange(len(data)), k])


def train_classifier(
    model: nn.Module,
    train: CropSet,
    val: CropSet | None,
    epochs: int = 20,
    batch: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    name: str = "classifier",
    progress: Callable[[dict], None] | None = None,
    first_epoch: int = 1,
    absent_series: Sequence[Sequence[int]] = (),
    absent_rate: float = 0.0,
) -> list[dict]:
    """Weighted BCE training; per-epoch train/val loss and accuracy (all detectors).
    ``first_epoch`` numbers the records when training continues an earlier run;
    ``absent_series`` channel groups are dropped at ``absent_rate`` (:func:`drop_series`)."""
    dev = device()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, epochs * int(np.ceil(len(train) / batch)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    pw = pos_weights(train.y).to(dev)
    y_all = torch.from_numpy(train.y.astype(np.float32))
    w_all = torch.from_numpy(train.w.astype(np.float32))
    history: list[dict] = []
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        x_all = _epoch_tensor(train, rng, train=True)
        perm = torch.randperm(len(train), generator=gen)
        tot, correct, n = 0.0, 0.0, 0
        for i in range(0, len(train), batch):
            idx = perm[i : i + batch]
            if len(idx) < 2:  # BatchNorm needs > 1 sample
                continue
            # dropped after the noise: an absent series reads as exact zeros, as in a study
            x = drop_series(_augment(x_all[idx], gen), absent_series, absent_rate, gen).to(dev)
            y, w = y_all[idx].to(dev), w_all[idx].to(dev)
            logits = model(x)
            loss = (
                F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw, reduction="none").mean(
                    1
                )
                * w
            ).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
            correct += float(((logits > 0).float() == y).float().mean(1).sum())
            n += len(idx)
        rec = {
            "stage": name,
            "epoch": first_epoch + ep,
            "train_loss": tot / max(n, 1),
            "train_acc": correct / max(n, 1),
        }
        if val is not None and len(val):
            p = predict_proba(model, val)
            yv = val.y.astype(np.float32)
            eps = 1e-6
            rec["val_loss"] = float(-np.mean(yv * np.log(p + eps) + (1 - yv) * np.log(1 - p + eps)))
            rec["val_acc"] = float(np.mean((p > 0.5) == (yv > 0.5)))
        rec["elapsed_s"] = time.perf_counter() - t0
        history.append(rec)
        if progress:
            progress(rec)
    model.cpu()
    return history


@torch.no_grad()
def predict_proba(model: nn.Module, data: CropSet | np.ndarray, batch: int = 64) -> np.ndarray:
    """Probabilities (N, D); accepts a CropSet (uses the un-jittered version) or an
    (N, C, H, W) array."""
    dev = device()
    model.to(dev).eval()
    x = data.x[:, 0] if isinstance(data, CropSet) else data
    out = []
    for i in range(0, len(x), batch):
        out.append(
            torch.sigmoid(model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])).to(dev)))
            .cpu()
            .numpy()
        )
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def pseudo_label(
    model: nn.Module, unlabelled: np.ndarray, threshold: float = 0.9, weight: float = 0.3
) -> CropSet:
    """Confident predictions on unlabelled crops (N, K, C, H, W) -> a low-weight
    CropSet (every detector must be confidently 0 or 1 for a sample to be kept)."""
    p = predict_proba(model, unlabelled[:, 0])
    sure = np.all((p > threshold) | (p < 1 - threshold), axis=1)
    return CropSet(
        unlabelled[sure],
        (p[sure] > 0.5).astype(np.float32),
        np.full(int(sure.sum()), weight, np.float32),
    )


@dataclass
class PseudoRelabel:
    data: CropSet
    replaced: int  # NLP targets (sample x detector) the model confidently contradicted
    confirmed: int  # NLP targets it confidently agreed with
    downweighted: int  # NLP samples with a detector it was unsure of


def pseudo_relabel(
    model: nn.Module, data: CropSet, threshold: float = 0.9, uncertain_weight: float = 0.5
) -> PseudoRelabel:
    """Targets of the NLP-labelled samples (``data.nlp``) become the model's confident
    predictions (p >= threshold -> 1, p <= 1 - threshold -> 0), detector by detector;
    an NLP sample with any detector in between keeps its NLP targets but its weight is
    multiplied by ``uncertain_weight``. Gold samples are never changed."""
    y, w = data.y.copy(), data.w.copy()
    if not data.nlp.any():
        return PseudoRelabel(CropSet(data.x, y, w, list(data.ids), data.nlp.copy()), 0, 0, 0)
    p = predict_proba(model, data)
    sure = (p >= threshold) | (p <= 1 - threshold)
    predicted = (p >= 0.5).astype(y.dtype)
    take = data.nlp[:, None] & sure
    replaced = int((take & (predicted != y)).sum())
    confirmed = int((take & (predicted == y)).sum())
    y[take] = predicted[take]
    unsure = data.nlp & ~sure.all(axis=1)
    w[unsure] *= uncertain_weight
    return PseudoRelabel(
        CropSet(data.x, y, w, list(data.ids), data.nlp.copy()),
        replaced,
        confirmed,
        int(unsure.sum()),
    )


def derive_disc(p_bulging: float, p_herniation: float, threshold: float = 0.5) -> str:
    """Guide ``disc`` field from the two mutually exclusive detectors."""
    if max(p_bulging, p_herniation) < threshold:
        return "none"
    return "herniation" if p_herniation >= p_bulging else "bulge"
