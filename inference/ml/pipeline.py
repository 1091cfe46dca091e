"""Per-study inference on a trained model bundle (:mod:`inference.ml.bundle`).

``run_study`` = segment the sagittal T2 -> localise and name the discs -> measure the
canal AP diameter -> classify disc-aligned crops -> guide fields per level. Each stage
is its own function so that the app can run them as separate tasks; the intermediate
results of each are plain arrays or JSON (``LevelAssessment.to_json``, ``Measurements.to_json``)
a later stage can reload.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from inference.ml.bundle import ModelConfig, TrainedModels
from inference.ml.classification import CANAL_DETECTORS, derive_disc, predict_proba
from inference.ml.crops import best_foramen_slice, canal_crop, foramen_crop
from inference.ml.localisation import (
    REFUSAL_PREFIX,
    DiscLocation,
    LocaliserConfig,
    discs_from_json,
    discs_to_json,
    localise,
    naming_disagreement,
)
from inference.ml.measurement import (
    ap_diameter,
    ap_unsteady,
    canal_followed_mm,
    canal_map_from_mask,
    posterior_wall_unsure,
)
from inference.ml.postprocess import drop_specks, keep_every_disc
from inference.ml.segmentation import predict_volume_multiscale
from inference.ml.volume import Volume, index_to_patient, load_series
from spine.labels import LEVELS, canal_class

# AP diameter (mm) -> canal grade. Boundaries halfway between the synthetic data's
# grade ranges (none >= 12.5, mild 10-12, moderate 7.5-9.5, severe 4-7); close to the
# usual radiological convention (relative stenosis < 12 mm, absolute < 10 mm).
AP_GRADE_THRESHOLDS_MM: tuple[tuple[float, str], ...] = (
    (7.25, "severe"),
    (9.75, "moderate"),
    (12.25, "mild"),
)


class LevelAssignmentError(RuntimeError):
    """No disc can be named (no sacrum in view, no disc on it, no discs); the study is
    refused and none of its levels gets a label."""


# A midline AP diameter outside this range is not a canal measurement but a
# segmentation failure; it is reported as "not measured" with the reason.
AP_PLAUSIBLE_MM = (4.0, 30.0)
# The canal outline an AP diameter is measured on must run on at least this far above and
# below the disc (measurement.canal_followed_mm): the dural sac passes every lumbar disc.
CANAL_CONTINUES_MM = 10.0
# The smallest in-plane extent of a sagittal series the levels could be named on: the
# sacrum and the five lumbar discs above it span some 200 mm head to foot, and the network
# needs 16 working pixels a side. A routine lumbar sagittal covers 250-350 mm.
MIN_SAGITTAL_EXTENT_MM = 80.0
# The network reads the sagittal series twice: at the model's working spacing and, as a
# check, at this fraction of it. Where it is unsure whether the bone under the lowest disc
# is L5 or the sacrum (steep lumbosacral junctions), the two readings take different discs
# for L5-S1, and the study is refused rather than named one level off. Chosen on the
# cross-validated real volumes (evaluate_models --real --reuse-folds): at 1.1 mm the check
# caught each one-level-off count of a 1.25 mm model; a coarser one (1.4 mm) refused
# volumes that both readings named right. The levels are named on the mean of the two
# readings' class probabilities and checked against the finer reading alone: in a 3-fold
# cross-validation (fold seed 0) that named 18 of 22 volumes right where the 1.25 mm
# reading alone named 17, neither with a wrong name.
NAMING_CHECK_SPACING_RATIO = 0.88

# Thin-slice series (a 1 mm 3D T2, say) are read by the network on slices at most this far
# apart, and the slices between take the interpolated probabilities: the network learnt
# from 3-5 mm slices, and reading all 77 slices of a 1 mm volume at both spacings was
# nine tenths of its time. On the 22 real 1 mm volumes (shipped model, in-sample) it cut
# the median study from 4.27 to 2.80 s (segment 3.66 -> 2.21 s, bench/inference.py,
# 2 AMD cores); disc Dice 0.829 -> 0.832, body 0.891 -> 0.896, no wrong name, and ivd_20
# refused: its midline sacrum is 28 mm tall either way, and it had passed the 30 mm rule
# only on a sacrum voxel 32 mm to the side, in the edge slice, which the interpolated
# slice there no longer has. Series of 2 mm slices or thicker are read whole as before.
READ_SLICE_DISTANCE_MM = 2.0


@dataclass
class LevelPrediction:
    level: str
    probabilities: dict[str, float]  # per detector; foraminal per side
    disc: str
    canal_stenosis: str
    left_foraminal: str
    right_foraminal: str
    canal_class: int
    ap_diameter_mm: float
    disc_centre_mm: list[float]
    best_slice: dict[str, dict[str, Any]]  # detector -> {series_uid, instance_number}
    confidence: float = 1.0  # of the level's name and location (see localisation)
    ap_note: str = ""  # why ap_diameter_mm is 0.0 (not measured), else ""


@dataclass
class StudyPrediction:
    levels: list[LevelPrediction]  # the assessed levels only
    timings_s: dict[str, float]
    sag_series_uid: str
    masks: np.ndarray | None = None  # predicted sagittal classes, position order
    not_assessed: dict[str, str] = field(default_factory=dict)  # level -> reason

    def by_level(self) -> dict[str, LevelPrediction]:
        return {lp.level: lp for lp in self.levels}

    def to_json(self) -> dict[str, Any]:
        return {
            "levels": [asdict(lp) for lp in self.levels],
            "timings_s": self.timings_s,
            "sag_series_uid": self.sag_series_uid,
            "not_assessed": self.not_assessed,
        }


@overload
def _as_volume(v: Volume | str | Path) -> Volume: ...
@overload
def _as_volume(v: None) -> None: ...
def _as_volume(v: Volume | str | Path | None) -> Volume | None:
    if v is None or isinstance(v, Volume):
        return v
    return load_series(v)


def assign_axials(
    axials: Mapping[str, Any] | Sequence[Any] | None, loc_discs: dict
) -> dict[str, Volume]:
    """Axial series per level: a mapping is trusted; a plain list is matched to the
    disc whose centre lies nearest the series' middle plane."""
    if not axials:
        return {}
    if isinstance(axials, Mapping):
        return {k: v for k, v in ((k, _as_volume(v)) for k, v in axials.items()) if v is not None}
    out: dict[str, Volume] = {}
    for item in axials:
        vol = _as_volume(item)
        mid = vol.pixels.shape[0] // 2
        centre = index_to_patient(vol, [[mid, vol.pixels.shape[1] / 2, vol.pixels.shape[2] / 2]])[0]
        dist = {
            lv: abs(float(np.dot(d.centre - centre, vol.normal))) for lv, d in loc_discs.items()
        }
        if dist:
            out[min(dist, key=dist.__getitem__)] = vol
    return out


