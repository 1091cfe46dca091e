"""A worker process killed in the middle of an inference job leaves no half-written result.

The job's task is acks_late with reject_on_worker_lost: the message returns to
the broker, the job runs again (attempt 2), and its predictions are written in
one transaction, so the study ends with all five predictions or none.
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest
from django.conf import settings
from django.db import connection

from inference.models import InferenceJob
from inference.services.jobs import request_inference
from studies.models import Study
from tests.conftest import require_service
from tests.inference.helpers import make_archive, train_tiny
from tests.services.test_killed_worker import _pool_children, _wait, _worker

pytestmark = pytest.mark.services


@pytest.mark.django_db(transaction=True)
def test_killing_the_pool_process_mid_job_leaves_all_or_nothing(tmp_path):
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (a worker process needs a database it can share)")
    if settings.CELERY_TASK_ALWAYS_EAGER:
        require_service("Celery broker (set CELERY_BROKER_URL=redis://...)")
    make_archive(tmp_path / "synth")
    train_tiny()
    study = Study.objects.order_by("pk").first()
    queue = f"radbot-kill-ai-{uuid.uuid4().hex[:8]}"
    worker = _worker(queue)
    try:
        killed = None
        for _ in range(5):  # a job can finish before the kill lands; then try another
            job = request_inference(study=study, queue=queue)

            def started(job=job) -> bool:
                job.refresh_from_db()
                return job.status == "running" and job.stage in {"segment", "localise", "measure", "classify"}

            _wait(started, 120, "the job to start a stage")
            for child in _pool_children(worker.pid):
                os.kill(child, signal.SIGKILL)
            job.refresh_from_db()
            if job.status == "running":
                killed = job
                break
            _wait(lambda: bool(_pool_children(worker.pid)), 30, "a new pool process")
        assert killed is not None, "every job finished before the kill"

        def finished() -> bool:
            killed.refresh_from_db()
            return killed.status in {"done", "failed"}

        _wait(finished, 120, "the redelivered job to finish")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        log = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "WorkerLostError" in log, log[-2000:]
    assert killed.attempts >= 2
    expected = 5 if killed.status == InferenceJob.Status.DONE else 0
    assert killed.predictions.count() == expected
    if killed.status == InferenceJob.Status.FAILED:
        assert killed.error.startswith("cannot assign disc levels")
