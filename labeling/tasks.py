"""Celery tasks for labels: take ids, call one service."""

from celery import shared_task

from labeling.services import execute_labelling_run


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def execute_labelling_run_task(run_id: int) -> int:
    return execute_labelling_run(run_id=run_id).done


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def refresh_model_disagreement_task(study_id: int) -> int:
    from labeling.services_curation import refresh_model_disagreement

    return refresh_model_disagreement(study_ids=[study_id])
