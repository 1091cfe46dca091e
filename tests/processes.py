"""What the tests that start processes of their own (servers, workers) share."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    predicate: Callable[[], object], timeout: float, what: str, *, every: float = 0.1
) -> None:
    """Poll ``predicate`` until it is true, or fail naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(program: list[str], *, queue: str, env: dict, stdout: Any) -> subprocess.Popen:
    """A real Celery worker (prefork, one child, no heartbeat or gossip) on ``queue``, started
    by ``program`` (``celery -A radbot_web``, or a script that patches something first) in its
    own session. Stop it with ``os.killpg(worker.pid, signal.SIGTERM)``."""
    return subprocess.Popen(
        [
            *program,
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_worker_with_stage(
    stage_code: str, *, queue: str, env: dict, log: Path
) -> subprocess.Popen:
    """A real Celery worker (prefork, one child) on ``queue`` whose segment stage is replaced
    by ``stage_code``, a lambda of the job, e.g. one that sleeps past a time limit or kills
    its own process. Stop it with ``os.killpg(worker.pid, signal.SIGTERM)``."""
    script = (
        "import os, signal, sys, time\n"
        "import django\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")\n'
        "django.setup()\n"
        "from inference.services import jobs\n"
        f'jobs._RUNNERS["segment"] = {stage_code}\n'
        "from radbot_web.celery import app\n"
        "app.worker_main(sys.argv[1:])\n"
    )
    return start_worker([sys.executable, "-c", script], queue=queue, env=env, stdout=log.open("wb"))


def wait_for_job_end(job: Any, timeout: float) -> None:
    """Refresh ``job`` until it is done or failed, or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in {"done", "failed"}:
            return
        time.sleep(0.1)
