"""Sagittal slice segmentation: preprocessing, partial-label training, prediction.

Classes are :mod:`inference.ml.classes` (background, vertebral body, disc, canal,
sacrum). The network is 2D and sees one sagittal slice at a time on a working grid
(``work_spacing_mm``); its logits are upsampled to the native grid, so edges are placed
to a fraction of a working pixel.

Training mixes three sources in every batch (:class:`SegSources`):

* label maps from the synthetic generator, re-coloured per sample
  (:mod:`inference.ml.domain_randomisation`): every class, every contrast;
* rendered studies of the archive with their full masks (optional);
* real volumes whose masks label only one class (:mod:`inference.ml.real_data`).

The loss counts only the classes a sample labels (``partial_label_loss``): the
probabilities of the classes it does not label are summed into one "something else"
channel, so a disc-only mask says "disc" or "not a disc" and nothing about the canal.
Pixels outside a mask's annotated span are ignored.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.ml.classes import BACKGROUND, CANAL, CLASS_NAMES, DISC, N_CLASSES, VERTEBRA
from inference.ml.domain_randomisation import LabelMapBank, RandomisationConfig, render_sample
from inference.ml.intensity import DEFAULT_INTENSITY, IntensityScaling
from inference.ml.volume import DisplayView, Volume, sagittal_display_view

IGNORE_CHANNEL = N_CLASSES  # targets carry one extra channel: the ignored fraction


def device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def normalise_slice(img: np.ndarray, intensity: IntensityScaling = DEFAULT_INTENSITY) -> np.ndarray:
    """Per-slice robust scaling to ~[0, 1] (:mod:`inference.ml.intensity`); pass the
    model's own ``ModelConfig.intensity()``."""
    img = np.asarray(img, dtype=np.float32)
    lo, hi = np.percentile(img, intensity.percentiles)
    low, high = intensity.clip
    return np.clip((img - lo) / max(hi - lo, 1e-6), low, high).astype(np.float32)


def work_shape(
    shape: tuple[int, int], spacing: tuple[float, float], work_spacing: float
) -> tuple[int, int]:
    return (
        max(16, round(shape[0] * spacing[0] / work_spacing)),
        max(16, round(shape[1] * spacing[1] / work_spacing)),
    )


def _display_grid(
    volume: Volume, view: DisplayView, work_spacing: float
) -> tuple[tuple[int, int], tuple[int, int]]:
    """A slice's (rows, cols) as displayed, and on the working grid."""
    rows, cols = volume.pixels.shape[1:]
    native = (cols, rows) if view.transpose else (rows, cols)
    return native, work_shape(native, view.spacing(volume.pixel_spacing), work_spacing)


def resample_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)[
        0, 0
    ].numpy()


