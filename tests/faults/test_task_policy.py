"""The project's task policy (radbot_web/tasks.py): every task has an explicit dotted name
and a time limit, and a task stopped by its time limit fails its job with the reason
(issue #15, part 5)."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from inference.models import InferenceJob, ModelVersion
from inference.services import jobs as job_services
from radbot_web.celery import app
from radbot_web.tasks import HARD_LIMIT_GRACE_S, radbot_task

# Queued messages and the beat schedule carry these names: renaming a task loses its messages.
PROJECT_TASKS = {
    "inference.segment",
    "inference.localise",
    "inference.measure",
    "inference.classify",
    "inference.store",
    "labeling.execute_labelling_run",
    "labeling.refresh_model_disagreement",
    "radbot.reap_stale_work",
    "reports.generate_ai_draft",
    "reports.send_due_results",
    "reports.send_result",
    "studies.render_series_thumbnail",
    "studies.requeue_followups",
}


def _project_tasks() -> dict:
    """Every task the worker registers: the ``tasks`` module of each app, as autodiscovery finds them."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    for config in apps.get_app_configs():
        if find_spec(f"{config.name}.tasks") is not None:
            import_module(f"{config.name}.tasks")
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_its_dotted_name_and_a_hard_limit_above_its_soft_one(settings):
    tasks = _project_tasks()
    assert set(tasks) == PROJECT_TASKS
    for name, task in tasks.items():
        assert (
            task.soft_time_limit > 0
            and task.time_limit == task.soft_time_limit + HARD_LIMIT_GRACE_S
        ), name
    network = {
        name
        for name, task in tasks.items()
        if task.soft_time_limit == settings.RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S
    }
    assert network == {"inference.segment", "inference.classify"}
    assert tasks["inference.measure"].soft_time_limit == settings.RADBOT_TASK_SOFT_TIME_LIMIT_S
    assert (
        tasks["labeling.execute_labelling_run"].soft_time_limit
        == settings.RADBOT_LABELLING_RUN_SOFT_TIME_LIMIT_S
    )
    # The periodic tasks are registered under the names the schedule gives.
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(tasks)


def test_a_task_must_be_given_a_dotted_name():
    with pytest.raises(TypeError):
        radbot_task(what="the nameless task")
    with pytest.raises(ValueError, match="not dotted"):
        radbot_task(name="nameless", what="the nameless task")


def _job() -> InferenceJob:
    from tests.factories import StudyFactory

    version = ModelVersion.objects.create(
        name="bare", weights_dir="models/bare", weight_files={}, config={}, data_split={}, seed=0
    )
    return InferenceJob.objects.create(study=StudyFactory(), model_version=version)


def test_a_stage_past_its_soft_time_limit_fails_the_job_with_the_reason(
    db, eager_celery, monkeypatch, settings
):
    """A worker raises SoftTimeLimitExceeded in the task once its soft limit passes; an
    eager run has no limits, so the stage's runner raises it here. It is not retried
    (it would run as long again), and the job fails saying why."""
    from inference.tasks import STAGE_TASKS

    job = _job()
    runs = []

    def too_slow(job: InferenceJob) -> None:
        runs.append(job.pk)
        raise SoftTimeLimitExceeded()

    monkeypatch.setitem(job_services._RUNNERS, "segment", too_slow)
    result = STAGE_TASKS["segment"].apply(args=(job.pk,), throw=False)
    assert result.state == "FAILURE" and runs == [job.pk]
    job.refresh_from_db()
    minutes = round(settings.RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S / 60)
    assert job.status == "failed" and job.progress == 100
    assert (
        job.error == f"segment stage stopped: it ran longer than its time limit ({minutes} minutes)"
    )


def test_a_stage_past_its_hard_time_limit_fails_the_job_with_the_reason(db):
    """Past the hard limit the worker kills the task's process and calls the task's
    on_failure with TimeLimitExceeded (celery.worker.request.Request.on_timeout)."""
    from inference.tasks import STAGE_TASKS

    job = _job()
    task = STAGE_TASKS["measure"]
    task.on_failure(TimeLimitExceeded(task.time_limit), "message-id", (job.pk,), {}, None)
    job.refresh_from_db()
    minutes = round(task.time_limit / 60)
    assert job.status == "failed"
    assert job.error == (
        f"measure stage killed: it ran past its hard time limit ({minutes} minutes) and its worker was stopped"
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_stops_a_stage_at_its_soft_time_limit_and_the_job_says_why(
    tmp_path, settings
):
    """A prefork worker enforces the soft limit: the stage is interrupted, the job fails
    with the reason well before the stage would have ended, and the worker lives on."""
    import os
    import signal
    import uuid

    from django.db import connection

    from inference.services.jobs import create_inference_job
    from inference.tasks import inference_chain
    from tests.conftest import require_worker_services
    from tests.factories import StudyFactory
    from tests.processes import start_worker_with_stage, wait_for_job_end

    require_worker_services()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    _job().delete()  # leaves the model version row a job needs
    queue = f"radbot-slow-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "RADBOT_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = tmp_path / "worker.log"
    worker = start_worker_with_stage("lambda job: time.sleep(60)", queue=queue, env=env, log=log)
    try:
        job = create_inference_job(study=StudyFactory())
        stages = inference_chain(job.pk, queue=queue)
        stages.tasks[0].set(
            soft_time_limit=2, time_limit=2 + HARD_LIMIT_GRACE_S
        )  # the segment stage
        stages.apply_async()
        wait_for_job_end(job, 50)  # the stage itself would take 60 s
        alive = worker.poll() is None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert job.status == "failed", output[-3000:]
    assert job.error == "segment stage stopped: it ran longer than its time limit (2 s)", output[
        -3000:
    ]
    assert job.stage == "segment" and alive