def ap_grade(ap_mm: float) -> str:
    for thr, grade in AP_GRADE_THRESHOLDS_MM:
        if ap_mm < thr:
            return grade
    return "none"


# Where a level's canal_stenosis comes from (ModelConfig.canal_stenosis_source): the canal
# classifier ("cnn"), the measured AP diameter ("ap"), either of them ("either"), or the
# measured AP wherever there is one and the classifier only where the AP could not be
# measured ("measured").
CANAL_STENOSIS_SOURCES = ("cnn", "ap", "either", "measured")


def canal_stenosis_field(source: str, *, classifier_positive: bool, ap_mm: float) -> str:
    """A level's canal_stenosis from the canal classifier's call and the measured AP
    (0.0: not measured): graded from the AP where the AP shows a stenosis, "unspecified"
    where only the classifier does, "none" where the source says there is none."""
    if source not in CANAL_STENOSIS_SOURCES:
        raise ValueError(
            f"unknown canal stenosis source {source!r}: one of {CANAL_STENOSIS_SOURCES}"
        )
    measured = ap_mm > 0
    ap_positive = measured and ap_grade(ap_mm) != "none"
    positive = {
        "cnn": classifier_positive,
        "ap": ap_positive,
        "either": classifier_positive or ap_positive,
        "measured": ap_positive if measured else classifier_positive,
    }[source]
    if not positive:
        return "none"
    return ap_grade(ap_mm) if ap_positive else "unspecified"


