"""Celery tasks for studies: take ids, call one service."""

from radbot_web.tasks import radbot_task
from studies.services.thumbnails import render_series_thumbnail


@radbot_task(what="the thumbnail", max_retries=3)
def render_series_thumbnail_task(series_id: int) -> str:
    return render_series_thumbnail(series_id=series_id)
