"""RADBOT_INFERENCE_QUEUE sends the network stages to the workers that read that queue.

A second worker (the "GPU" worker) reads only the inference queue; the worker on the
default queue (CI starts it) takes the other stages. Each stage records the worker
that ran it, so the test reads the routing off the finished job.
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from inference.dispatch import request_inference
from inference.models import InferenceJob
from inference.services.jobs import IN_PROCESS
from studies.models import Study
from tests.conftest import require_service, require_worker_services
from tests.inference.helpers import make_archive, train_tiny
from tests.processes import wait_until
from tests.services.test_killed_inference_worker import _worker

pytestmark = pytest.mark.services

NETWORK = ("segment", "classify")
OTHERS = ("localise", "measure", "store")


@pytest.mark.django_db(transaction=True)
def test_network_stages_run_on_the_inference_queues_worker(tmp_path, settings):
    from radbot_web.celery import app

    require_worker_services()
    if not app.control.ping(timeout=5):
        require_service("a Celery worker on the default queue (celery -A radbot_web worker)")
    make_archive(tmp_path / "synth")
    train_tiny()
    gpu_queue = f"radbot-gpu-{uuid.uuid4().hex[:8]}"
    settings.RADBOT_INFERENCE_QUEUE = gpu_queue
    log = tmp_path / "gpu-worker.log"
    gpu_worker = _worker(gpu_queue, settings.MEDIA_ROOT, log)
    try:
        job = request_inference(study=Study.objects.order_by("pk").first())

        def finished() -> bool:
            job.refresh_from_db()
            return job.status in {"done", "failed"}

        wait_until(finished, 240, "the job's five stages on two workers")
    finally:
        os.killpg(gpu_worker.pid, signal.SIGTERM)
        gpu_worker.wait(timeout=30)
    assert job.status == InferenceJob.Status.DONE, (
        f"{job.error}\n{log.read_text(errors='replace')[-3000:]}"
    )
    assert set(job.stage_workers) == set(InferenceJob.STAGES)
    assert {job.stage_workers[stage].split("@")[0] for stage in NETWORK} == {gpu_queue}
    others = {job.stage_workers[stage] for stage in OTHERS}
    assert all(name and name != IN_PROCESS and not name.startswith(gpu_queue) for name in others), (
        others
    )