@dataclass
class Segmentation:
    """The segment stage's output: classes and the canal probability, position order."""

    classes: (
        np.ndarray
    )  # (slices, rows, cols) uint8: inference.ml.classes (0 background ... 4 sacrum)
    canal_prob: np.ndarray  # (slices, rows, cols) float32
    from_reference: bool = False  # True: given masks, not the network (no AP calibration)
    # the unweighed classes the levels are found and named on, where ``classes`` is a
    # weighed outline (``segment``); None: named on ``classes``
    naming_classes: np.ndarray | None = None
    # the classes read again at the naming check's spacing; None: no second reading
    check_classes: np.ndarray | None = None

    @property
    def classes_to_name(self) -> np.ndarray:
        """The classes the levels are found and named on."""
        return self.classes if self.naming_classes is None else self.naming_classes


def check_readable(sag: Volume) -> None:
    """:class:`LevelAssignmentError` when the sagittal series is too small to hold what the
    levels are named from: refused with the reason, before the network would fail on it."""
    rows, cols = sag.shape[1:]
    extent = (rows * sag.pixel_spacing[0], cols * sag.pixel_spacing[1])
    if min(extent) < MIN_SAGITTAL_EXTENT_MM:
        raise LevelAssignmentError(
            f"the sagittal T2 images cover only {extent[0]:.0f} x {extent[1]:.0f} mm; the "
            f"lumbar spine and sacrum need at least {MIN_SAGITTAL_EXTENT_MM:.0f} mm each way"
        )


def reading_spacings(config: ModelConfig) -> tuple[float, float]:
    """The working spacings a series is read at: the model's own, then the naming check's."""
    return (config.work_spacing_mm, config.work_spacing_mm * NAMING_CHECK_SPACING_RATIO)


def segment(models: TrainedModels, sag: Volume) -> Segmentation:
    """The network's classes (the mean of two readings, specks dropped:
    :mod:`inference.ml.postprocess`) and canal probability, and the second reading's own
    classes for the naming check (``NAMING_CHECK_SPACING_RATIO``), cleaned the same way;
    :class:`LevelAssignmentError` for a series it cannot read (``check_readable``).

    With a fitted disc factor (``ModelConfig.disc_probability_scale``) the classes kept
    are the weighed outline, and the levels are still found and named on the unweighed
    classes (``naming_classes``): the factor moves disc outlines to where real masks put
    them, but it can erase a thin, dark L5-S1 disc the count starts from (a retrained
    model named real volume vb2_07 one level off with it, right without it). So the
    outline keeps every disc the naming classes have (``keep_every_disc``)."""
    check_readable(sag)
    reading = predict_volume_multiscale(
        models.seg,
        sag,
        reading_spacings(models.config),
        intensity=models.config.intensity(),
        own_classes=(1,),
        class_scale=models.config.class_scale(),
        max_slice_distance_mm=READ_SLICE_DISTANCE_MM,
    )
    classes = drop_specks(reading.classes)
    check = drop_specks(reading.each[1])
    if reading.outline is None:
        return Segmentation(classes=classes, canal_prob=reading.canal, check_classes=check)
    return Segmentation(
        classes=keep_every_disc(drop_specks(reading.outline), classes),
        canal_prob=reading.canal,
        check_classes=check,
        naming_classes=classes,
    )


def segmentation_from_masks(masks: np.ndarray) -> Segmentation:
    """Reference masks in place of the network, e.g. to test the later stages alone."""
    masks = np.asarray(masks, dtype=np.uint8)
    return Segmentation(
        classes=masks,
        canal_prob=np.stack([canal_map_from_mask(m, 1.0) for m in masks]),
        from_reference=True,
    )


