"""Sagittal (and axial) slice segmentation: preprocessing, Dice+CE training, prediction.

Classes: 0 background, 1 vertebra (incl. sacrum and posterior elements), 2 disc,
3 canal / dural sac - the synthetic generator's mask classes.

CPU budget drives the design: slices are resampled to a coarse working grid
(``work_spacing_mm``, 1.5 mm by default) and the network sees random patches. So that
the coarse grid does not cost measurement accuracy, the training targets are
*partial-volume* class fractions (area-averaged one-hot masks), not nearest-
neighbour labels: the network learns soft boundaries, and the logits upsampled back
to the native grid place an edge to a fraction of a working pixel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.ml.volume import Volume

N_CLASSES = 4
CLASS_NAMES = ("background", "vertebra", "disc", "canal")


def device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def normalise_slice(img: np.ndarray) -> np.ndarray:
    """Per-slice robust scaling to ~[0, 1]: scanners and coils differ in gain, and
    percentiles (not min/max) ignore a few hot pixels."""
    img = np.asarray(img, dtype=np.float32)
    lo, hi = np.percentile(img, (1.0, 99.5))
    return np.clip((img - lo) / max(hi - lo, 1e-6), -0.5, 2.0).astype(np.float32)


def work_shape(shape: tuple[int, int], spacing: tuple[float, float],
               work_spacing: float) -> tuple[int, int]:
    return (max(16, int(round(shape[0] * spacing[0] / work_spacing))),
            max(16, int(round(shape[1] * spacing[1] / work_spacing))))


def resample_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False,
                         antialias=True)[0, 0].numpy()


def soft_targets(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Integer mask (R, C) -> class fractions (N_CLASSES, *size) by area averaging."""
    onehot = F.one_hot(torch.from_numpy(mask.astype(np.int64)), N_CLASSES).permute(2, 0, 1)
    return F.interpolate(onehot[None].float(), size=size, mode="area")[0].numpy()


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice over the foreground classes, batch-pooled (a class absent from one
    patch does not give a 0/0). ``target`` is (B, C, H, W) fractions or one-hot."""
    prob = logits.softmax(1)[:, 1:]
    tgt = target[:, 1:]
    inter = (prob * tgt).sum((0, 2, 3))
    denom = prob.sum((0, 2, 3)) + tgt.sum((0, 2, 3))
    return 1.0 - ((2 * inter + eps) / (denom + eps)).mean()


def seg_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft targets + Dice: CE gets the boundaries calibrated,
    Dice keeps the small classes (disc, canal) from being swamped by background."""
    ce = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    return ce + dice_loss(logits, target)


def dice_per_class(pred: np.ndarray, truth: np.ndarray, n_classes: int = N_CLASSES
                   ) -> dict[str, float]:
    """Hard Dice per foreground class over whole volumes (NaN when both are empty)."""
    out: dict[str, float] = {}
    for c in range(1, n_classes):
        p, t = pred == c, truth == c
        denom = int(p.sum()) + int(t.sum())
        out[CLASS_NAMES[c]] = float(2 * np.logical_and(p, t).sum() / denom) if denom else float("nan")
    return out


@dataclass
class SegSlices:
    """Pre-processed training slices on the working grid."""

    images: list[np.ndarray]  # (H, W) float32
    targets: list[np.ndarray]  # (C, H, W) uint8 fractions x 255 (compact in memory)


def prepare_slices(volume: Volume, mask: np.ndarray, work_spacing: float,
                   slices: Sequence[int] | None = None) -> SegSlices:
    """Slices of a volume and its (aligned) mask -> working-grid images and targets."""
    size = work_shape(volume.pixels.shape[1:], volume.pixel_spacing, work_spacing)
    idx = range(volume.pixels.shape[0]) if slices is None else slices
    imgs, tgts = [], []
    for s in idx:
        imgs.append(resample_image(normalise_slice(volume.pixels[s]), size))
        tgts.append(np.round(soft_targets(mask[s], size) * 255).astype(np.uint8))
    return SegSlices(imgs, tgts)


