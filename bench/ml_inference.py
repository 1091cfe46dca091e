"""Median seconds per study for ``run_study``, with a stage breakdown.

    PYTHONPATH=. .venv/bin/python bench/ml_inference.py --models /tmp/mlsyn/models

Uses trained weights from ``bench/ml_train_eval.py`` (``--models``), or untrained
default-size networks with reference masks skipped if none exist (timing only).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from inference.ml.bundle import ModelConfig, TrainedModels, build_models, load_models
from inference.ml.data import load_study_dir
from inference.ml.pipeline import LevelAssignmentError, run_study


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=Path("/tmp/mlsyn/models"))
    ap.add_argument("--data", type=Path, default=Path("/tmp/mlsyn/test_s97"))
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.data.exists():
        from studies.synth.generator import generate_dataset  # only to make a missing data set

        generate_dataset(n=args.n, seed=97, out_dir=args.data)
    trained = (args.models / "config.json").exists()
    if trained:
        models = load_models(args.models)
    else:
        seg, canal, foramen = build_models(ModelConfig())
        models = TrainedModels(seg=seg, canal=canal, foramen=foramen)
    print(
        "machine:",
        describe(),
        "| torch",
        torch.__version__,
        "| device",
        "cuda" if torch.cuda.is_available() else "cpu",
        "| weights",
        args.models if trained else "untrained (timing only)",
    )
    dirs = sorted(p for p in args.data.glob("SYN*") if p.is_dir())[: args.n]
    stages: dict[str, list[float]] = {}
    for d in dirs:
        st = load_study_dir(d)  # DICOM reading is timed separately from the models
        try:
            pred = run_study(
                models, st.sag_t2, st.sag_t1, st.axials, masks=None if trained else st.sag_mask
            )
        except LevelAssignmentError as exc:
            print(f"{d.name}: {exc}")
            continue
        for k, v in pred.timings_s.items():
            stages.setdefault(k, []).append(v)
    if not stages:
        raise SystemExit("no study completed")
    n = len(stages["total"])
    print(f"run_study on {n} studies (sag T2 {st.sag_t2.shape}, sag T1, 5 axial series):")
    for k in ("segment", "localise", "measure", "classify", "total"):
        print(f"  {k:9s} median {statistics.median(stages[k]):.3f} s")


if __name__ == "__main__":
    main()
