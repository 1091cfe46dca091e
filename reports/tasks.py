"""Celery tasks for AI reports: take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports.services import DraftNotApplied, DraftNotPossible, create_ai_draft

log = logging.getLogger(__name__)


# acks_late: a worker killed mid-task leaves the message for another; the service is
# idempotent per job, so a redelivered or retried task never makes a second version.
@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError, OSError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def generate_ai_draft_task(job_id: int) -> int | None:
    """The new draft's version id, or None when the reading is not turned into a draft."""
    try:
        return create_ai_draft(job_id=job_id).pk
    except (DraftNotPossible, DraftNotApplied) as refused:
        log.info("no AI draft from job %s: %s", job_id, refused.message)
        return None
