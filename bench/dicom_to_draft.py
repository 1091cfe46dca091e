"""From the last image of a study sent over DICOM to its AI draft on the worklist.

Usage: .venv/bin/python bench/dicom_to_draft.py [--stable-s 2] [--sqlite] [--keep]

Starts `manage.py dicom_listener` in the embedded mode (no broker: thumbnails, the AI run
and the draft run in the listener's process, as in `make demo`) with
RADBOT_INFER_AFTER_INGEST on and the shipped model (inference/default_model/, registered as
bench/inference.py --shipped does), on a fresh throw-away PostgreSQL database
(radbot_bench_draft, override with BENCH_DATABASE_URL; --sqlite: a SQLite file), sends one
synthetic 45-image lumbar study with storescu over one association, and times from the
last C-STORE's Success to the study showing on the sign-off worklist with its AI draft
(``reports.review.worklist.worklist_studies``, "awaiting sign-off", a report version).
The figure includes RADBOT_STUDY_STABLE_S (--stable-s): the quiet the listener waits for
before it stores a study. Target (issue #14): <= 15 s.

Never downloads anything: without the shipped model's files it says how to get them and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.listener import (  # noqa: E402
    clean_up,
    listener_bench_arguments,
    listener_process,
    send,
    workspace,
)
from bench.postgres import recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/radbot_bench_draft"
TIMEOUT_S = 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = listener_bench_arguments(parser, stable_s=2.0, seed=1414)

    work, url = workspace(prefix="radbot-bench-draft-", sqlite=args.sqlite, default_url=DEFAULT_URL)
    embedded = {
        "DATABASE_URL": url,
        "RADBOT_VAR_DIR": str(work / "var"),
        "RADBOT_MEDIA_ROOT": str(work / "media"),  # the listener's too: the model's copy
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "RADBOT_INFER_AFTER_INGEST": "1",
    }
    os.environ.update(embedded)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault(
        "RADBOT_DEMO", "1"
    )  # benchmark data, built-in keys (README, Configuration)

    import django  # here: the environment above must be set before Django reads its settings

    django.setup()
    # Project modules need the app registry that setup() filled.
    from inference.services.default_model import (
        SHIPPED_DIR,
        register_default_model,
        shipped_model_available,
    )

    if not shipped_model_available():
        sys.exit(
            f"the shipped model is not in {SHIPPED_DIR}: its files are tracked in git "
            "(git checkout -- inference/default_model); README, Inference, says how it was "
            "made (manage.py train_models, then manage.py export_model)"
        )
    if not args.sqlite:
        recreate_database(url)

    from django.core.management import call_command
    from django.db import connection

    from bench.machine import describe
    from reports.review.worklist import worklist_studies
    from studies.synth.generator import generate_study

    try:
        call_command("migrate", verbosity=0)
        shipped = register_default_model()
        generate_study(args.seed, 0, work / "synth")
        files = sorted((work / "synth").rglob("*.dcm"))
        with listener_process(
            database_url=url, folder=work, stable_s=args.stable_s, extra_env=embedded
        ) as listener:
            times = send(listener.port, files)
            last_ack = max(end for _, end in times)
            deadline = time.monotonic() + TIMEOUT_S
            drafted = worklist_studies(status="awaiting").filter(report_number__isnull=False)
            while not drafted.exists():
                if time.monotonic() > deadline:
                    sys.exit(f"no AI draft after {TIMEOUT_S} s: {work / 'listener.log'}")
                time.sleep(0.05)
            on_worklist = time.time()
        from inference.models import InferenceJob  # after setup, with the others

        job = InferenceJob.objects.get()
        seconds = on_worklist - last_ack
        print(f"study: {len(files)} images, one association, model {shipped.name}")
        print(
            f"last C-STORE acknowledged -> AI draft on the worklist: {seconds:.1f} s "
            f"(RADBOT_STUDY_STABLE_S={args.stable_s:g} included; embedded mode, tasks in the "
            "listener's process)"
        )
        stages = ", ".join(
            f"{stage} {job.stage_seconds[stage]:.2f} s"
            for stage in (*InferenceJob.STAGES, "wall")
            if stage in job.stage_seconds
        )
        print(f"  inference job: {stages}")
        print("target: <= 15 s")
        print(f"database: {connection.vendor}")
        print(f"machine: {describe()} | load average {os.getloadavg()[0]:.2f}")
    finally:
        connection.close()
        clean_up(work=work, url=url, sqlite=args.sqlite, keep=args.keep)


if __name__ == "__main__":
    main()
