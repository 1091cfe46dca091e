"""Where the canal AP error comes from: the network's outline or the measurement.

    PYTHONPATH=. .venv/bin/python bench/ap_error.py [--models inference/default_model] [--seed 97]

Reads unseen synthetic studies through the pipeline's stages (segment, name, measure)
and measures each named level twice at the same disc: on the network's canal
probability (the reported AP) and on the study's reference canal mask. The second
isolates the measurement (probe, sub-pixel walls) from the network's outline. Errors
are split by the true AP, since a narrow canal is where a rounded outline costs most.
Synthetic studies: the figures say nothing about real patients.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from bench.ml_train_eval import ensure_dataset
from inference.ml.bundle import load_models
from inference.ml.pipeline import (
    LevelAssignmentError,
    assess_levels,
    measure,
    segment,
    segmentation_from_masks,
)
from inference.ml.training import as_studies

TRUE_AP_BANDS_MM = ((0.0, 8.0), (8.0, 11.0), (11.0, 14.0), (14.0, 99.0))


def _row(name: str, errors: np.ndarray) -> str:
    if errors.size == 0:
        return f"  {name:<24} n   0"
    return (
        f"  {name:<24} n {errors.size:3d}   mean {errors.mean():+.2f}   "
        f"MAE {np.abs(errors).mean():.2f}   max |e| {np.abs(errors).max():.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, default=Path("inference/default_model"))
    parser.add_argument("--seed", type=int, default=97)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path("/tmp/mlsyn"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("machine:", describe(), "| torch", torch.__version__)
    models = load_models(args.models)
    truth, network, reference, unmeasured = [], [], [], 0
    for study in as_studies(ensure_dataset(args.data / f"test_s{args.seed}", args.n, args.seed)):
        if study.sag_mask is None:
            continue
        seg = segment(models, study.sag_t2)
        try:
            levels = assess_levels(study.sag_t2, seg.classes_to_name, seg.check_classes)
        except LevelAssignmentError as exc:
            print(f"{study.key}: refused ({exc})")
            continue
        read = measure(models.config, study.sag_t2, seg.canal_prob, levels.discs)
        ref = segmentation_from_masks(study.sag_mask)
        on_mask = measure(
            models.config, study.sag_t2, ref.canal_prob, levels.discs, calibrate=False
        )
        for level in levels.discs:
            if level not in study.ap_diameter_mm:
                continue
            if read.ap_mm[level] <= 0 or on_mask.ap_mm[level] <= 0:
                unmeasured += 1
                continue
            truth.append(study.ap_diameter_mm[level])
            network.append(read.ap_mm[level])
            reference.append(on_mask.ap_mm[level])
    t, net, ref_ap = np.array(truth), np.array(network), np.array(reference)
    print(
        f"synthetic seed {args.seed}, {args.n} studies, model {args.models}: {t.size} levels "
        f"measured both ways, {unmeasured} not measured on one of them"
    )
    print("AP error (mm), reported minus true:")
    print(_row("network outline, all", net - t))
    print(_row("reference mask, all", ref_ap - t))
    for lo, hi in TRUE_AP_BANDS_MM:
        band = (t >= lo) & (t < hi)
        label = f"true {lo:.0f}-{hi:.0f} mm" if hi < 99 else f"true >= {lo:.0f} mm"
        print(_row(f"network, {label}", (net - t)[band]))
        print(_row(f"reference, {label}", (ref_ap - t)[band]))
    print("(synthetic studies: these figures say nothing about real patients)")


if __name__ == "__main__":
    main()
