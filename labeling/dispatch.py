"""Start a labelling run: create it, and publish its task once it commits.

The one module that imports both the label services and the tasks, so that the
services (labeling/services.py) never import the tasks, which import them.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from labeling import services
from labeling.models import LabellingRun
from labeling.tasks import execute_labelling_run_task
from radbot_web.tasks import NotQueued, eager, publish_failure_reason

log = logging.getLogger(__name__)


@transaction.atomic
def start_labelling_run(*, user=None, queue: str | None = None) -> LabellingRun:
    """Create a run for every report the current labeller has not labelled; enqueue it on commit.

    When the broker cannot be reached the run is failed with the reason, never left
    queued, and ``NotQueued`` is raised once it has committed (radbot_web/tasks.py).
    """
    _, version = services.current_labeller()
    run = LabellingRun.objects.create(
        labeller=version, total=services.pending_reports(version).count(), started_by=user
    )
    transaction.on_commit(partial(_publish_run, run.pk, queue))
    return run


def _publish_run(run_id: int, queue: str | None) -> None:
    if eager():
        execute_labelling_run_task.apply_async((run_id,), queue=queue)
        return
    try:
        execute_labelling_run_task.apply_async((run_id,), queue=queue)
    except Exception as exc:
        log.exception("labelling run %s could not be queued", run_id)
        reason = publish_failure_reason(exc)
        services.fail_run(run_id=run_id, reason=reason)
        raise NotQueued(f"The labelling run failed: {reason}") from exc
