"""Celery tasks for studies: take ids, call one service."""

from celery import shared_task

from studies.services.thumbnails import render_series_thumbnail


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def render_series_thumbnail_task(series_id: int) -> str:
    return render_series_thumbnail(series_id=series_id)
