"""``train_all``: patient-level split, segmentation, then both classifiers.

The split is by patient (DICOM PatientID), never by study or level: the five
levels of a study, and a patient's repeat studies, share anatomy and would leak
between train and validation otherwise.

Semi-supervised classifiers: gold labels are trusted (weight 1); labels the NLP
labeller read from reports count less (the study's ``weight``, 0.5 from the
archive). With pseudo-labelling on (``TrainSettings.pseudo_label``; by default
whenever the training split has both gold- and NLP-labelled studies) each
classifier first trains ``pseudo_warmup_epochs`` on those targets; then, for the
NLP-labelled samples only, every target the model predicts confidently
(probability >= ``pseudo_threshold`` or <= 1 - it) is replaced by its prediction,
and a sample with any detector it is unsure of keeps its NLP targets at
``pseudo_uncertain_weight`` x its weight; the remaining epochs train on that. Gold
samples are never changed. The history gets one ``<name>_pseudo`` record with the
counts (targets replaced, confirmed; samples down-weighted).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.ml.bundle import ModelConfig, TrainedModels, build_models
from inference.ml.classes import DISC, SACRUM
from inference.ml.classification import (
    CANAL_DETECTORS,
    CropSet,
    pseudo_relabel,
    train_classifier,
)
from inference.ml.crops import (
    CANAL_SERIES_CHANNELS,
    FORAMEN_SERIES_CHANNELS,
    CropConfig,
    canal_crop,
    foramen_crop,
)
from inference.ml.data import StudyData, load_study_dir
from inference.ml.domain_randomisation import LabelMapBank, RandomisationConfig, build_bank
from inference.ml.intensity import DEFAULT_INTENSITY, IntensityScaling
from inference.ml.localisation import localise
from inference.ml.measurement import ap_diameter
from inference.ml.pipeline import READ_SLICE_DISTANCE_MM, assign_axials, reading_spacings
from inference.ml.real_data import IGNORE, RealVolume
from inference.ml.segmentation import (
    SegSlices,
    SegSources,
    fit_class_scale,
    predict_volume,
    predict_volume_multiscale,
    prepare_slices,
    train_segmentation,
)
from spine.findings import detector_targets
from spine.labels import LEVELS


@dataclass
class SegRecipe:
    """How the segmentation network is trained (recorded with the model).

    Pre-training sees only randomised synthetic label maps (and the archive's rendered
    studies, if any); fine-tuning mixes in the real volumes with their partial masks,
    keeping synthetic batches in the mix so the classes real masks lack (canal,
    sacrum) are not forgotten. Pre-training uses no real data, so cross-validation
    folds may share it.
    """

    pretrain_steps: int = 1500
    finetune_steps: int = 900
    batch: int = 12
    patch: int = 128
    lr: float = 3e-3
    finetune_lr: float = 1e-3
    bank_anatomies: int = 40
    bank_slices_per_anatomy: int = 8
    pretrain_shares: dict[str, float] = field(
        default_factory=lambda: {"synthetic": 0.8, "archive": 0.2}
    )
    finetune_shares: dict[str, float] = field(
        default_factory=lambda: {"synthetic": 0.4, "archive": 0.1, "real": 0.5}
    )
    randomisation: dict = field(default_factory=lambda: RandomisationConfig().as_dict())
    # Fine-tuning labels the S1 bone under each real volume's L5 body or L5-S1 disc as
    # sacrum (positive only: RealVolume.sacrum_core); the real masks do not label it.
    real_sacrum_cores: bool = True


@dataclass
class TrainSettings:
    seg: SegRecipe = field(default_factory=SegRecipe)
    clf_epochs: int | None = None
    canal_epochs: int | None = None  # overrides clf_epochs for the canal classifier
    clf_batch: int = 32
    clf_lr: float = 2e-3
    n_aug: int = 3  # crop versions per sample: the exact one + jittered (+-2 mm) ones
    jitter_mm: float = 2.0
    # Pseudo-labelling of NLP-labelled samples (see the module docstring); None: on when
    # the training crops include both gold- and NLP-labelled samples.
    pseudo_label: bool | None = None
    pseudo_threshold: float = 0.9
    pseudo_warmup_epochs: int = 1
    pseudo_uncertain_weight: float = 0.5
    # Share of training crops that lose each optional series (sagittal T1, the level's
    # axials), as studies without it give them (classification.drop_series).
    absent_series_rate: float = 0.3


def as_studies(items: Sequence[StudyData | str | Path]) -> list[StudyData]:
    return [s if isinstance(s, StudyData) else load_study_dir(s) for s in items]


def patient_split(
    studies: Sequence[StudyData], split: tuple[float, float] = (0.8, 0.2), seed: int = 0
) -> tuple[list[StudyData], list[StudyData]]:
    """Shuffle *patients* (seeded) and give the first ``split[0]`` share to training."""
    patients = sorted({s.patient_id for s in studies})
    rng = np.random.default_rng(seed)
    rng.shuffle(patients)
    n_train = round(len(patients) * split[0] / sum(split))
    if len(patients) > 1:
        n_train = min(max(n_train, 1), len(patients) - 1)
    train_ids = set(patients[:n_train])
    return (
        [s for s in studies if s.patient_id in train_ids],
        [s for s in studies if s.patient_id not in train_ids],
    )


def _study_crops(
    st: StudyData,
    mask: np.ndarray,
    cfg: CropConfig,
    n_aug: int,
    jitter: float,
    rng: np.random.Generator,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
) -> tuple[CropSet, CropSet] | None:
    loc = localise(st.sag_t2, mask)
    if not loc.ok or not st.labels:
        return None
    discs = loc.by_level()
    axials = st.axials or assign_axials(st.axial_series, discs)
    cx, cy, fx, fy, ids, fids = [], [], [], [], [], []
    for lv in LEVELS:
        lab = st.labels.get(lv)
        if lab is None or lv not in discs:
            continue
        d = discs[lv]
        jit = [None] + [rng.uniform(-jitter, jitter, 3) for _ in range(n_aug - 1)]
        cx.append(
            np.stack(
                [
                    canal_crop(st.sag_t2, st.sag_t1, axials.get(lv), d, cfg, j, intensity=intensity)
                    for j in jit
                ]
            )
        )
        det = detector_targets(lab)
        cy.append([float(det[name]) for name in CANAL_DETECTORS])
        ids.append(f"{st.key}:{lv}")
        for side in ("left", "right"):
            fx.append(
                np.stack(
                    [
                        foramen_crop(
                            st.sag_t2, axials.get(lv), d, side, cfg, j, intensity=intensity
                        )
                        for j in jit
                    ]
                )
            )
            fy.append([float(det[f"foraminal_stenosis_{side}"])])
            fids.append(f"{st.key}:{lv}:{side}")
    if not cx:
        return None
    w = np.float32(st.weight)
    return (
        CropSet(
            np.stack(cx),
            np.array(cy, np.float32),
            np.full(len(cx), w),
            ids,
            np.full(len(cx), st.nlp_labels),
        ),
        CropSet(
            np.stack(fx),
            np.array(fy, np.float32),
            np.full(len(fx), w),
            fids,
            np.full(len(fx), st.nlp_labels),
        ),
    )


def build_crop_sets(
    studies: Sequence[StudyData],
    seg_model: torch.nn.Module | None,
    config: ModelConfig,
    settings: TrainSettings,
    seed: int,
) -> tuple[CropSet, CropSet]:
    """Crops of every labelled level; discs come from the ground-truth mask when the
    study has one, otherwise from the trained segmentation model."""
    rng = np.random.default_rng(seed)
    canal = CropSet(np.zeros((0,)), np.zeros((0, 3), np.float32))
    foramen = CropSet(np.zeros((0,)), np.zeros((0, 1), np.float32))
    cfg = config.crop_config()
    intensity = config.intensity()
    for st in studies:
        mask = st.sag_mask
        if mask is None and seg_model is not None:
            mask = predict_volume(seg_model, st.sag_t2, config.work_spacing_mm, intensity=intensity)  # type: ignore[assignment]  # no return_probs: masks
        if mask is None:
            continue
        res = _study_crops(st, mask, cfg, settings.n_aug, settings.jitter_mm, rng, intensity)
        if res is None:
            continue
        canal = canal.concat(res[0])
        foramen = foramen.concat(res[1])
    return canal, foramen


def calibrate_ap(
    seg: torch.nn.Module, studies: Sequence[StudyData], config: ModelConfig
) -> tuple[list[float], int]:
    """Fit measured -> true AP (``a * x + b``) on validation studies with truth, and say
    on how many levels; falls back to an offset only when the slope is implausible, and
    to no correction (``[1, 0]``, 0 levels) under 5 levels. Studies from the archive
    carry no AP truth (only the generator's folders do), so a model trained through the
    app is not calibrated, and its record says so rather than showing ``[1, 0]`` as a fit."""
    xs, ys = [], []
    for st in studies:
        if not st.ap_diameter_mm:
            continue
        masks, canal = predict_volume(
            seg, st.sag_t2, config.work_spacing_mm, return_probs=True, intensity=config.intensity()
        )
        loc = localise(st.sag_t2, masks)
        if not loc.ok:
            continue
        for lv, d in loc.by_level().items():
            raw = ap_diameter(st.sag_t2, canal[d.slice_index], d)
            if raw > 0 and lv in st.ap_diameter_mm:
                xs.append(raw)
                ys.append(st.ap_diameter_mm[lv])
    if len(xs) < 5:
        return [1.0, 0.0], 0
    x, y = np.array(xs), np.array(ys)
    a, b = np.polyfit(x, y, 1)
    if not 0.85 <= a <= 1.15:
        a, b = 1.0, float(np.median(y - x))
    return [float(a), float(b)], len(xs)


def fit_disc_scale(
    seg: torch.nn.Module, real: Sequence[RealVolume], config: ModelConfig
) -> tuple[float, dict[float, float]]:
    """The disc probability factor (``ModelConfig.disc_probability_scale``) that best fits
    these real volumes' disc masks, read as the pipeline reads a series (both readings,
    thin series on every k-th slice: ``pipeline.segment``), and the mean disc Dice at
    each factor tried."""
    readings = []
    for r in real:
        reading = predict_volume_multiscale(
            seg,
            r.volume,
            reading_spacings(config),
            intensity=config.intensity(),
            keep_probabilities=True,
            max_slice_distance_mm=READ_SLICE_DISTANCE_MM,
        )
        assert reading.probabilities is not None  # (asked for)  # noqa: S101
        readings.append((reading.probabilities, r.mask))
    return fit_class_scale(readings, DISC, ignore_value=IGNORE)


def use_pseudo_labels(train: CropSet, settings: TrainSettings) -> bool:
    if settings.pseudo_label is not None:
        return settings.pseudo_label and bool(train.nlp.any())
    return bool(train.nlp.any() and (~train.nlp).any())


def train_semi_supervised(
    net: torch.nn.Module,
    train: CropSet,
    val: CropSet | None,
    epochs: int,
    settings: TrainSettings,
    seed: int,
    name: str,
    progress: Callable[[dict], None] | None = None,
    absent_series: Sequence[Sequence[int]] = (),
) -> CropSet:
    """One classifier: warm-up, pseudo-labels for the NLP-labelled samples, the rest of
    the epochs (or plain weighted training when pseudo-labelling is off). Returns the
    targets and weights the last epochs trained on. ``absent_series``: the crop
    channel groups of the series a study may lack (crops.CANAL_SERIES_CHANNELS), dropped
    at random in training (classification.drop_series)."""
    warmup = settings.pseudo_warmup_epochs
    fit = partial(
        train_classifier,
        net,
        val=val,
        batch=settings.clf_batch,
        lr=settings.clf_lr,
        name=name,
        progress=progress,
        absent_series=absent_series,
        absent_rate=settings.absent_series_rate,
    )
    if not use_pseudo_labels(train, settings) or epochs <= warmup:
        fit(train, epochs=epochs, seed=seed)
        return train
    fit(train, epochs=warmup, seed=seed)
    result = pseudo_relabel(net, train, settings.pseudo_threshold, settings.pseudo_uncertain_weight)
    if progress:
        progress(
            {
                "stage": f"{name}_pseudo",
                "epoch": warmup,
                "replaced": result.replaced,
                "confirmed": result.confirmed,
                "downweighted": result.downweighted,
                "nlp_samples": int(train.nlp.sum()),
            }
        )
    fit(result.data, epochs=epochs - warmup, seed=seed + 1, first_epoch=warmup + 1)
    return result.data


def real_slices(
    volumes: Sequence[RealVolume],
    work_spacing: float,
    intensity: IntensityScaling = DEFAULT_INTENSITY,
    *,
    sacrum_cores: bool = True,
) -> SegSlices:
    """Working-grid slices of real volumes with their partial targets: the slices that
    show a labelled structure, plus every fourth of the rest (so that "nothing here"
    is learnt too). With ``sacrum_cores`` a volume's sacrum core
    (``RealVolume.sacrum_core``) is added as a positive-only sacrum label."""
    out = SegSlices()
    for real in volumes:
        mask = real.mask
        positive: tuple[int, ...] = ()
        if sacrum_cores and real.sacrum_core is not None:
            mask = mask.copy()
            core = tuple(real.sacrum_core.T)
            mask[core] = np.where(np.isin(mask[core], (0, IGNORE)), SACRUM, mask[core])
            positive = (SACRUM,)
        has = [(mask[s] != IGNORE) & (mask[s] > 0) for s in range(mask.shape[0])]
        keep = [s for s, h in enumerate(has) if h.any() or s % 4 == 0]
        out.extend(
            prepare_slices(
                real.volume,
                mask,
                work_spacing,
                slices=keep,
                labelled=real.labelled,
                ignore_value=IGNORE,
                intensity=intensity,
                positive_only=positive,
            )
        )
    return out


def make_bank(config: ModelConfig, recipe: SegRecipe, seed: int) -> LabelMapBank:
    return build_bank(
        n_anatomies=recipe.bank_anatomies,
        slices_per_anatomy=recipe.bank_slices_per_anatomy,
        work_spacing_mm=config.work_spacing_mm,
        config=RandomisationConfig.from_dict(recipe.randomisation),
        seed=seed,
    )


def train_segmenter(
    seg: torch.nn.Module,
    config: ModelConfig,
    recipe: SegRecipe,
    *,
    seed: int,
    archive: SegSlices | None = None,
    real: Sequence[RealVolume] = (),
    pretrained: dict | None = None,
    bank: LabelMapBank | None = None,
    progress: Callable[[dict], None] | None = None,
) -> None:
    """Pre-train (unless ``pretrained`` weights are given), then fine-tune on the real
    volumes when there are any; trains ``seg`` in place."""
    bank = bank or make_bank(config, recipe, seed)
    randomisation = RandomisationConfig.from_dict(recipe.randomisation)
    common: dict[str, Any] = {
        "work_spacing": config.work_spacing_mm,
        "batch": recipe.batch,
        "patch": recipe.patch,
        "progress": progress,
        "intensity": config.intensity(),
    }
    if pretrained is not None:
        seg.load_state_dict(pretrained)
    else:
        train_segmentation(
            seg,
            SegSources(
                bank=bank,
                randomisation=randomisation,
                archive=archive,
                shares=recipe.pretrain_shares,
            ),
            steps=recipe.pretrain_steps,
            lr=recipe.lr,
            seed=seed,
            stage="segmentation",
            **common,
        )
    if real:
        train_segmentation(
            seg,
            SegSources(
                bank=bank,
                randomisation=randomisation,
                archive=archive,
                real=real_slices(
                    real,
                    config.work_spacing_mm,
                    config.intensity(),
                    sacrum_cores=recipe.real_sacrum_cores,
                ),
                shares=recipe.finetune_shares,
            ),
            steps=recipe.finetune_steps,
            lr=recipe.finetune_lr,
            seed=seed + 7,
            stage="segmentation_finetune",
            **common,
        )


# The history records of the segmentation network's training, which a model that reuses
# the network (train_all's segmentation_from) carries over.
SEGMENTATION_STAGES = frozenset(
    {
        "seg_recipe",
        "segmentation",
        "segmentation_finetune",
        "disc_probability_scale",
        "ap_calibration",
    }
)


def with_segmentation_of(config: ModelConfig, source: ModelConfig) -> ModelConfig:
    """``config`` with the segmentation network's settings taken from ``source``."""
    return replace(
        config,
        work_spacing_mm=source.work_spacing_mm,
        seg_arch=dict(source.seg_arch),
        ap_calibration=list(source.ap_calibration),
        disc_probability_scale=source.disc_probability_scale,
        preprocessing=dict(source.preprocessing),
    )


