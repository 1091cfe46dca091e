"""Seconds per study from DICOM on disk to stored predictions, with a stage breakdown.

Usage: .venv/bin/python bench/inference.py [--train-studies N] [--studies N] [--epochs E] [--shipped]
                                           [--real DIR [--slice-thickness MM --slice-gap MM
                                                        --pixel-spacing MM]]
Trains a small model on synthetic studies (one seed), or with --shipped uses the model the
project ships (inference/default_model/, the one `make demo` runs), then for studies of
another seed times ingest (read, de-identify, store) and the inference job
(segment, localise, measure, classify, store; each stage's time includes reading
its inputs: the stored series and the previous stage's files) one study at a time,
in-process (execute_inference_job, the stages a worker chain runs). Fresh SQLite database and media folder in a temporary directory;
torch uses both cores, as a worker would. With ``--real DIR`` the studies are the real
volumes under DIR instead (each written as DICOM files to disk first, then timed the same
way): 67-77 sagittal slices of up to 381 x 381 pixels, larger than any synthetic study.
``--slice-thickness`` resamples each of them to a routine clinical sagittal series first
(``inference.ml.acquisition``; e.g. 4 mm slices, 0.4 mm gap, 0.7 mm pixels).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-studies", type=int, default=12)
    parser.add_argument("--studies", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--shipped", action="store_true", help="time the shipped default model instead"
    )
    parser.add_argument(
        "--real", default="", help="time real volumes (*_image.nii.gz under DIR) instead"
    )
    parser.add_argument(
        "--slice-thickness",
        type=float,
        default=None,
        help="with --real: resample each volume to a clinical series of slices this thick (mm)",
    )
    parser.add_argument("--slice-gap", type=float, default=0.0, help="with --slice-thickness (mm)")
    parser.add_argument(
        "--pixel-spacing", type=float, default=None, help="with --slice-thickness (mm)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="radbot-bench-inference-"))
    os.environ["RADBOT_VAR_DIR"] = str(work / "var")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = (
        "0"  # thumbnails belong to a worker, not to this figure
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault(
        "RADBOT_DEMO", "1"
    )  # benchmark data, built-in keys (README, Configuration)
    (work / "var").mkdir()

    import django  # here: the environment above must be set before Django reads its settings

    django.setup()
    # Project modules need the app registry that setup() filled.
    from django.core.management import call_command

    from bench.machine import describe
    from inference.models import InferenceJob, ModelVersion
    from inference.services.jobs import execute_inference_job
    from labeling.services import current_labeller, label_reports
    from studies.models import RadiologistReport, Study
    from studies.services.ingest import ingest_paths
    from studies.services.report_import import import_report_file
    from studies.synth.generator import generate_dataset

    call_command("migrate", verbosity=0)
    if args.shipped:
        from inference.services.default_model import register_default_model  # only with --shipped

        shipped = register_default_model()
        print(f"shipped model {shipped.name}: {shipped.command}")
    else:
        train_dir = work / "train"
        generate_dataset(n=args.train_studies, seed=501, out_dir=train_dir)
        ingest_paths(paths=sorted({p.parent for p in train_dir.rglob("*.dcm")}))
        import_report_file(
            name="reports.jsonl",
            data=(train_dir / "reports.jsonl").read_bytes(),
            source="import",
            cli=True,
        )
        labeller, version = current_labeller()
        label_reports(reports=RadiologistReport.objects.all(), labeller=labeller, version=version)
        quiet = io.StringIO()
        call_command("import_masks", str(train_dir), stdout=quiet)
        started = time.perf_counter()
        call_command("train_models", epochs=args.epochs, seed=1, stdout=quiet)
        print(
            f"trained on {args.train_studies} studies, {args.epochs} epochs, in {time.perf_counter() - started:.0f} s"
        )

    test_dir = work / "test"
    acquisition = None
    if args.real and args.slice_thickness is not None:
        from inference.ml.acquisition import Acquisition  # scipy, with the real volumes

        acquisition = Acquisition(args.slice_thickness, args.slice_gap, args.pixel_spacing)
    if args.real:
        # Only with --real (nibabel, scipy).
        from inference.ml.acquisition import acquire
        from inference.ml.real_data import find_real_volumes
        from inference.ml.volume import load_nifti_as_volume, save_volume_as_nifti
        from inference.services.nifti import nifti_to_dicom

        if acquisition is not None:
            print(f"each volume resampled to a series of {acquisition.describe()}")
        for path in find_real_volumes(args.real)[: args.studies]:
            folder = test_dir / path.name.removesuffix("_image.nii.gz") / "sag_t2"
            folder.mkdir(parents=True)
            source = path
            if acquisition is not None:
                source = work / path.name.removesuffix(".gz")
                save_volume_as_nifti(acquire(load_nifti_as_volume(path), acquisition), source)
            for name, data in nifti_to_dicom(path=source, patient_id=f"BENCH-{path.name[:12]}"):
                (folder / Path(name).name).write_bytes(data)
    else:
        generate_dataset(n=args.studies, seed=502, out_dir=test_dir)
    model = ModelVersion.objects.first()
    totals, ingests, stages, failed = [], [], {}, 0
    for study_dir in sorted(p for p in test_dir.iterdir() if p.is_dir()):
        t0 = time.perf_counter()
        summary = ingest_paths(paths=sorted({p.parent for p in study_dir.rglob("*.dcm")}))
        t1 = time.perf_counter()
        study = Study.objects.get(study_instance_uid=summary.studies[0])
        job = execute_inference_job(
            job_id=InferenceJob.objects.create(study=study, model_version=model).pk
        )
        t2 = time.perf_counter()
        if job.status != "done":
            failed += 1
            print(f"  {study_dir.name}: {job.error}")
        # per study: the real volumes differ in size (221 x 221 to 381 x 381 pixels)
        parts = ", ".join(f"{k} {v:.2f}" for k, v in job.stage_seconds.items() if k != "wall")
        print(f"  {study_dir.name}: {t2 - t0:.2f} s (ingest {t1 - t0:.2f}, {parts})")
        ingests.append(t1 - t0)
        totals.append(t2 - t0)
        for stage, seconds in job.stage_seconds.items():
            stages.setdefault(stage, []).append(seconds)

    kind = f"real volumes from {args.real}" if args.real else "synthetic studies, seed 502"
    if acquisition is not None:
        kind += f", resampled to {acquisition.describe()}"
    print(f"studies: {len(totals)} {kind} ({failed} without level assignment)")
    print(
        f"median seconds per study, DICOM on disk -> stored predictions: {statistics.median(totals):.2f} s "
        f"(max {max(totals):.2f} s)"
    )
    print(f"  ingest: {statistics.median(ingests):.2f} s")
    for stage in (*InferenceJob.STAGES, "wall"):
        if stage in stages:
            print(f"  {stage}: {statistics.median(stages[stage]):.3f} s")
    print(f"machine: {describe()} | torch threads {__import__('torch').get_num_threads()}")


if __name__ == "__main__":
    main()
