"""The broker stopped during an upload: the study is stored, its follow-ups recorded, and
they run once the broker is back (issue #11, "Faults"; review #2).

The test starts a private redis-server as the Celery broker, so stopping it disturbs no
one else. With PostgreSQL a real worker process then renders the thumbnail; on SQLite
(a laptop) the test shows the task was published and runs it in-process instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from studies.models import Instance, PendingFollowUp, Series, Study
from tests.conftest import require_service
from tests.factories import make_user
from tests.processes import free_port, wait_until
from tests.studies.batch import sagittal_series

ROOT = Path(__file__).resolve().parents[2]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, 30, "the private redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def llen(self, key: str) -> int:
        import redis

        return redis.Redis.from_url(self.url).llen(key)


def _use_broker(app, url: str | None, eager: bool) -> None:
    app.conf.broker_url = url
    app.conf.task_always_eager = eager
    # connections are pooled per URL: drop the pools so the next publish uses this one
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(settings, monkeypatch):
    if shutil.which("redis-server") is None:
        require_service("redis-server (a private broker the test can stop)")
    from radbot_web.celery import app

    before = (app.conf.broker_url, app.conf.task_always_eager, app.conf.task_publish_retry_policy)
    broker = PrivateRedis()
    broker.start()
    # Celery reads CELERY_BROKER_URL from the environment before its own setting
    monkeypatch.setenv("CELERY_BROKER_URL", broker.url)
    _use_broker(app, broker.url, eager=False)
    # fail fast when the broker is down instead of retrying for seconds
    app.conf.task_publish_retry_policy = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.1,
        "interval_max": 0.1,
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield broker
    finally:
        broker.stop()
        _use_broker(app, before[0], eager=before[1])
        app.conf.task_publish_retry_policy = before[2]


def _worker(broker_url: str, media_root: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "RADBOT_MEDIA_ROOT": str(media_root),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "radbot_web",
            "worker",
            "--pool=solo",
            "-Q",
            django_settings.CELERY_TASK_DEFAULT_QUEUE,
            "-n",
            f"broker-fault-{os.getpid()}@%h",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_broker_is_down_is_stored_and_its_thumbnails_follow(
    private_broker, api_client, settings
):
    api_client.force_authenticate(make_user("radiologist"))
    private_broker.stop()

    response = api_client.post(
        "/api/studies/upload",
        {"files": [SimpleUploadedFile(name, data) for name, data in sagittal_series(3)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert len(response.json()["stored"]) == 3
    study, series = Study.objects.get(), Series.objects.get()
    for instance in Instance.objects.all():
        assert (settings.MEDIA_ROOT / instance.file).is_file()
    pending = PendingFollowUp.objects.get()
    assert (pending.kind, pending.study_id, pending.series_id) == ("thumbnail", study.pk, series.pk)
    assert pending.last_error and not series.thumbnail

    # still down: the command leaves it pending, counting the attempt
    call_command("requeue_followups")
    pending.refresh_from_db()
    assert pending.attempts == 2

    private_broker.start()
    call_command("requeue_followups")
    assert not PendingFollowUp.objects.exists()
    assert (
        private_broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 1
    )  # the thumbnail task is on the broker

    if connection.vendor == "postgresql":
        worker = _worker(private_broker.url, settings.MEDIA_ROOT)
        try:

            def drawn() -> bool:
                series.refresh_from_db()
                return bool(series.thumbnail)

            wait_until(drawn, 120, "a worker to render the thumbnail")
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.communicate(timeout=60)
    else:
        # no database a worker process could share (SQLite): run the queued task here
        from studies.tasks import render_series_thumbnail_task

        render_series_thumbnail_task.apply(args=[series.pk])
        series.refresh_from_db()
    assert (settings.MEDIA_ROOT / series.thumbnail).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.django_db(transaction=True)
def test_the_ai_run_after_ingest_is_queued_once_the_broker_is_back(
    private_broker, api_client, settings
):
    from inference.models import InferenceJob
    from tests.reports.review_helpers import model_version

    settings.RADBOT_INFER_AFTER_INGEST = True
    model_version()
    api_client.force_authenticate(make_user("radiologist"))
    private_broker.stop()
    response = api_client.post(
        "/api/studies/upload",
        {"files": [SimpleUploadedFile(name, data) for name, data in sagittal_series(2)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert sorted(PendingFollowUp.objects.values_list("kind", flat=True)) == [
        "inference",
        "thumbnail",
    ]
    job = InferenceJob.objects.get()  # created, but its chain never reached the broker:
    assert (
        job.status == "failed" and "broker unavailable" in job.error
    )  # said so, never left queued

    private_broker.start()
    call_command("requeue_followups")
    assert not PendingFollowUp.objects.exists()
    again = InferenceJob.objects.exclude(
        pk=job.pk
    ).get()  # one new job, the failed one kept as it was
    assert again.status == "queued" and InferenceJob.objects.count() == 2
    queued = sum(
        private_broker.llen(q)
        for q in {settings.CELERY_TASK_DEFAULT_QUEUE, settings.RADBOT_INFERENCE_QUEUE}
    )
    assert queued >= 2  # the thumbnail task and the job's first stage
