"""Work an ingest queues after its study commits (thumbnails, the AI run), never lost.

The study's rows and files are committed first. Queueing happens after the commit, and
it can fail: the broker is down, or (embedded mode, tasks run in-process) a thumbnail
render fails. Such work is recorded as a ``PendingFollowUp`` instead of failing the
upload, and done later by ``requeue_followups``: from ``manage.py requeue_followups``,
the periodic ``studies.requeue_followups`` task, or right after the next ingest whose own
queueing succeeded (the broker is evidently back).

The queueing itself, which needs the thumbnail task, is in ``studies.dispatch``: this
module never imports studies.tasks, which imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from radbot_web.tasks import eager
from studies.models import PendingFollowUp, Series

logger = logging.getLogger(__name__)

# After this many failed attempts a follow-up stays listed but is no longer retried
# automatically (a thumbnail that cannot be drawn from its pixels will never be).
MAX_AUTO_ATTEMPTS = 10
# The next successful ingest retries at most this many, so one upload does not pay for all.
OPPORTUNISTIC_LIMIT = 50


@dataclass(frozen=True)
class FollowUpHandler:
    """Work an app above studies does after an ingest (the AI run), so studies never imports it.

    The app registers it in its ``AppConfig.ready``. ``queue`` is called on commit with the
    stored study's id and raises when the work could not be queued (it is then recorded);
    ``redo`` performs a recorded follow-up of this ``kind`` later, and raises when it still
    cannot.
    """

    kind: str
    queue: Callable[[int], None]
    redo: Callable[[PendingFollowUp], None]


_HANDLERS: dict[str, FollowUpHandler] = {}


def register_followup(handler: FollowUpHandler) -> None:
    """Add (or replace: ``ready`` may run more than once) the handler of one kind."""
    _HANDLERS[handler.kind] = handler


def _describe(error: BaseException | str) -> str:
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    return text[:2000]


def record_followup(
    *, kind: str, study_id: int, series_id: int | None = None, error: BaseException | str
) -> None:
    """Remember work that could not be queued; a second failure counts an attempt."""
    text = _describe(error)
    logger.warning(
        "could not queue %s for study %s (series %s), recorded to retry: %s",
        kind,
        study_id,
        series_id,
        text[:300],
    )
    try:
        with transaction.atomic():
            updated = PendingFollowUp.objects.filter(
                kind=kind, study_id=study_id, series_id=series_id
            ).update(attempts=F("attempts") + 1, last_error=text, updated_at=timezone.now())
            if not updated:
                with transaction.atomic():
                    PendingFollowUp.objects.create(
                        kind=kind, study_id=study_id, series_id=series_id, last_error=text
                    )
    except IntegrityError:
        # recorded concurrently by another process, or the study was deleted meanwhile
        PendingFollowUp.objects.filter(kind=kind, study_id=study_id, series_id=series_id).update(
            attempts=F("attempts") + 1, last_error=text, updated_at=timezone.now()
        )
    except Exception:
        logger.exception("could not record the pending %s for study %s", kind, study_id)


def queue_handlers(*, study_id: int) -> bool:
    """Queue every registered app's after-ingest work; record what could not be queued."""
    ok = True
    for handler in _HANDLERS.values():
        try:
            handler.queue(study_id)
        except Exception as exc:  # noqa: BLE001 - typically the broker: the work is queued later
            record_followup(kind=handler.kind, study_id=study_id, error=exc)
            ok = False
    return ok


def _perform(row: PendingFollowUp, queue_thumbnail: Callable[[int], object]) -> None:
    if row.kind == PendingFollowUp.Kind.THUMBNAIL:
        series = Series.objects.filter(pk=row.series_id).first()
        if series is None or series.thumbnail:
            return  # deleted, or drawn meanwhile
        queue_thumbnail(series.pk)
        return
    handler = _HANDLERS.get(row.kind)
    if handler is None:
        raise LookupError(f"no app handles {row.kind} follow-ups (is it installed?)")
    handler.redo(row)


def requeue_followups(
    *,
    queue_thumbnail: Callable[[int], object],
    limit: int | None = None,
    include_exhausted: bool = False,
) -> dict[str, int]:
    """Queue recorded follow-ups, oldest first. Returns counts: queued, failed, left.

    ``queue_thumbnail`` queues (or, eagerly, renders) one series' thumbnail: the thumbnail
    task, passed in by its callers (``studies.dispatch``, ``studies.tasks``) because
    studies.tasks imports this module. A follow-up is deleted once its work is queued (or
    done, when tasks run eagerly). When publishing fails the broker is taken to be still
    down and the pass stops.
    """
    rows = PendingFollowUp.objects.select_related("study").order_by("id")
    if not include_exhausted:
        rows = rows.filter(attempts__lt=MAX_AUTO_ATTEMPTS)
    if limit is not None:
        rows = rows[:limit]
    queued = failed = 0
    in_process = eager()
    for row in list(rows):
        try:
            with transaction.atomic():
                _perform(row, queue_thumbnail)
        except Exception as exc:  # noqa: BLE001 - counted on the row, reported in the totals
            failed += 1
            PendingFollowUp.objects.filter(pk=row.pk).update(
                attempts=F("attempts") + 1, last_error=_describe(exc), updated_at=timezone.now()
            )
            if not in_process:
                break  # the broker is still down: trying the rest would only wait on it
            continue
        PendingFollowUp.objects.filter(pk=row.pk).delete()
        queued += 1
    return {"queued": queued, "failed": failed, "left": PendingFollowUp.objects.count()}
