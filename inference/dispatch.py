"""Request an inference job: create it, and publish its chain of stage tasks once it commits.

The one module that imports both the job services and the tasks, so that the
services (inference/services/jobs.py) never import the tasks, which import them.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from inference.models import InferenceJob, ModelVersion
from inference.services.jobs import JobNotQueued, create_inference_job, fail_job
from inference.stages import STAGE_NAMES
from inference.tasks import STAGE_TASKS, inference_chain
from radbot_web.tasks import eager, publish_failure_reason
from studies.models import Study

log = logging.getLogger(__name__)


@transaction.atomic
def request_inference(
    *, study: Study, user=None, model_version: ModelVersion | None = None, queue: str | None = None
) -> InferenceJob:
    """Queue a job for the study as a chain of stage tasks once the job is committed.

    The network stages go to ``inference.tasks.inference_queue()``, the others to the default queue;
    ``queue`` sends every stage to that one queue instead. Raises ``JobActive`` while
    another job for the study is queued or running (a stale one is failed first),
    ``NoModel`` when nothing is trained. When the broker cannot be reached, the job is
    failed with the reason rather than left queued, and ``JobNotQueued`` is raised once
    the job has committed (from the on-commit hook: the caller's outermost
    transaction), so the caller can tell the user or queue the work later.
    """
    job = create_inference_job(study=study, user=user, model_version=model_version)
    transaction.on_commit(partial(_publish, job.pk, queue))
    return job


def _publish(job_id: int, queue: str | None) -> None:
    """Send the job's chain to the broker; a job that cannot be queued is failed with the reason."""
    if eager():
        # In-process: the stages run now. A stage that raises fails the job with the
        # reason a worker's task would give (eager tasks propagate their errors instead of
        # running RadbotTask.on_failure), and the caller reads it on the job, as from a
        # worker: the request that asked for the job did its part.
        try:
            inference_chain(job_id, queue=queue).apply_async()
        except Exception as exc:
            log.exception("inference job %s failed in-process", job_id)
            stage = InferenceJob.objects.filter(pk=job_id).values_list("stage", flat=True).first()
            task = STAGE_TASKS.get(stage or "", STAGE_TASKS[STAGE_NAMES[0]])
            fail_job(job_id=job_id, reason=task.failure_reason(exc))
        return
    try:
        inference_chain(job_id, queue=queue).apply_async()
    except Exception as exc:
        log.exception("inference job %s could not be queued", job_id)
        reason = publish_failure_reason(exc)
        fail_job(job_id=job_id, reason=reason)
        raise JobNotQueued(f"The AI job failed: {reason}") from exc
