"""Queue an ingest's follow-up work once its study commits: the thumbnails, the apps' work.

The one module that imports both the follow-up services and the tasks, so that the
services (studies/services/followups.py) never import the tasks, which import them.
Ingest (studies/services/ingest.py) hands each stored study to :func:`after_ingest`
on commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence

from django.db import transaction
from pydicom.dataset import Dataset

from radbot_web.tasks import eager as tasks_run_eagerly
from studies.models import PendingFollowUp
from studies.services import followups, thumbnails
from studies.tasks import render_series_thumbnail_task

logger = logging.getLogger(__name__)


def queue_thumbnails(
    *, study_id: int, series_ids: Sequence[int], datasets: Mapping[str, Dataset] | None = None
) -> bool:
    """Queue (or, eagerly, render) each series' thumbnail; record those that fail.

    True when every one was queued. Once publishing fails the broker is taken to be down
    and the remaining series are recorded without trying again (each try costs retries).
    """
    ok, broker_down, eager = True, False, tasks_run_eagerly()
    # When tasks run eagerly (embedded mode) each one would otherwise commit on its own;
    # one transaction for the study's thumbnails saves a disk sync per series, and each
    # render rolls back alone. Eager tasks also render from the data sets still in memory
    # instead of re-reading files. Queued on a broker, nothing touches the database
    # (unless publishing fails): no transaction, no savepoints (two round trips each).
    atomic = transaction.atomic if eager else contextlib.nullcontext
    with thumbnails.written_datasets(datasets), atomic():
        for series_id in series_ids:
            if broker_down:
                followups.record_followup(
                    kind=PendingFollowUp.Kind.THUMBNAIL,
                    study_id=study_id,
                    series_id=series_id,
                    error="not tried: the broker failed for an earlier series",
                )
                continue
            try:
                with atomic():
                    render_series_thumbnail_task.delay(series_id)
            except Exception as exc:  # noqa: BLE001 - broker, or the render itself when eager
                ok = False
                broker_down = not eager
                followups.record_followup(
                    kind=PendingFollowUp.Kind.THUMBNAIL,
                    study_id=study_id,
                    series_id=series_id,
                    error=exc,
                )
    return ok


def after_ingest(
    *, study_id: int, series_ids: Sequence[int], datasets: Mapping[str, Dataset] | None
) -> None:
    """The on-commit work of one stored study. Never raises: failures are recorded."""
    try:
        ok = queue_thumbnails(study_id=study_id, series_ids=series_ids, datasets=datasets)
        ok = followups.queue_handlers(study_id=study_id) and ok
        if ok and PendingFollowUp.objects.filter(attempts__lt=followups.MAX_AUTO_ATTEMPTS).exists():
            # queueing works again: catch up on what an earlier outage left
            requeue_followups(limit=followups.OPPORTUNISTIC_LIMIT)
    except Exception:
        logger.exception("follow-up work of study %s failed", study_id)


def requeue_followups(
    *, limit: int | None = None, include_exhausted: bool = False
) -> dict[str, int]:
    """Queue recorded follow-ups, oldest first (``followups.requeue_followups``, with the
    thumbnail task). Returns counts: queued, failed, left."""
    return followups.requeue_followups(
        queue_thumbnail=render_series_thumbnail_task.delay,
        limit=limit,
        include_exhausted=include_exhausted,
    )
