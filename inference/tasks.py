"""Celery tasks for image models: take ids, call one service.

An inference job is a chain of five tasks, one per stage (segment -> localise ->
measure -> classify -> store), each taking the job id. They follow the
project's task policy (radbot_web/tasks.py): acks_late with reject_on_worker_lost, so
a worker killed mid-stage returns the message to the broker and the stage runs again,
overwriting its own output (see inference/services/jobs.py); transient errors (files,
database connection) are retried with exponential back-off; a stage that still fails,
fails for good, or whose worker died more than RADBOT_TASK_MAX_ATTEMPTS times, marks
the job failed with the reason.

Queues: segment and classify (the networks) go to ``settings.RADBOT_INFERENCE_QUEUE``
(default: the default queue) so GPU workers can take only those, e.g.
``celery -A radbot_web worker -Q radbot-gpu --concurrency=1`` with
``RADBOT_INFERENCE_QUEUE=radbot-gpu``; the other stages go to the default queue.
"""

from __future__ import annotations

from celery import Task, chain

from inference.services.jobs import (
    STAGES,
    execute_inference_job,
    fail_job,
    inference_queue,
    run_stage,
)
from radbot_web.tasks import radbot_task

NETWORK_STAGES = frozenset({"segment", "classify"})


def _fail(reason: str, job_id: int) -> None:
    fail_job(job_id=job_id, reason=reason)


def _worker_name(task: Task) -> str:
    # Eager (in-process) runs have no worker hostname.
    return "" if task.request.is_eager else (task.request.hostname or "")


def _run(task: Task, job_id: int, stage: str) -> str:
    # The retry number lets the job's own attempt counter tell retries from redeliveries.
    return run_stage(job_id=job_id, stage=stage, worker=_worker_name(task), retries=task.request.retries or 0).status


@radbot_task(name="inference.segment", what="the segment stage", fail=_fail, bind=True)
def segment_task(self: Task, job_id: int) -> str:
    return _run(self, job_id, "segment")


@radbot_task(name="inference.localise", what="the localise stage", fail=_fail, bind=True)
def localise_task(self: Task, job_id: int) -> str:
    return _run(self, job_id, "localise")


@radbot_task(name="inference.measure", what="the measure stage", fail=_fail, bind=True)
def measure_task(self: Task, job_id: int) -> str:
    return _run(self, job_id, "measure")


@radbot_task(name="inference.classify", what="the classify stage", fail=_fail, bind=True)
def classify_task(self: Task, job_id: int) -> str:
    return _run(self, job_id, "classify")


@radbot_task(name="inference.store", what="the store stage", fail=_fail, bind=True)
def store_task(self: Task, job_id: int) -> str:
    return _run(self, job_id, "store")


STAGE_TASKS = {
    "segment": segment_task,
    "localise": localise_task,
    "measure": measure_task,
    "classify": classify_task,
    "store": store_task,
}


def inference_chain(job_id: int, *, queue: str | None = None) -> chain:
    """The job's five stage tasks; ``queue`` puts all of them on that queue."""
    signatures = []
    for stage in STAGES:
        signature = STAGE_TASKS[stage].si(job_id)
        target = queue or (inference_queue() if stage in NETWORK_STAGES else None)
        if target:
            signature = signature.set(queue=target)
        signatures.append(signature)
    return chain(*signatures)


@radbot_task(what="the inference job", fail=_fail)
def run_inference_job_task(job_id: int) -> str:
    """Every stage in one task (kept for messages queued before the stages were split)."""
    return execute_inference_job(job_id=job_id).status
