"""Queue outbox sends once their rows commit.

The one module that imports both the outbox services and its tasks, so that the
services never import the tasks, which import them (the same shape as studies.dispatch).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from reports.models import ReportVersion, ResultDelivery
from reports.outbox import services
from reports.outbox.tasks import queue_sends


def queue_results(*, version: ReportVersion) -> list[ResultDelivery]:
    """The version's outbox rows (services.enqueue_results), each sent after commit."""
    created = services.enqueue_results(version=version)
    if created:
        ids = [d.pk for d in created]
        transaction.on_commit(lambda: queue_sends(ids))
    return created


def resend(*, delivery: ResultDelivery, user: Any, request: Any = None) -> ResultDelivery:
    """services.resend, and the send queued after commit."""
    with transaction.atomic():
        delivery = services.resend(delivery=delivery, user=user, request=request)
        pk = delivery.pk
        transaction.on_commit(lambda: queue_sends([pk]))
    return delivery


def send_due_results() -> int:
    """The sweep, here and now (the periodic task does the same): how many were due."""
    due = services.due_deliveries()
    queue_sends(due)
    return len(due)
