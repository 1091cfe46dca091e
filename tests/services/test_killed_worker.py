"""A worker process killed in the middle of a labelling run loses nothing.

The task is acks_late with reject_on_worker_lost: when the pool process dies,
the message goes back to the broker, the run resumes from the reports still
unlabelled, and the unique constraint keeps a repeated batch from writing twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from labeling.dispatch import start_labelling_run
from labeling.models import LabellingRun, NlpLabel
from studies.models import RadiologistReport
from tests.conftest import require_worker_services
from tests.factories import StudyFactory
from tests.processes import start_worker, wait_until

pytestmark = pytest.mark.services


def _worker(queue: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "RADBOT_LABELLING_BATCH": "5",
    }
    return start_worker(
        [sys.executable, "-m", "celery", "-A", "radbot_web"],
        queue=queue,
        env=env,
        stdout=subprocess.PIPE,
    )


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.django_db(transaction=True)
def test_killing_the_pool_process_mid_run_loses_nothing():
    require_worker_services()
    reports = [
        RadiologistReport(
            study=StudyFactory(),
            text=f"FINDINGS: L4-5: mild disc bulge number {i}.",
            text_sha256=f"k{i}",
            source="import",
        )
        for i in range(240)
    ]
    RadiologistReport.objects.bulk_create(reports)
    queue = f"radbot-kill-{uuid.uuid4().hex[:8]}"
    worker = _worker(queue)
    try:
        run = start_labelling_run(queue=queue)

        def progressed() -> bool:
            run.refresh_from_db()
            return run.done >= 10

        wait_until(progressed, 90, "the first batches")
        children = _pool_children(worker.pid)
        assert children, "no pool process to kill"
        for child in children:
            os.kill(child, signal.SIGKILL)
        run.refresh_from_db()
        assert run.status != "done", "the run finished before the kill; make it longer"

        def finished() -> bool:
            run.refresh_from_db()
            return run.status == LabellingRun.Status.DONE

        wait_until(finished, 120, "the redelivered task to finish the run")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        log = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "WorkerLostError" in log, log[-2000:]
    assert run.done == run.total == 240
    assert NlpLabel.objects.count() == 240 * 5
    assert NlpLabel.objects.values("report").distinct().count() == 240
