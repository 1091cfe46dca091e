"""Celery tasks for image models: take ids, call one service.

An inference job is a chain of five tasks, one per stage (segment -> localise ->
measure -> classify -> store), each taking the job id. They are acks_late with
reject_on_worker_lost: a worker killed mid-stage returns the message to the broker
and the stage runs again, overwriting its own output (see inference/services/jobs.py).
Transient errors (files, database connection) are retried with exponential back-off;
a stage that still fails, or fails for good, marks the job failed with the reason.

Queues: segment and classify (the networks) go to ``settings.RADBOT_INFERENCE_QUEUE``
(default: the default queue) so GPU workers can take only those, e.g.
``celery -A radbot_web worker -Q radbot-gpu --concurrency=1`` with
``RADBOT_INFERENCE_QUEUE=radbot-gpu``; the other stages go to the default queue.
"""

from __future__ import annotations

from celery import Task, chain, shared_task
from django.db import InterfaceError, OperationalError

from inference.services.jobs import (
    STAGES,
    execute_inference_job,
    fail_job,
    inference_queue,
    run_stage,
)

NETWORK_STAGES = frozenset({"segment", "classify"})

STAGE_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OSError, OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


class InferenceStageTask(Task):
    stage = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Called once retries are exhausted or for an error not worth retrying.
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is not None:
            fail_job(job_id=job_id, reason=f"{self.stage} stage failed: {type(exc).__name__}: {exc}")


def _worker_name(task: Task) -> str:
    # Eager (in-process) runs have no worker hostname.
    return "" if task.request.is_eager else (task.request.hostname or "")


@shared_task(base=InferenceStageTask, name="inference.segment", stage="segment", bind=True, **STAGE_TASK_OPTIONS)
def segment_task(self: Task, job_id: int) -> str:
    return run_stage(job_id=job_id, stage="segment", worker=_worker_name(self)).status


@shared_task(base=InferenceStageTask, name="inference.localise", stage="localise", bind=True, **STAGE_TASK_OPTIONS)
def localise_task(self: Task, job_id: int) -> str:
    return run_stage(job_id=job_id, stage="localise", worker=_worker_name(self)).status


@shared_task(base=InferenceStageTask, name="inference.measure", stage="measure", bind=True, **STAGE_TASK_OPTIONS)
def measure_task(self: Task, job_id: int) -> str:
    return run_stage(job_id=job_id, stage="measure", worker=_worker_name(self)).status


@shared_task(base=InferenceStageTask, name="inference.classify", stage="classify", bind=True, **STAGE_TASK_OPTIONS)
def classify_task(self: Task, job_id: int) -> str:
    return run_stage(job_id=job_id, stage="classify", worker=_worker_name(self)).status


@shared_task(base=InferenceStageTask, name="inference.store", stage="store", bind=True, **STAGE_TASK_OPTIONS)
def store_task(self: Task, job_id: int) -> str:
    return run_stage(job_id=job_id, stage="store", worker=_worker_name(self)).status


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


@shared_task(**STAGE_TASK_OPTIONS)
def run_inference_job_task(job_id: int) -> str:
    """Every stage in one task (kept for messages queued before the stages were split)."""
    return execute_inference_job(job_id=job_id).status