def soft_targets(
    mask: np.ndarray, size: tuple[int, int], ignore_value: int | None = None
) -> np.ndarray:
    """Integer mask (R, C) -> class fractions by area averaging: (N_CLASSES, *size), or
    (N_CLASSES + 1, *size) with the ignored fraction last when ``ignore_value`` is given."""
    m = np.asarray(mask).astype(np.int64)
    n = N_CLASSES
    if ignore_value is not None:
        m = np.where(m == ignore_value, N_CLASSES, m)
        n = N_CLASSES + 1
    onehot = F.one_hot(torch.from_numpy(m), n).permute(2, 0, 1)
    return F.interpolate(onehot[None].float(), size=size, mode="area")[0].numpy()


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft Dice over the foreground classes, batch-pooled (MONAI's DiceLoss)."""
    from monai.losses import DiceLoss  # monai takes seconds to import: loaded to train

    loss = DiceLoss(
        include_background=False, softmax=True, batch=True, smooth_nr=1.0, smooth_dr=1.0
    )
    return loss(logits, target)


# A sample's classes in ``partial_label_loss``: not labelled, labelled wherever it is
# (its absence is a label too), or labelled only where present (a pseudo-label).
UNLABELLED, LABELLED, POSITIVE_ONLY = 0, 1, 2


def partial_label_loss(
    logits: torch.Tensor, target: torch.Tensor, labelled: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy + Dice counting only the classes each sample labels.

    ``target`` is (B, N_CLASSES + 1, H, W): class fractions plus the ignored fraction;
    ``labelled`` is (B, N_CLASSES): per class :data:`UNLABELLED`, :data:`LABELLED` or
    :data:`POSITIVE_ONLY` (a bool tensor reads as the first two). For a sample, the
    probabilities of the classes it does not label (background included) merge into one
    channel, and so do their targets; ignored pixels weigh nothing. A positive-only
    class counts as labelled only on the pixels its target marks (those are that
    class) and merges with the unlabelled ones everywhere else (nothing is said
    there). A fully labelled sample reduces to plain soft cross-entropy + Dice.
    """
    from monai.losses import DiceLoss  # monai takes seconds to import: loaded to train

    prob = logits.softmax(1)
    weight = (1.0 - target[:, IGNORE_CHANNEL:]).clamp_min(0.0)  # (B, 1, H, W)
    cls_t = target[:, :N_CLASSES]
    state = labelled.to(torch.int8)[:, :, None, None]
    lab = ((state == LABELLED) | ((state == POSITIVE_ONLY) & (cls_t > 0.5))).to(prob.dtype)
    q = torch.cat([prob * lab, (prob * (1 - lab)).sum(1, keepdim=True)], 1)
    t = torch.cat([cls_t * lab, (cls_t * (1 - lab)).sum(1, keepdim=True)], 1)
    t = t / t.sum(1, keepdim=True).clamp_min(1e-6)
    ce = -(
        weight * (t * q.clamp_min(1e-6).log()).sum(1, keepdim=True)
    ).sum() / weight.sum().clamp_min(1.0)
    # Dice per foreground class, pooled over the samples that label it (others are
    # zeroed in both terms, so they add nothing; a class nobody labels scores 0 loss).
    fg = slice(1, N_CLASSES)
    dice = DiceLoss(include_background=True, batch=True, smooth_nr=1e-5, smooth_dr=1e-5)
    return ce + dice((q[:, fg] * weight), (t[:, fg] * weight))


def dice_per_class(
    pred: np.ndarray,
    truth: np.ndarray,
    classes: Sequence[int] | None = None,
    valid: np.ndarray | None = None,
) -> dict[str, float]:
    """Hard Dice per foreground class (NaN when both are empty); ``valid`` limits the
    comparison to a region (a partial mask's annotated span)."""
    out: dict[str, float] = {}
    for c in classes or range(1, N_CLASSES):
        p, t = pred == c, truth == c
        if valid is not None:
            p, t = p & valid, t & valid
        denom = int(p.sum()) + int(t.sum())
        out[CLASS_NAMES[c]] = (
            float(2 * np.logical_and(p, t).sum() / denom) if denom else float("nan")
        )
    return out


@dataclass
class SegSlices:
    """Pre-processed training slices on the working grid, with the classes they label."""

    images: list[np.ndarray] = field(default_factory=list)  # (H, W) float32
    targets: list[np.ndarray] = field(
        default_factory=list
    )  # (N_CLASSES + 1, H, W) uint8 fractions x 255
    labelled: list[tuple[int, ...]] = field(default_factory=list)
    positive_only: list[tuple[int, ...]] = field(default_factory=list)  # see partial_label_loss

    def extend(self, other: SegSlices) -> None:
        self.images += other.images
        self.targets += other.targets
        self.labelled += other.labelled
        self.positive_only += other.positive_only


def prepare_slices(
    volume: Volume,
    mask: np.ndarray,
    work_spacing: float,
    slices: Sequence[int] | None = None,
    labelled: Sequence[int] | None = None,
    ignore_value: int | None = None,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
    positive_only: Sequence[int] = (),
) -> SegSlices:
    """Slices of a volume and its (aligned) mask -> working-grid images and targets.
    ``labelled`` (default: every class) names the classes the mask labels;
    ``positive_only`` those it marks only where they are (``partial_label_loss``)."""
    view = sagittal_display_view(volume)  # as predict_volume reads it
    _, size = _display_grid(volume, view, work_spacing)
    idx = range(volume.pixels.shape[0]) if slices is None else slices
    lab = tuple(labelled) if labelled is not None else tuple(range(N_CLASSES))
    out = SegSlices()
    for s in idx:
        out.images.append(
            resample_image(normalise_slice(view.to_display(volume.pixels[s]), intensity), size)
        )
        t = soft_targets(
            view.to_display(mask[s]),
            size,
            ignore_value=ignore_value if ignore_value is not None else 255,
        )
        out.targets.append(np.round(t * 255).astype(np.uint8))
        out.labelled.append(lab)
        out.positive_only.append(tuple(positive_only))
    return out


def _crop(
    img: np.ndarray, tgt: np.ndarray, patch: int, rng: np.random.Generator, focus: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """A patch, padded where the slice is smaller (padding is ignored); centred on a
    pixel of a ``focus`` class three times in four: the classes of interest are small."""
    h, w = img.shape
    ph, pw = max(0, patch - h), max(0, patch - w)
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw)))
        tgt = np.pad(tgt, ((0, 0), (0, ph), (0, pw)))
        tgt[IGNORE_CHANNEL, h:, :] = 255
        tgt[IGNORE_CHANNEL, :, w:] = 255
        h, w = img.shape
    cy, cx = int(rng.integers(h)), int(rng.integers(w))
    if rng.random() < 0.75 and focus:
        fg = np.argwhere(tgt[list(focus)].sum(0) > 128)
        if len(fg):
            cy, cx = fg[rng.integers(len(fg))]
    y0 = int(np.clip(cy - patch // 2 + rng.integers(-patch // 4, patch // 4 + 1), 0, h - patch))
    x0 = int(np.clip(cx - patch // 2 + rng.integers(-patch // 4, patch // 4 + 1), 0, w - patch))
    return img[y0 : y0 + patch, x0 : x0 + patch], tgt[:, y0 : y0 + patch, x0 : x0 + patch]


@dataclass
class SegSources:
    """What a training batch is drawn from, and in what shares (normalised)."""

    bank: LabelMapBank | None = None
    randomisation: RandomisationConfig | None = None
    archive: SegSlices | None = None
    real: SegSlices | None = None
    shares: dict[str, float] = field(default_factory=lambda: {"synthetic": 1.0})

    def kinds(self) -> list[str]:
        have = {
            "synthetic": self.bank is not None,
            "archive": bool(self.archive and self.archive.images),
            "real": bool(self.real and self.real.images),
        }
        return [k for k, v in self.shares.items() if v > 0 and have.get(k)]


def _intensity_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gain, gamma and noise for images that are already real (or rendered)."""
    g = float(rng.uniform(0.7, 1.5))
    img = np.sign(img) * np.abs(img) ** g * float(rng.uniform(0.85, 1.15))
    return img + float(rng.uniform(0.0, 0.05)) * rng.standard_normal(img.shape).astype(np.float32)


def make_batch(
    sources: SegSources,
    batch: int,
    patch: int,
    rng: np.random.Generator,
    work_spacing: float,
    augment: bool = True,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images (B,1,P,P), targets (B,N_CLASSES+1,P,P), labelled (B,N_CLASSES) int8:
    ``partial_label_loss``'s class states).
    ``intensity`` scales the synthetic renders; the other sources' slices come scaled."""
    kinds = sources.kinds()
    if not kinds:
        raise ValueError("no training data: neither label maps nor slices with masks")
    p = np.array([sources.shares[k] for k in kinds], dtype=float)
    xs, ts, ls = [], [], []
    for _ in range(batch):
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        if kind == "synthetic":
            # kinds() offered "synthetic" because there is a bank; callers pass its randomisation.
            assert sources.bank is not None and sources.randomisation is not None  # noqa: S101
            i = int(rng.integers(len(sources.bank.tissues)))
            img, frac = render_sample(sources.bank, i, rng, sources.randomisation, work_spacing)
            img = normalise_slice(img, intensity)
            tgt = np.zeros((N_CLASSES + 1, *img.shape), np.uint8)
            tgt[:N_CLASSES] = np.round(frac * 255)
            labelled = tuple(range(N_CLASSES))
            positive: tuple[int, ...] = ()
        else:
            data = sources.archive if kind == "archive" else sources.real
            assert data is not None  # (kinds() offers only sources with slices)  # noqa: S101
            i = int(rng.integers(len(data.images)))
            img, tgt, labelled = data.images[i], data.targets[i], data.labelled[i]
            positive = data.positive_only[i] if data.positive_only else ()
            if augment:
                img = _intensity_jitter(img, rng)
        focus = [c for c in labelled if c != BACKGROUND] or [VERTEBRA, DISC, CANAL]
        img, tgt = _crop(img, tgt, patch, rng, focus)
        xs.append(img)
        ts.append(tgt)
        ls.append(
            [
                LABELLED if c in labelled else POSITIVE_ONLY if c in positive else UNLABELLED
                for c in range(N_CLASSES)
            ]
        )
    x = torch.from_numpy(np.stack(xs)[:, None].astype(np.float32))
    t = torch.from_numpy(np.stack(ts).astype(np.float32) / 255.0)
    if augment:
        x, t = _spatial(x, t, rng)
    return x, t, torch.tensor(ls, dtype=torch.int8)


def _spatial(
    x: torch.Tensor, t: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Small rotations and scalings (MONAI RandAffine), the same for image and target.
    No flips: the network may rely on head up and back to the right, as every
    sagittal series is displayed."""
    from monai.transforms import RandAffine  # monai takes seconds to import: loaded to train

    aff = RandAffine(
        prob=0.8,
        rotate_range=(0.2,),
        scale_range=((0.15, 0.15)),
        padding_mode="zeros",
        mode="bilinear",
    )
    outs_x, outs_t = [], []
    for b in range(x.shape[0]):
        aff.set_random_state(int(rng.integers(2**31)))
        both = torch.cat([x[b], t[b]], 0)
        moved = torch.as_tensor(aff(both))
        img, tgt = moved[:1], moved[1:]
        # what moved in from outside the patch is ignored, not background
        lost = (1.0 - tgt.sum(0, keepdim=True)).clamp(0.0, 1.0)
        tgt = torch.cat([tgt[:N_CLASSES], (tgt[N_CLASSES:] + lost).clamp(0.0, 1.0)], 0)
        outs_x.append(img)
        outs_t.append(tgt)
    return torch.stack(outs_x), torch.stack(outs_t)


def train_segmentation(
    model: nn.Module,
    sources: SegSources,
    *,
    steps: int,
    work_spacing: float,
    batch: int = 12,
    patch: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    stage: str = "segmentation",
    progress: Callable[[dict], None] | None = None,
    time_budget_s: float | None = None,
    log_every: int = 50,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> list[dict]:
    """AdamW with a one-cycle schedule over ``steps``; a history record every
    ``log_every`` steps (the mean training loss). Stops early at ``time_budget_s``."""
    dev = device()
    model.to(dev)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.15
    )
    history: list[dict] = []
    t0 = time.perf_counter()
    losses: list[float] = []
    model.train()
    for step in range(1, steps + 1):
        x, t, lab = make_batch(sources, batch, patch, rng, work_spacing, intensity=intensity)
        loss = partial_label_loss(model(x.to(dev)), t.to(dev), lab.to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        elapsed = time.perf_counter() - t0
        over = time_budget_s is not None and elapsed > time_budget_s
        if step % log_every == 0 or step == steps or over:
            rec = {
                "stage": stage,
                "epoch": step // log_every or 1,
                "step": step,
                "train_loss": float(np.mean(losses)),
                "elapsed_s": elapsed,
            }
            losses = []
            history.append(rec)
            if progress:
                progress(rec)
        if over:
            break
    model.cpu().eval()
    return history


def _argmax_classes(logits: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(1)`` as uint8, by a running maximum over the few channels: torch's
    argmax over the channel axis of a (B, C, H, W) tensor strides across memory and took
    1.6 of 4.1 s for a 77-slice real volume (measured)."""
    best = logits[:, 0].clone()
    out = torch.zeros(best.shape, dtype=torch.uint8, device=logits.device)
    for c in range(1, logits.shape[1]):
        higher = logits[:, c] > best
        best = torch.where(higher, logits[:, c], best)
        out[higher] = c
    return out


def reading_slices(
    n_slices: int, slice_distance_mm: float, max_distance_mm: float | None
) -> np.ndarray:
    """Indices of the slices the network reads: every k-th slice, with k the largest whole
    step no more than ``max_distance_mm`` apart (1 for slices that far apart or more, or
    without a limit), and always the last slice, so no slice lies beyond a read one."""
    if n_slices < 1:
        raise ValueError("a series needs at least one slice")
    step = 1
    if max_distance_mm is not None and slice_distance_mm > 0:
        step = max(1, int(np.floor(max_distance_mm / slice_distance_mm + 1e-6)))
    return np.unique(np.r_[np.arange(0, n_slices, step), n_slices - 1])


def _between_read_slices(
    last: tuple[int, dict[str, torch.Tensor]] | None,
    indices: Sequence[int],
    fields: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Each field (read slices first) for every slice from the one after ``last`` (the
    previous read slice and its fields) to ``indices[-1]``: the read slices' own values,
    and those in between linearly interpolated by position from the read slices either
    side. One slice at a time: gathering whole stacks for the interpolation took a third
    of the stage (measured)."""
    anchors = list(indices) if last is None else [last[0], *indices]
    start = anchors[0] if last is None else last[0] + 1
    out = {}
    for name, values in fields.items():
        known = list(values) if last is None else [last[1][name][0], *values]
        full = values.new_empty((anchors[-1] + 1 - start, *values.shape[1:]))
        for j, s in enumerate(indices):
            full[s - start] = values[j]
        for (a, known_a), (b, known_b) in itertools.pairwise(zip(anchors, known, strict=True)):
            for s in range(a + 1, b):
                torch.lerp(known_a, known_b, (s - a) / (b - a), out=full[s - start])
        out[name] = full
    return out


def _ceil16(n: int) -> int:
    return int(np.ceil(n / 16) * 16)


@dataclass
class MultiScaleReading:
    """One series read by the network at several working spacings, on the stored grid."""

    classes: np.ndarray  # (S, R, C) uint8: argmax of the readings' mean class probabilities
    canal: np.ndarray  # (S, R, C) float32: the first reading's canal probability
    # the own classes of the readings asked for (``own_classes``), by index into the spacings
    each: dict[int, np.ndarray]
    # (S, R, C) uint8: the argmax of the mean probabilities weighed by ``class_scale``, when
    # one is given that is not all ones (``classes`` and ``each`` are never weighed)
    outline: np.ndarray | None = None
    # (S, N_CLASSES, R, C) float16: the readings' mean class probabilities, unweighed, when
    # asked for (``keep_probabilities``)
    probabilities: np.ndarray | None = None


@torch.no_grad()
def predict_volume_multiscale(
    model: nn.Module,
    volume: Volume,
    work_spacings: Sequence[float],
    batch: int = 8,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
    own_classes: Sequence[int] = (),
    class_scale: Sequence[float] | None = None,
    keep_probabilities: bool = False,
    max_slice_distance_mm: float | None = None,
) -> MultiScaleReading:
    """Read every slice at each working spacing and average the class probabilities;
    ``own_classes`` (indices into ``work_spacings``) also keeps those readings' own classes.
    ``class_scale`` (one factor per class) also gives the argmax of the weighed mean
    (``outline``): a model's fitted correction of a class it outlines too large
    (:func:`fit_class_scale`); the classes, each reading's own and the canal probability
    stay unweighed.

    Each slice goes through MONAI's sliding-window inference with one window the size
    of the (padded) slice, up to 384 working pixels a side: a slice that fits is one
    forward pass, a larger one is tiled rather than refused. Each slice is read the way
    round the network learnt (head up, front left: ``volume.sagittal_display_view``)
    whatever way the series stores it, and the outputs are put back on the stored grid.

    Why the mean of two scales: on the cross-validated real volumes the argmax of the
    mean of the 1.25 and 1.1 mm readings segmented discs and vertebral bodies better
    than either reading alone (disc Dice 0.808 -> 0.820, body 0.872 -> 0.885). The
    canal probability stays the first reading's: the AP calibration was fitted on it.

    ``max_slice_distance_mm``: a series of thinner slices is read only on every k-th slice
    (:func:`reading_slices`), and each slice between two read ones gets their readings'
    probabilities interpolated by distance; None reads every slice."""
    # monai (seconds, with pandas and scikit-learn): loaded by a worker's first prediction.
    from monai.inferers import sliding_window_inference

    if not work_spacings:
        raise ValueError("at least one working spacing is needed")
    if any(not 0 <= k < len(work_spacings) for k in own_classes):
        raise ValueError(f"own_classes {list(own_classes)} must index the working spacings")
    weigh = _class_weighing(class_scale)
    dev = device()
    # Channels-last convolutions: the segment stage of real 77-slice 381 x 381 volumes
    # 4.33 -> 3.83 s (vb2_05), 1.27 -> 1.15 s (221 x 221 ivd_11) on 2 Intel cores, with
    # the same classes (1 voxel in 11 million differed) and canal probabilities within
    # 1e-5. The logits go back to the default layout for the per-class steps below.
    # (Module.to takes memory_format at run time; its type stubs leave it out)
    model.to(dev, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]

    def predictor(x: torch.Tensor) -> torch.Tensor:
        return model(x.contiguous(memory_format=torch.channels_last)).contiguous()

    view = sagittal_display_view(volume)  # the network reads head up, front left
    grids = [_display_grid(volume, view, spacing) for spacing in work_spacings]
    shape = volume.pixels.shape
    read = reading_slices(shape[0], volume.slice_distance_mm(), max_slice_distance_mm)
    classes = np.zeros(shape, dtype=np.uint8)
    canal = np.zeros(shape, np.float32)
    each = {k: np.zeros(shape, dtype=np.uint8) for k in own_classes}
    mean = np.zeros((shape[0], N_CLASSES, *shape[1:]), np.float16) if keep_probabilities else None
    outline = None if weigh is None else np.zeros(shape, dtype=np.uint8)
    last: tuple[int, dict[str, torch.Tensor]] | None = None  # the last read slice's fields
    for b0 in range(0, len(read), batch):
        indices = [int(s) for s in read[b0 : b0 + batch]]
        display = [normalise_slice(view.to_display(volume.pixels[s]), intensity) for s in indices]
        fields: dict[str, torch.Tensor] = {}
        for k, (native, size) in enumerate(grids):
            roi = (min(384, _ceil16(size[0])), min(384, _ceil16(size[1])))
            x = torch.from_numpy(np.stack([resample_image(img, size) for img in display])[:, None])
            logits = sliding_window_inference(
                x.to(dev), roi_size=roi, sw_batch_size=batch, predictor=predictor, overlap=0.25
            )
            probs = F.interpolate(
                torch.as_tensor(logits), size=native, mode="bilinear", align_corners=False
            ).softmax(1)
            if k == 0:
                # copies: the later readings are added to this one in place
                fields["canal"] = probs[:, CANAL : CANAL + 1].clone()
                if k in each:
                    fields["own0"] = probs.clone()
                fields["total"] = probs
            else:
                if k in each:
                    fields[f"own{k}"] = probs
                # summed in place: the argmax of the sum is that of the mean, and neither
                # a stack of the readings nor unused own classes are made (the segment
                # stage of the 22 real 1 mm volumes: 3.73 -> 3.49 s median, measured)
                fields["total"] += probs
        first = indices[0] if last is None else last[0] + 1
        rows = slice(first, indices[-1] + 1)
        if rows.stop - rows.start > len(indices):
            fields = _between_read_slices(last, indices, fields)
        last = (indices[-1], {name: f[-1:] for name, f in fields.items()})
        total = fields["total"]
        for k in each:
            each[k][rows] = view.from_display(_argmax_classes(fields[f"own{k}"]).cpu().numpy())
        canal[rows] = view.from_display(fields["canal"][:, 0].cpu().numpy())
        if mean is not None:
            averaged = (total / len(grids)).cpu().numpy()
            mean[rows] = np.stack(
                [view.from_display(averaged[:, c]) for c in range(averaged.shape[1])], axis=1
            )
        classes[rows] = view.from_display(_argmax_classes(total).cpu().numpy())
        if outline is not None and weigh is not None:
            outline[rows] = view.from_display(_argmax_classes(weigh(total)).cpu().numpy())
    model.to("cpu", memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    return MultiScaleReading(
        classes=classes, canal=canal, each=each, outline=outline, probabilities=mean
    )


def _class_weighing(
    class_scale: Sequence[float] | None,
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """(B, C, H, W) probabilities -> the same weighed per class; None when there is
    nothing to weigh (no factors, or all 1)."""
    if class_scale is None or all(f == 1.0 for f in class_scale):
        return None
    if len(class_scale) != N_CLASSES or any(f <= 0 for f in class_scale):
        raise ValueError(f"class_scale needs {N_CLASSES} positive factors, not {class_scale}")
    factors = torch.tensor(list(class_scale), dtype=torch.float32).view(1, -1, 1, 1)
    return lambda probs: probs * factors.to(probs.device)


# Factors tried for a class's probability (fit_class_scale): 1 keeps the network's outline,
# smaller ones shrink it; log-spaced down to a tenth.
CLASS_SCALE_GRID: tuple[float, ...] = (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.13, 0.1)


def fit_class_scale(
    readings: Sequence[tuple[np.ndarray, np.ndarray]],
    cls: int,
    *,
    ignore_value: int,
    grid: Sequence[float] = CLASS_SCALE_GRID,
) -> tuple[float, dict[float, float]]:
    """The factor on class ``cls``'s probability that gives the best mean Dice of that
    class over ``readings`` ((mean probabilities (S, N_CLASSES, R, C), reference mask with
    ``ignore_value`` where it labels nothing)), and the mean Dice at every factor tried.

    Why: fine-tuned on real volumes whose masks outline discs tightly, the network still
    outlines real discs some 30% larger than those masks, on the volumes it trained on as
    well as on held-out ones (its synthetic label maps draw discs larger); a factor below
    1 on the disc probability moves the outline to where the masks put it."""
    if not readings:
        raise ValueError("no readings to fit on")
    dice: dict[float, list[float]] = {f: [] for f in grid}
    for probs, mask in readings:
        valid = mask != ignore_value
        truth = (mask == cls) & valid
        own = probs[:, cls].astype(np.float32)
        others = np.delete(probs, cls, axis=1).max(axis=1).astype(np.float32)
        for f in grid:
            pred = (own * f > others) & valid
            denom = int(pred.sum()) + int(truth.sum())
            dice[f].append(2.0 * float((pred & truth).sum()) / denom if denom else 1.0)
    means = {f: float(np.mean(v)) for f, v in dice.items()}
    best = max(grid, key=lambda f: (means[f], f))  # a tie keeps the larger (gentler) factor
    return float(best), means


def predict_volume(
    model: nn.Module,
    volume: Volume,
    work_spacing: float = 1.25,
    return_probs: bool = False,
    batch: int = 8,
    *,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Native-grid class masks (S, R, C) uint8 read at one working spacing; with
    ``return_probs`` also the canal probability (S, R, C) float32, which the measurement
    uses for sub-pixel edges (:func:`predict_volume_multiscale`)."""
    reading = predict_volume_multiscale(model, volume, (work_spacing,), batch, intensity=intensity)
    return (reading.classes, reading.canal) if return_probs else reading.classes