def _train_segmentation_stage(
    seg: torch.nn.Module,
    config: ModelConfig,
    settings: TrainSettings,
    train: Sequence[StudyData],
    val: Sequence[StudyData],
    *,
    real: Sequence[RealVolume],
    pretrained: dict | None,
    seed: int,
    note: Callable[[dict], None],
) -> None:
    """Pre-train (unless ``pretrained``) and fine-tune ``seg``, then fit the disc factor
    and the AP calibration into ``config``."""
    with_mask_train = [s for s in train if s.sag_mask is not None]
    with_mask_val = [s for s in val if s.sag_mask is not None]

    def slices(group: Sequence[StudyData]) -> SegSlices:
        out = SegSlices()
        for s in group:
            assert s.sag_mask is not None  # the groups hold the studies with masks  # noqa: S101
            out.extend(
                prepare_slices(
                    s.sag_t2, s.sag_mask, config.work_spacing_mm, intensity=config.intensity()
                )
            )
        return out

    recipe = settings.seg
    note(
        {
            "stage": "seg_recipe",
            "epoch": 0,
            **asdict(recipe),
            "real_volumes": sorted(r.key for r in real),
            "pretrained_given": pretrained is not None,
        }
    )
    train_segmenter(
        seg,
        config,
        recipe,
        seed=seed,
        archive=slices(with_mask_train) if with_mask_train else None,
        real=real,
        pretrained=pretrained,
        progress=note,
    )

    if with_discs := [r for r in real if DISC in r.labelled]:
        config.disc_probability_scale, dice_by_scale = fit_disc_scale(seg, with_discs, config)
        note(
            {
                "stage": "disc_probability_scale",
                "epoch": 0,
                "scale": config.disc_probability_scale,
                "real_volumes": sorted(r.key for r in with_discs),
                "disc_dice_by_scale": {str(f): round(d, 4) for f, d in dice_by_scale.items()},
            }
        )

    if with_mask_val:
        config.ap_calibration, fitted_on = calibrate_ap(seg, with_mask_val, config)
        note(
            {
                "stage": "ap_calibration",
                "epoch": 0,
                "a": config.ap_calibration[0],
                "b": config.ap_calibration[1],
                "levels": fitted_on,
            }
        )


