"""Celery tasks for image models: take ids, call one service.

An inference job is a chain of one task per stage (segment -> localise -> measure ->
classify -> store), each taking the job id. The tasks and the chain are generated from
the stage table, ``inference.stages.STAGES``. They follow the project's task
policy (radbot_web/tasks.py): acks_late with reject_on_worker_lost, so a worker killed
mid-stage returns the message to the broker and the stage runs again, overwriting its
own output (see inference/services/jobs.py); transient errors (files, database
connection) are retried with exponential back-off; a stage that still fails, fails for
good, runs past its time limit, or whose worker died more than RADBOT_TASK_MAX_ATTEMPTS
times, marks the job failed with the reason.

Queues: the stages that run a network (segment, classify) go to
``settings.RADBOT_INFERENCE_QUEUE`` (default: the default queue) so GPU workers can
take only those, e.g. ``celery -A radbot_web worker -Q radbot-gpu --concurrency=1``
with ``RADBOT_INFERENCE_QUEUE=radbot-gpu``; they have the longer time limit
``RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S``. The other stages go to the default queue.
"""

from __future__ import annotations

from celery import Task, chain
from django.conf import settings

from inference.services.jobs import fail_job, run_stage
from inference.stages import STAGES, Stage
from radbot_web.tasks import radbot_task


def _fail(reason: str, job_id: int) -> None:
    fail_job(job_id=job_id, reason=reason)


def _worker_name(task: Task) -> str:
    # Eager (in-process) runs have no worker hostname.
    return "" if task.request.is_eager else (task.request.hostname or "")


def inference_queue() -> str:
    """The queue of the network stages (segment, classify), e.g. for GPU workers."""
    return getattr(settings, "RADBOT_INFERENCE_QUEUE", None) or settings.CELERY_TASK_DEFAULT_QUEUE


def _stage_task(stage: Stage) -> Task:
    """The Celery task ``inference.<stage>``: runs that stage of the job it is given."""

    @radbot_task(
        name=f"inference.{stage.name}",
        what=f"the {stage.name} stage",
        fail=_fail,
        bind=True,
        soft_time_limit=settings.RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S
        if stage.runs_network
        else None,
    )
    def run_stage_task(self: Task, job_id: int) -> str:
        # The retry number lets the job's own attempt counter tell retries from redeliveries.
        retries = self.request.retries or 0
        return run_stage(
            job_id=job_id, stage=stage.name, worker=_worker_name(self), retries=retries
        ).status

    return run_stage_task


# Stage name -> its task (registered under ``inference.<name>``, the name queued messages carry).
STAGE_TASKS: dict[str, Task] = {stage.name: _stage_task(stage) for stage in STAGES}


def inference_chain(job_id: int, *, queue: str | None = None) -> chain:
    """The job's stage tasks in order; ``queue`` puts all of them on that queue."""
    signatures = []
    for stage in STAGES:
        signature = STAGE_TASKS[stage.name].si(job_id)
        target = queue or (inference_queue() if stage.runs_network else None)
        if target:
            signature = signature.set(queue=target)
        signatures.append(signature)
    return chain(*signatures)
