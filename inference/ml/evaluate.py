"""Held-out evaluation: detectors, canal_class, AP error, level assignment, Dice.

Level assignment counts a level as correct when the predicted centre of level X is
within ``tol_mm`` of the true centre of X *and* nearer to it than to any other
true disc centre. A level the pipeline does not assess (or a refused study) scores 0
there, and is counted apart from a wrongly named one: refusing is allowed, a wrong
name is not. An AP diameter the gate left unmeasured is counted, not averaged in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inference.ml.bundle import TrainedModels
from inference.ml.data import StudyData
from inference.ml.pipeline import LevelAssignmentError, ap_grade, run_study
from inference.ml.segmentation import CLASS_NAMES, dice_per_class
from inference.ml.training import as_studies
from spine.findings import detector_targets
from spine.labels import LEVELS, canal_class


def evaluate(
    models: TrainedModels, studies: Sequence[StudyData | str | Path], tol_mm: float = 10.0
) -> dict:
    studies = as_studies(studies)
    det_hits: dict[str, list[bool]] = {
        k: []
        for k in (
            "bulging",
            "herniation",
            "canal_stenosis",
            "foraminal_stenosis",
            "canal_stenosis_from_ap",
            "disc_field",
        )
    }
    cc_hits: list[bool] = []
    ap_err: list[float] = []
    level_ok: list[bool] = []
    dices: dict[str, list[float]] = {c: [] for c in CLASS_NAMES[1:]}
    failures: list[str] = []
    wrong_names: list[str] = []
    not_assessed: list[str] = []
    ap_not_measured = 0
    implausible_ap: list[float] = []
    secs: list[float] = []
    for st in studies:
        t = time.perf_counter()
        try:
            pred = run_study(models, st.sag_t2, st.sag_t1, st.axials, keep_masks=True)
        except LevelAssignmentError as exc:
            failures.append(f"{st.key}: {exc}")
            level_ok += [False] * len(LEVELS)
            continue
        secs.append(time.perf_counter() - t)
        if st.sag_mask is not None and pred.masks is not None:
            for c, v in dice_per_class(pred.masks, st.sag_mask).items():
                if not np.isnan(v):
                    dices[c].append(v)
        by = pred.by_level()
        not_assessed += [f"{st.key}:{lv}: {why}" for lv, why in pred.not_assessed.items()]
        for lv in LEVELS:
            p = by.get(lv)
            if p is None:
                level_ok.append(False)
                continue
            if st.disc_centres:
                centre = np.array(p.disc_centre_mm)
                dists = {k: float(np.linalg.norm(centre - v)) for k, v in st.disc_centres.items()}
                right = dists[lv] <= tol_mm and min(dists, key=dists.__getitem__) == lv
                level_ok.append(right)
                if not right:
                    wrong_names.append(f"{st.key}:{lv}")
            if p.ap_diameter_mm <= 0:
                ap_not_measured += 1
            elif lv in st.ap_diameter_mm:
                ap_err.append(abs(p.ap_diameter_mm - st.ap_diameter_mm[lv]))
            if p.ap_diameter_mm > 0 and not 4.0 <= p.ap_diameter_mm <= 30.0:
                implausible_ap.append(p.ap_diameter_mm)
            lab = st.labels.get(lv)
            if lab is None:
                continue
            det = detector_targets(lab)
            thr = models.config.threshold
            pr = p.probabilities
            det_hits["bulging"].append((pr["bulging"] >= thr) == det["bulging"])
            det_hits["herniation"].append((pr["herniation"] >= thr) == det["herniation"])
            det_hits["canal_stenosis"].append((p.canal_stenosis != "none") == det["canal_stenosis"])
            det_hits["canal_stenosis_from_ap"].append(
                (ap_grade(p.ap_diameter_mm) != "none") == det["canal_stenosis"]
            )
            det_hits["disc_field"].append(p.disc == lab.disc)
            for side in ("left", "right"):
                det_hits["foraminal_stenosis"].append(
                    (pr[f"foraminal_stenosis_{side}"] >= thr) == det[f"foraminal_stenosis_{side}"]
                )
            cc_hits.append(p.canal_class == canal_class(lab.disc, lab.canal_stenosis))

    def mean(v: list) -> float:
        return float(np.mean(v)) if v else float("nan")

    return {
        "n_studies": len(studies),
        "detector_accuracy": {k: mean(v) for k, v in det_hits.items()},
        "canal_class_accuracy": mean(cc_hits),
        "ap_mae_mm": mean(ap_err),
        "ap_max_abs_error_mm": float(np.max(ap_err)) if ap_err else float("nan"),
        "level_assignment_accuracy": mean(level_ok),
        "wrong_level_names": wrong_names,
        "levels_not_assessed": not_assessed,
        "ap_not_measured": ap_not_measured,
        "implausible_ap_reported": implausible_ap,
        "dice": {k: mean(v) for k, v in dices.items()},
        "failures": failures,
        "median_seconds_per_study": float(np.median(secs)) if secs else float("nan"),
    }
