"""The outbox's Celery tasks: take ids, call one service."""

from __future__ import annotations

import logging

from radbot_web.tasks import radbot_task
from reports.outbox.services import due_deliveries, requeue_after_crash, send_delivery

log = logging.getLogger(__name__)


def _delivery_failed(reason: str, delivery_id: int) -> None:
    # A crash or time limit while sending is not the destination's refusal: the row is
    # made due again after a back-off (or failed once its tries are used up).
    requeue_after_crash(delivery_id=delivery_id, reason=reason)


# No Celery retries: the outbox keeps its own back-off in the row, and the periodic sweep
# sends what is due, so an outage longer than any retry budget is survived.
@radbot_task(
    name="reports.send_result",
    what="the result send",
    fail=_delivery_failed,
    max_retries=0,
    autoretry_for=(),
)
def send_result_task(delivery_id: int) -> str:
    """Send one outbox row if it is due; its status afterwards."""
    return send_delivery(delivery_id=delivery_id)


@radbot_task(name="reports.send_due_results", what="the result sweep", max_retries=0)
def send_due_results_task() -> int:
    """Periodic (Celery beat): queue every due outbox row; how many."""
    due = due_deliveries()
    queue_sends(due)
    return len(due)


def queue_sends(delivery_ids: list[int]) -> None:
    """A send task per row; a broker that cannot be reached leaves them to the sweep."""
    for pk in delivery_ids:
        try:
            send_result_task.delay(pk)
        except Exception:  # the rows stay pending and due: the sweep sends them
            log.warning("could not queue result delivery %s; the sweep sends it", pk, exc_info=True)
