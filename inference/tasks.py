"""Celery tasks for image models: take ids, call one service."""

from celery import shared_task

from inference.services.jobs import execute_inference_job


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=60, max_retries=5)
def run_inference_job_task(job_id: int) -> str:
    return execute_inference_job(job_id=job_id).status
