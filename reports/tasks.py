"""Celery tasks for AI reports: take ids, call one service."""

from __future__ import annotations

import logging

from radbot_web.tasks import radbot_task
from reports.outbox.tasks import send_due_results_task, send_result_task
from reports.services import DraftNotApplied, DraftNotPossible, create_ai_draft

# The outbox's tasks live with the outbox; imported here so that Celery's autodiscovery
# (which reads <app>.tasks) registers them.
__all__ = ["generate_ai_draft_task", "send_due_results_task", "send_result_task"]

log = logging.getLogger(__name__)


# The project's task policy (acks_late, retries, redelivery cap): the service is
# idempotent per job, so a redelivered or retried task never makes a second version.
@radbot_task(name="reports.generate_ai_draft", what="the AI draft")
def generate_ai_draft_task(job_id: int) -> int | None:
    """The new draft's version id, or None when the reading is not turned into a draft."""
    try:
        return create_ai_draft(job_id=job_id).pk
    except (DraftNotPossible, DraftNotApplied) as refused:
        log.info("no AI draft from job %s: %s", job_id, refused.message)
        return None
