"""A worker process killed in the middle of an inference job leaves no half-written result.

The job is a chain of five stage tasks, each acks_late with reject_on_worker_lost:
the killed stage's message returns to the broker, the stage runs again (the job's
attempts go up) overwriting its own output file, the chain goes on, and the store
stage writes the predictions in one transaction, so the study ends with all five
predictions or none, never duplicates.

The worker's segment stage runs the (barely trained) network as usual, then hands
on the study's reference mask, so that the discs can be named and the chain reaches
the store stage: what is tested is the chain, not the network.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from inference import selectors
from inference.dispatch import request_inference
from inference.models import InferenceJob
from studies.models import Study
from tests.conftest import require_worker_services
from tests.inference.helpers import make_archive, train_tiny
from tests.processes import start_worker, wait_until
from tests.services.test_killed_worker import _pool_children

pytestmark = pytest.mark.services


WORKER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
django.setup()
from tests.services.test_killed_inference_worker import use_reference_segmentation
use_reference_segmentation()
from radbot_web.celery import app
app.worker_main(sys.argv[1:])
"""


def use_reference_segmentation() -> None:
    """In the worker: the segment stage's classes come from the imported reference mask."""
    from inference.ml import pipeline
    from inference.ml.data import reorder_to_volume
    from inference.models import SegmentationMask

    network = pipeline.segment

    def segment(models, sag):
        network(models, sag)  # the stage still takes the network's time: room for the kill
        mask = SegmentationMask.objects.get(series__series_instance_uid=sag.series_uid)
        with np.load(Path(settings.MEDIA_ROOT) / mask.file) as stored:
            by_number = dict(
                zip(stored["instance_numbers"].tolist(), stored["classes"], strict=True)
            )
        ordered = np.stack([by_number[n] for n in sorted(by_number)])
        result = pipeline.segmentation_from_masks(reorder_to_volume(ordered, sag))
        result.from_reference = False
        return result

    pipeline.segment = segment


def _worker(queue: str, media: Path, log: Path) -> subprocess.Popen:
    """A prefork worker on the test database and media folder, logging to a file that
    the test can read while it runs."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "RADBOT_MEDIA_ROOT": str(media),
    }
    return start_worker([sys.executable, "-c", WORKER], queue=queue, env=env, stdout=log.open("wb"))


def _lost_count(log: Path) -> int:
    return log.read_text(errors="replace").count("WorkerLostError")


@pytest.mark.django_db(transaction=True)
def test_killing_the_pool_process_mid_stage_leaves_all_or_nothing(tmp_path, settings):
    require_worker_services()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    make_archive(tmp_path / "synth")
    train_tiny()
    study = Study.objects.order_by("pk").first()
    queue = f"radbot-kill-ai-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    worker = _worker(queue, settings.MEDIA_ROOT, log)
    try:
        killed = None
        for _ in range(5):  # the kill can land between two stages; then try another job
            job = request_inference(study=study, queue=queue)

            def in_network_stage(job=job) -> bool:
                job.refresh_from_db()
                return job.status == "running" and job.stage in {"segment", "classify"}

            wait_until(in_network_stage, 120, "the job to start a network stage")
            lost_before = _lost_count(log)
            for child in _pool_children(worker.pid):
                os.kill(child, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _lost_count(log) == lost_before:
                time.sleep(0.1)
            if _lost_count(log) > lost_before:
                killed = job
                break
            wait_until(lambda: bool(_pool_children(worker.pid)), 30, "a new pool process")

            def ended(job=job) -> bool:  # one job per study at a time: let this one end first
                job.refresh_from_db()
                return job.status in {"done", "failed"}

            wait_until(ended, 180, "the job the kill missed to end")
        assert killed is not None, "no kill landed inside a stage"

        def finished() -> bool:
            killed.refresh_from_db()
            return killed.status in {"done", "failed"}

        wait_until(finished, 180, "the redelivered stage and the rest of the chain")
        time.sleep(1)  # any duplicate stage still queued would run now
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    killed.refresh_from_db()
    assert killed.attempts >= 2, log.read_text(errors="replace")[-3000:]
    predictions = killed.predictions
    assert killed.status == InferenceJob.Status.DONE, killed.error
    assert predictions.count() == 5
    assert predictions.values("level").distinct().count() == 5
    assert set(killed.stage_seconds) >= set(InferenceJob.STAGES)
    leftovers = [p.name for p in selectors.job_dir(killed.pk).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
