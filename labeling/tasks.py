"""Celery tasks for labels: take ids, call one service (project task policy: radbot_web/tasks.py)."""

from django.conf import settings

from labeling.curation.services import refresh_model_disagreement
from labeling.services import execute_labelling_run, fail_run
from radbot_web.tasks import radbot_task


def _fail(reason: str, run_id: int) -> None:
    fail_run(run_id=run_id, reason=reason)


# A run commits its progress per batch and resumes where it stopped: it may take hours.
@radbot_task(
    name="labeling.execute_labelling_run",
    what="the labelling run",
    fail=_fail,
    max_retries=3,
    soft_time_limit=settings.RADBOT_LABELLING_RUN_SOFT_TIME_LIMIT_S,
)
def execute_labelling_run_task(run_id: int) -> int:
    return execute_labelling_run(run_id=run_id).done


@radbot_task(
    name="labeling.refresh_model_disagreement", what="the model-disagreement refresh", max_retries=3
)
def refresh_model_disagreement_task(study_id: int) -> int:
    return refresh_model_disagreement(study_ids=[study_id])