def _sample_patch(img: np.ndarray, tgt: np.ndarray, patch: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape
    ph, pw = max(0, patch - h), max(0, patch - w)
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw)))
        tgt = np.pad(tgt, ((0, 0), (0, ph), (0, pw)))
        tgt[0, h:, :] = 255
        tgt[0, :, w:] = 255
        h, w = img.shape
    if rng.random() < 0.75:
        # centre on the spine most of the time: the classes we care about are small
        fg = np.argwhere(tgt[2] + tgt[3] > 128)
        if len(fg):
            cy, cx = fg[rng.integers(len(fg))]
        else:
            cy, cx = rng.integers(h), rng.integers(w)
    else:
        cy, cx = rng.integers(h), rng.integers(w)
    y0 = int(np.clip(cy - patch // 2, 0, h - patch))
    x0 = int(np.clip(cx - patch // 2, 0, w - patch))
    return img[y0:y0 + patch, x0:x0 + patch], tgt[:, y0:y0 + patch, x0:x0 + patch]


def _augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Light intensity augmentation (gain, gamma, noise). No flips: the model may
    use the fact that the head is up and the back is to the right."""
    b = x.shape[0]
    gain = torch.from_numpy(rng.uniform(0.85, 1.15, (b, 1, 1, 1)).astype(np.float32))
    gamma = torch.from_numpy(rng.uniform(0.8, 1.25, (b, 1, 1, 1)).astype(np.float32))
    x = torch.sign(x) * x.abs().pow(gamma) * gain
    return x + 0.02 * torch.randn_like(x)


def make_batch(data: SegSlices, batch: int, patch: int, rng: np.random.Generator,
               augment: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ts = [], []
    for _ in range(batch):
        i = int(rng.integers(len(data.images)))
        img, tgt = _sample_patch(data.images[i], data.targets[i], patch, rng)
        xs.append(img)
        ts.append(tgt)
    x = torch.from_numpy(np.stack(xs)[:, None].copy())
    t = torch.from_numpy(np.stack(ts).astype(np.float32) / 255.0)
    t = t / t.sum(1, keepdim=True).clamp_min(1e-6)
    return (_augment(x, rng) if augment else x), t


def train_segmentation(
    model: nn.Module,
    train: SegSlices,
    val: SegSlices | None,
    epochs: int = 10,
    steps_per_epoch: int = 40,
    batch: int = 8,
    patch: int = 96,
    lr: float = 3e-3,
    seed: int = 0,
    progress: Callable[[dict], None] | None = None,
    time_budget_s: float | None = None,
) -> list[dict]:
    """Adam + one-cycle schedule; returns per-epoch history (loss and pixel accuracy)."""
    dev = device()
    model.to(dev)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    val_rng = np.random.default_rng(seed + 1)
    val_batches = [make_batch(val, batch, patch, val_rng, augment=False) for _ in range(4)] \
        if val is not None and val.images else []
    history: list[dict] = []
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        losses, accs = [], []
        for _ in range(steps_per_epoch):
            x, t = make_batch(train, batch, patch, rng)
            x, t = x.to(dev), t.to(dev)
            logits = model(x)
            loss = seg_loss(logits, t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            accs.append(float((logits.argmax(1) == t.argmax(1)).float().mean()))
        rec = {"stage": "segmentation", "epoch": ep + 1, "train_loss": float(np.mean(losses)),
               "train_acc": float(np.mean(accs))}
        if val_batches:
            model.eval()
            vl, va = [], []
            with torch.no_grad():
                for x, t in val_batches:
                    logits = model(x.to(dev))
                    vl.append(float(seg_loss(logits, t.to(dev))))
                    va.append(float((logits.argmax(1).cpu() == t.argmax(1)).float().mean()))
            rec.update(val_loss=float(np.mean(vl)), val_acc=float(np.mean(va)))
        rec["elapsed_s"] = time.perf_counter() - t0
        history.append(rec)
        if progress:
            progress(rec)
        if time_budget_s is not None and rec["elapsed_s"] > time_budget_s:
            break
    model.cpu()
    return history


@torch.no_grad()
def predict_volume(model: nn.Module, volume: Volume, work_spacing: float = 1.5,
                   return_probs: bool = False, batch: int = 4
                   ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Native-grid class masks (S, R, C) uint8; optionally softmax probabilities
    (S, C, R, C) float32 - the measurement uses them for sub-pixel edges."""
    dev = device()
    model.to(dev).eval()
    native = volume.pixels.shape[1:]
    size = work_shape(native, volume.pixel_spacing, work_spacing)
    masks = np.zeros(volume.pixels.shape, dtype=np.uint8)
    probs = np.zeros((volume.pixels.shape[0], N_CLASSES, *native), np.float32) if return_probs else None
    for s0 in range(0, volume.pixels.shape[0], batch):
        imgs = [resample_image(normalise_slice(volume.pixels[s]), size)
                for s in range(s0, min(s0 + batch, volume.pixels.shape[0]))]
        x = torch.from_numpy(np.stack(imgs)[:, None]).to(dev)
        logits = F.interpolate(model(x), size=native, mode="bilinear", align_corners=False)
        p = logits.softmax(1).cpu().numpy()
        masks[s0:s0 + len(imgs)] = p.argmax(1).astype(np.uint8)
        if probs is not None:
            probs[s0:s0 + len(imgs)] = p
    model.cpu()
    return (masks, probs) if return_probs else masks
