"""Celery tasks for studies: take ids, call one service."""

from radbot_web.tasks import radbot_task
from studies.services.followups import requeue_followups
from studies.services.thumbnails import render_series_thumbnail


@radbot_task(name="studies.render_series_thumbnail", what="the thumbnail", max_retries=3)
def render_series_thumbnail_task(series_id: int) -> str:
    return render_series_thumbnail(series_id=series_id)


@radbot_task(name="studies.requeue_followups", what="the follow-up requeue", max_retries=0)
def requeue_followups_task() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): queue the follow-ups an earlier ingest could not."""
    return requeue_followups(queue_thumbnail=render_series_thumbnail_task.delay)
