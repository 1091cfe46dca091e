"""Train the RadBot imaging models on synthetic studies, evaluate on an unseen seed.

    PYTHONPATH=. .venv/bin/python bench/ml_train_eval.py --train-n 60 [--real ../shared/data/real_mri]

With ``--models DIR`` it trains nothing and evaluates saved weights (e.g. the shipped
``inference/default_model``) on the unseen seed. All figures are on synthetic data.

Training studies come from ``--train-seed``; evaluation studies from ``--test-seed``,
which is never used for training or validation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from inference.ml.bundle import ModelConfig, load_models, save_models
from inference.ml.evaluate import evaluate
from inference.ml.training import SegRecipe, TrainSettings, train_all


def ensure_dataset(root: Path, n: int, seed: int) -> list[Path]:
    from studies.synth.generator import generate_dataset  # only to make a missing data set

    dirs = sorted(p for p in root.glob("SYN*") if p.is_dir()) if root.exists() else []
    if len(dirs) < n:
        dirs = generate_dataset(n=n, seed=seed, out_dir=root).study_dirs
    return sorted(dirs)[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-n", type=int, default=60)
    ap.add_argument("--train-seed", type=int, default=11)
    ap.add_argument("--test-n", type=int, default=20)
    ap.add_argument("--test-seed", type=int, default=97)
    ap.add_argument("--data", type=Path, default=Path("/tmp/mlsyn"))
    ap.add_argument("--epochs", type=int, default=8, help="default classifier epochs")
    ap.add_argument("--pretrain-steps", type=int, default=SegRecipe.pretrain_steps)
    ap.add_argument("--finetune-steps", type=int, default=SegRecipe.finetune_steps)
    ap.add_argument("--real", type=Path, default=None, help="fine-tune on these real volumes too")
    ap.add_argument(
        "--models", type=Path, default=None, help="evaluate these saved weights; train nothing"
    )
    ap.add_argument("--clf-epochs", type=int, default=40, help="foraminal classifier epochs")
    ap.add_argument("--canal-epochs", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--work-spacing",
        type=float,
        default=ModelConfig.work_spacing_mm,
        help="segmentation working grid (mm)",
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/mlsyn/models"))
    args = ap.parse_args()
    if args.train_seed == args.test_seed:
        raise SystemExit("the test seed must differ from the training seed")
    torch.set_num_threads(args.threads)
    print(
        "machine:",
        describe(),
        "| torch",
        torch.__version__,
        "| device",
        "cuda" if torch.cuda.is_available() else "cpu",
        flush=True,
    )
    test_dirs = ensure_dataset(args.data / f"test_s{args.test_seed}", args.test_n, args.test_seed)
    if args.models is not None:
        models = load_models(args.models)
        print(f"evaluating saved models in {args.models} (trained elsewhere; no training here)")
    else:
        from inference.ml.real_data import find_real_volumes, load_real_volume  # only to train

        train_dirs = ensure_dataset(
            args.data / f"train_s{args.train_seed}", args.train_n, args.train_seed
        )
        real = [load_real_volume(p) for p in find_real_volumes(args.real)] if args.real else []
        settings = TrainSettings(
            clf_epochs=args.clf_epochs,
            canal_epochs=args.canal_epochs,
            seg=SegRecipe(pretrain_steps=args.pretrain_steps, finetune_steps=args.finetune_steps),
        )
        print(f"settings: {settings}", flush=True)
        t = time.perf_counter()
        models = train_all(
            train_dirs,
            split=(0.8, 0.2),
            epochs=args.epochs,
            seed=0,
            config=ModelConfig(work_spacing_mm=args.work_spacing),
            real=real,
            progress_callback=lambda r: print(
                json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}),
                flush=True,
            ),
            settings=settings,
        )
        train_s = time.perf_counter() - t
        save_models(models, args.out)
        print(
            f"training time: {train_s:.0f} s (incl. loading {args.train_n} studies); models -> {args.out}"
        )
    t = time.perf_counter()
    res = evaluate(models, test_dirs)
    print(
        f"evaluation time: {time.perf_counter() - t:.0f} s on {len(test_dirs)} studies "
        f"(seed {args.test_seed}, unseen)"
    )
    print(json.dumps(res, indent=2))
    print("(synthetic studies: these figures say nothing about real patients)")
    if args.models is None:
        (args.out / "evaluation.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