def train_all(
    study_dirs_or_arrays: Sequence[StudyData | str | Path],
    split: tuple[float, float] = (0.8, 0.2),
    epochs: int = 10,
    seed: int = 0,
    progress_callback: Callable[[dict], None] | None = None,
    config: ModelConfig | None = None,
    settings: TrainSettings | None = None,
    real: Sequence[RealVolume] = (),
    pretrained: dict | None = None,
    segmentation_from: TrainedModels | None = None,
) -> TrainedModels:
    """Train segmentation + canal + foraminal models; history has one record per
    epoch and stage with train/val loss and accuracy (the paper's Figure 6).

    ``segmentation_from``: keep that model's segmentation network as it is (with its
    working spacing, disc factor and AP calibration, its training records and the real
    volumes it saw) and train the classifiers only: new labels or a new classifier
    recipe need minutes, not a fine-tuning whose readings of real scans move from one
    run to the next."""
    t_start = time.perf_counter()
    torch.manual_seed(seed)
    config = config or ModelConfig()
    settings = settings or TrainSettings()
    studies = as_studies(study_dirs_or_arrays)
    train, val = patient_split(studies, split, seed)
    if segmentation_from is not None:
        if real or pretrained is not None:
            raise ValueError(
                "segmentation_from keeps a trained network; real volumes and pre-trained "
                "weights are for training one"
            )
        config = with_segmentation_of(config, segmentation_from.config)
    seg, canal_net, foramen_net = build_models(config)
    history: list[dict] = []

    def note(rec: dict) -> None:
        history.append(rec)
        if progress_callback:
            progress_callback(rec)

    if segmentation_from is None:
        _train_segmentation_stage(
            seg,
            config,
            settings,
            train,
            val,
            real=real,
            pretrained=pretrained,
            seed=seed,
            note=note,
        )
        real_train = sorted(r.key for r in real)
    else:
        seg.load_state_dict(segmentation_from.seg.state_dict())
        for rec in segmentation_from.history:
            if rec.get("stage") in SEGMENTATION_STAGES:
                note(dict(rec))
        real_train = sorted(segmentation_from.split.get("real_train", []))
        note({"stage": "segmentation_reused", "epoch": 0, "real_volumes": real_train})

    canal_tr, for_tr = build_crop_sets(train, seg, config, settings, seed)
    canal_va, for_va = build_crop_sets(val, seg, config, settings, seed + 1)
    clf_epochs = settings.clf_epochs or epochs
    if len(canal_tr):
        train_semi_supervised(
            canal_net,
            canal_tr,
            canal_va if len(canal_va) else None,
            settings.canal_epochs or clf_epochs,
            settings,
            seed,
            "canal",
            note,
            tuple(CANAL_SERIES_CHANNELS.values()),
        )
        train_semi_supervised(
            foramen_net,
            for_tr,
            for_va if len(for_va) else None,
            clf_epochs,
            settings,
            seed,
            "foramen",
            note,
            tuple(FORAMEN_SERIES_CHANNELS.values()),
        )
    for m in (seg, canal_net, foramen_net):
        m.eval()
    return TrainedModels(
        seg=seg,
        canal=canal_net,
        foramen=foramen_net,
        config=config,
        history=history,
        split={
            "train": sorted({s.patient_id for s in train}),
            "val": sorted({s.patient_id for s in val}),
            "real_train": real_train,
        },
        train_seconds=time.perf_counter() - t_start,
    )