@dataclass
class LevelAssessment:
    """The localise stage's output: the named discs that passed the plausibility gate,
    a confidence per named level, and why each other level is not assessed."""

    discs: dict[str, DiscLocation]
    confidence: dict[str, float] = field(default_factory=dict)
    not_assessed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "discs": discs_to_json(self.discs),
            "confidence": dict(self.confidence),
            "not_assessed": dict(self.not_assessed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LevelAssessment:
        return cls(
            discs=discs_from_json(data["discs"]),
            confidence=dict(data.get("confidence", {})),
            not_assessed=dict(data.get("not_assessed", {})),
        )


def assess_levels(
    sag: Volume, classes: np.ndarray, check_classes: np.ndarray | None = None
) -> LevelAssessment:
    """Name the discs from the sacrum up, as far as the checks allow;
    :class:`LevelAssignmentError` (with the reason) when not even L5-S1 can be named, or
    when the second reading (``check_classes``) counts from another disc."""
    loc = localise(sag, classes, LocaliserConfig())
    if not loc.ok:
        raise LevelAssignmentError(loc.reason or "cannot assign levels")
    if check_classes is not None:
        contradiction = naming_disagreement(loc, localise(sag, check_classes, LocaliserConfig()))
        if contradiction:
            raise LevelAssignmentError(f"{REFUSAL_PREFIX}{contradiction}")
    return LevelAssessment(
        discs=loc.by_level(), confidence=dict(loc.confidence), not_assessed=dict(loc.not_assessed)
    )


@dataclass
class Measurements:
    """Canal AP diameter per level (0.0 where not measured) and, for those, why not."""

    ap_mm: dict[str, float]
    notes: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ap_mm": dict(self.ap_mm), "notes": dict(self.notes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurements:
        return cls(
            ap_mm={k: float(v) for k, v in data["ap_mm"].items()}, notes=dict(data.get("notes", {}))
        )


def _canal_break(sag: Volume, canal_map: np.ndarray, disc: DiscLocation) -> str:
    """Why the canal measured behind the disc is not a dural sac that runs past it
    (``CANAL_CONTINUES_MM`` each way), or ""."""
    for caudal, where in ((True, "below"), (False, "above")):
        followed = canal_followed_mm(
            sag, canal_map, disc, caudal=caudal, reach_mm=CANAL_CONTINUES_MM
        )
        if followed < CANAL_CONTINUES_MM:
            return (
                f"the spinal canal behind the disc can be followed only {followed:.0f} mm "
                f"{where} it (the dural sac runs on past every lumbar disc)"
            )
    return ""


def measure(
    config: ModelConfig,
    sag: Volume,
    canal_prob: np.ndarray,
    discs: Mapping[str, DiscLocation],
    calibrate: bool = True,
) -> Measurements:
    """Canal AP diameter (mm) per level; ``calibrate`` applies the model's fitted
    correction (meant for the network's output only). A value outside
    :data:`AP_PLAUSIBLE_MM`, no canal behind the disc, a canal that stops short above
    or below it (``CANAL_CONTINUES_MM``), or one that reads differently a slice to the side
    (``measurement.ap_unsteady``), is "not measured" (0.0) with the reason: a number that
    cannot be a canal must not reach a report."""
    a, b = config.ap_calibration if calibrate else (1.0, 0.0)
    aps: dict[str, float] = {}
    notes: dict[str, str] = {}
    lo, hi = AP_PLAUSIBLE_MM
    for lv, d in discs.items():
        raw = ap_diameter(sag, canal_prob[d.slice_index], d, canal_prob)
        value = round(max(0.0, a * raw + b), 2) if raw > 0 else 0.0
        if value <= 0:
            notes[lv] = "not measured: no spinal canal found behind the disc"
            value = 0.0
        elif not lo <= value <= hi:
            notes[lv] = (
                f"not measured: the midline AP diameter came out at {value:.1f} mm, outside the "
                f"physiological {lo:.0f}-{hi:.0f} mm, so the canal outline is not trusted"
            )
            value = 0.0
        elif broken := _canal_break(sag, canal_prob[d.slice_index], d):
            notes[lv] = f"not measured: {broken}, so the canal outline is not trusted"
            value = 0.0
        elif unsure := posterior_wall_unsure(sag, canal_prob[d.slice_index], d, canal_prob):
            notes[lv] = f"not measured: {unsure}"
            value = 0.0
        elif unsteady := ap_unsteady(sag, canal_prob, d):
            notes[lv] = f"not measured: {unsteady}"
            value = 0.0
        aps[lv] = value
    return Measurements(ap_mm=aps, notes=notes)


def classify(
    models: TrainedModels,
    sag: Volume,
    sag_t1: Volume | None,
    axials: Mapping[str, Any] | Sequence[Any] | None,
    discs: Mapping[str, DiscLocation],
    aps: Mapping[str, float] | Measurements,
    confidence: Mapping[str, float] | None = None,
) -> list[LevelPrediction]:
    """Both classifiers on disc-aligned crops, then the guide fields, for each named
    level (the levels in ``discs``; a level not there gets no label at all)."""
    measured = aps if isinstance(aps, Measurements) else Measurements(ap_mm=dict(aps))
    aps = measured.ap_mm
    cfg = models.config
    crop_cfg = cfg.crop_config()
    intensity = cfg.intensity()
    levels = [lv for lv in LEVELS if lv in discs]
    if not levels:
        return []
    ax = assign_axials(axials, dict(discs))
    canal_x = np.stack(
        [
            canal_crop(sag, sag_t1, ax.get(lv), discs[lv], crop_cfg, intensity=intensity)
            for lv in levels
        ]
    )
    for_x = np.stack(
        [
            foramen_crop(sag, ax.get(lv), discs[lv], side, crop_cfg, intensity=intensity)
            for lv in levels
            for side in ("left", "right")
        ]
    )
    p_canal = predict_proba(models.canal, canal_x)
    p_for = predict_proba(models.foramen, for_x)[:, 0].reshape(len(levels), 2)

    thr = cfg.threshold
    out = []
    for i, lv in enumerate(levels):
        d = discs[lv]
        probs_lv = {name: float(p_canal[i, j]) for j, name in enumerate(CANAL_DETECTORS)}
        probs_lv["foraminal_stenosis_left"] = float(p_for[i, 0])
        probs_lv["foraminal_stenosis_right"] = float(p_for[i, 1])
        disc = derive_disc(probs_lv["bulging"], probs_lv["herniation"], thr)
        canal = canal_stenosis_field(
            cfg.canal_stenosis_source,
            classifier_positive=probs_lv["canal_stenosis"] >= thr,
            ap_mm=aps[lv],
        )
        mid_inst = sag.instance_numbers[d.slice_index]
        best = {
            name: {"series_uid": sag.series_uid, "instance_number": mid_inst}
            for name in CANAL_DETECTORS
        }
        for side in ("left", "right"):
            s = best_foramen_slice(sag, d, side, crop_cfg)
            best[f"foraminal_stenosis_{side}"] = {
                "series_uid": sag.series_uid,
                "instance_number": sag.instance_numbers[s],
            }
        out.append(
            LevelPrediction(
                level=lv,
                probabilities=probs_lv,
                disc=disc,
                canal_stenosis=canal,
                left_foraminal="unspecified" if p_for[i, 0] >= thr else "none",
                right_foraminal="unspecified" if p_for[i, 1] >= thr else "none",
                canal_class=canal_class(disc, canal),
                ap_diameter_mm=aps[lv],
                disc_centre_mm=[round(float(v), 2) for v in d.centre],
                best_slice=best,
                confidence=float((confidence or {}).get(lv, 1.0)),
                ap_note=measured.notes.get(lv, ""),
            )
        )
    return out


def run_study(
    models: TrainedModels,
    sag_t2: Volume | str | Path,
    sag_t1: Volume | str | Path | None,
    axials: Mapping[str, Any] | Sequence[Any] | None = None,
    keep_masks: bool = False,
    masks: np.ndarray | None = None,
) -> StudyPrediction:
    """Predict the guide fields for the five lumbar levels of one study.

    The stages (:func:`segment`, :func:`assess_levels`, :func:`measure`,
    :func:`classify`) are the ones the app's job runs one Celery task each.
    Raises :class:`LevelAssignmentError` (with the localiser's reason) when the
    discs cannot be named reliably. ``masks`` (position-ordered classes) skips the
    segmentation network, e.g. to test the downstream stages on reference masks.
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    sag = _as_volume(sag_t2)
    t1 = _as_volume(sag_t1)
    timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    seg = segment(models, sag) if masks is None else segmentation_from_masks(masks)
    timings["segment"] = time.perf_counter() - t

    t = time.perf_counter()
    try:
        assessment = assess_levels(sag, seg.classes_to_name, seg.check_classes)
    finally:
        timings["localise"] = time.perf_counter() - t

    t = time.perf_counter()
    measured = measure(
        models.config, sag, seg.canal_prob, assessment.discs, calibrate=not seg.from_reference
    )
    timings["measure"] = time.perf_counter() - t

    t = time.perf_counter()
    out = classify(models, sag, t1, axials, assessment.discs, measured, assessment.confidence)
    timings["classify"] = time.perf_counter() - t
    timings["total"] = sum(timings.values())
    return StudyPrediction(
        levels=out,
        timings_s={k: round(v, 4) for k, v in timings.items()},
        sag_series_uid=sag.series_uid,
        masks=seg.classes if keep_masks else None,
        not_assessed=dict(assessment.not_assessed),
    )
