"""Ingest throughput: DICOM files per second from disk into the store, on one core.

Usage: .venv/bin/python bench/ingest.py [--studies N] [--seed S] [--thumbnails worker|inline]
Uses a fresh SQLite database and media folder in a temporary directory, or the
database in DATABASE_URL when set (its tables are created by migrate).

--thumbnails worker (default) times ingest as in production: thumbnails are
queued for a Celery worker, and their rendering is then timed on its own, as a
worker would do it. --thumbnails inline times the embedded mode, where they are
rendered in-process during ingest.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=12)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--thumbnails", choices=["worker", "inline"], default="worker")
    args = parser.parse_args()
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1" if args.thumbnails == "inline" else "0"

    work = Path(tempfile.mkdtemp(prefix="radbot-bench-ingest-"))
    os.environ["RADBOT_VAR_DIR"] = str(work / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault(
        "RADBOT_DEMO", "1"
    )  # benchmark data, built-in keys (README, Configuration)
    (work / "var").mkdir()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import django  # here: the environment above must be set before Django reads its settings

    django.setup()
    # Project modules need the app registry that setup() filled.
    from django.core.management import call_command

    from bench.machine import describe
    from studies.services.ingest import ingest_paths
    from studies.synth.generator import generate_dataset

    call_command("migrate", verbosity=0)
    data = work / "synth"
    generate_dataset(n=args.studies, seed=args.seed, out_dir=data)
    dicom_files = list(data.rglob("*.dcm"))
    files = len(dicom_files)
    series_dirs = sorted({p.parent for p in dicom_files})

    start, cpu_start = time.perf_counter(), time.process_time()
    summary = ingest_paths(paths=series_dirs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    assert len(summary.stored) == files and not summary.rejected, summary.rejected[:3]

    print(
        f"ingest: {files} files ({args.studies} synthetic studies) in {seconds:.2f} s "
        f"= {files / seconds:.0f} files/s on one core"
    )
    # Wall time suffers when other work shares the core; CPU time shows the code's own cost.
    print(
        f"cpu: {cpu_seconds:.2f} s = {files / cpu_seconds:.0f} files per CPU-second; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.thumbnails == "worker":
        # Only with --thumbnails worker.
        from studies.models import Series
        from studies.services.thumbnails import render_series_thumbnail

        ids = list(Series.objects.values_list("pk", flat=True))
        start = time.perf_counter()
        for series_id in ids:
            render_series_thumbnail(series_id=series_id)
        spent = time.perf_counter() - start
        print(
            f"thumbnails (worker's share): {len(ids)} series in {spent:.2f} s = {len(ids) / spent:.0f} series/s"
        )
    else:
        print("thumbnails rendered inline (embedded mode), included above")
    print(f"database: {django.db.connection.vendor}")
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
