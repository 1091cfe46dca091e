"""Reactions to other apps' signals (connected in ReportsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def draft_report_when_job_done(sender: Any, job_id: int, **kwargs: Any) -> None:
    """A finished inference job gets its AI draft written by a worker."""
    # Here, not at the top: ReportsConfig.ready imports this module at every start-up, and
    # the task brings the report services (numpy included, 0.15 s) with it.
    from reports.tasks import generate_ai_draft_task

    # The signal is sent after commit; on_commit still guards a sender inside a transaction.
    transaction.on_commit(lambda: generate_ai_draft_task.delay(job_id))
