"""The outbox's writes: queue a signed version's results, send one, sweep, resend.

State lives in ResultDelivery rows, history in ResultDeliveryAttempt rows. A send
claims its row (pending and due -> sending) in one UPDATE, so the on-commit task and the
sweep never send the same row at once; the object is built and sent outside any
transaction; the outcome is written after. A failure the destination may get over
(``transport.Retry``) makes the row due again after an exponential back-off; the
periodic sweep (``due_deliveries``, queued by dispatch) sends what is due, so an outage of any length is
survived; a refusal (``transport.Refused``), or an object that cannot be built, fails the
row with the reason. An admin may resend any row that is not being sent.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import roles
from audit.models import AccessEvent
from audit.services import record_access
from reports.audit import record_audit_event
from reports.exports.document import NotExportableError
from reports.exports.from_models import version_for_export
from reports.models import AuditEvent, ReportVersion, ResultDelivery, ResultDeliveryAttempt
from reports.outbox import destinations, transport
from reports.outbox.identity import MissingIdentity
from reports.outbox.objects import build_object

log = logging.getLogger(__name__)

Status = ResultDelivery.Status
Event = ResultDeliveryAttempt.Event


def retry_delay_s(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed tries: base, 2 base, 4 base ...
    at most RADBOT_OUTBOX_RETRY_MAX_S."""
    base, cap = settings.RADBOT_OUTBOX_RETRY_BASE_S, settings.RADBOT_OUTBOX_RETRY_MAX_S
    return int(min(cap, base * 2 ** max(0, attempts - 1)))


def _history(
    delivery: ResultDelivery, event: str, *, error: str = "", user: Any = None, **detail: Any
) -> None:
    ResultDeliveryAttempt.objects.create(
        delivery=delivery,
        event=event,
        error=error,
        user=user if getattr(user, "is_authenticated", False) else None,
        detail=detail,
    )


def enqueue_results(*, version: ReportVersion) -> list[ResultDelivery]:
    """One pending row per configured destination and object kind it wants, for a version
    that was just signed (call inside the signing transaction; dispatch.queue_results also
    queues their sends after commit). Idempotent: rows that exist are left as they are."""
    created = []
    for destination in destinations.configured():
        for kind in destination.send:
            delivery, new = ResultDelivery.objects.get_or_create(
                version=version, destination=destination.name, kind=kind
            )
            if new:
                _history(delivery, Event.QUEUED, where=destination.describe())
                created.append(delivery)
    return created


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(
        ResultDelivery.objects.filter(
            pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
        ).update(status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
    )


def send_delivery(*, delivery_id: int) -> str:
    """Send one row if it is pending and due; its status afterwards ("sent", "pending",
    "failed", or the status it had when it was not this call's to send)."""
    if not _claim(delivery_id, timezone.now()):
        return (
            ResultDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
            or "gone"
        )
    delivery = ResultDelivery.objects.get(pk=delivery_id)
    destination = destinations.by_name(delivery.destination)
    if destination is None:
        return _failed(delivery, f"destination {delivery.destination!r} is no longer configured")
    if delivery.kind not in destination.send:
        return _failed(
            delivery, f"{destination.name} is no longer configured to receive {delivery.kind}"
        )
    try:
        version = version_for_export(version_id=delivery.version_id)
        outgoing = build_object(version=version, kind=delivery.kind, destination=destination)
    except (NotExportableError, MissingIdentity) as exc:
        return _failed(delivery, f"cannot build the {delivery.kind}: {exc}")
    except Exception as exc:  # a bug or a broken file: a person must look; no silent loop
        log.exception("building %s for delivery %s failed", delivery.kind, delivery.pk)
        return _failed(delivery, f"cannot build the {delivery.kind}: {type(exc).__name__}: {exc}")
    ResultDelivery.objects.filter(pk=delivery.pk).update(sop_instance_uid=outgoing.sop_instance_uid)
    try:
        answer = transport.send(destination, outgoing)
    except transport.Refused as exc:
        return _failed(delivery, exc.reason)
    except transport.Retry as exc:
        return _retry(delivery, exc.reason)
    except Exception as exc:  # an unforeseen network error: tried again, with the reason kept
        log.warning("sending delivery %s raised", delivery.pk, exc_info=True)
        return _retry(delivery, f"{type(exc).__name__}: {exc}")
    return _sent(delivery, version, outgoing, answer)


@transaction.atomic
def _sent(delivery: ResultDelivery, version: ReportVersion, outgoing: Any, answer: str) -> str:
    now = timezone.now()
    ResultDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENT, sent_at=now, last_error="", updated_at=now
    )
    _history(delivery, Event.SENT, answer=answer, sop_instance_uid=outgoing.sop_instance_uid)
    # The object left the app: the report's own audit trail says so, as for a download.
    record_audit_event(
        report=version.report,
        user=None,
        action=AuditEvent.Action.EXPORT,
        version=version,
        detail={
            "format": delivery.kind,
            "destination": delivery.destination,
            "bytes": len(outgoing.content),
            "sha256": hashlib.sha256(outgoing.content).hexdigest(),
            "sop_instance_uid": outgoing.sop_instance_uid,
        },
    )
    return Status.SENT


@transaction.atomic
def _failed(delivery: ResultDelivery, reason: str) -> str:
    ResultDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, last_error=reason[:2000], updated_at=timezone.now()
    )
    _history(delivery, Event.FAILED, error=reason[:2000])
    log.warning("result delivery %s failed: %s", delivery.pk, reason)
    return Status.FAILED


@transaction.atomic
def _retry(delivery: ResultDelivery, reason: str) -> str:
    attempts = ResultDelivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    cap = settings.RADBOT_OUTBOX_MAX_ATTEMPTS
    if attempts >= cap:
        return _failed(delivery, f"gave up after {attempts} tries; the last: {reason}")
    delay = retry_delay_s(attempts)
    now = timezone.now()
    ResultDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.PENDING,
        last_error=reason[:2000],
        next_attempt_at=now + timedelta(seconds=delay),
        updated_at=now,
    )
    _history(delivery, Event.RETRY, error=reason[:2000], attempt=attempts, retry_in_s=delay)
    return Status.PENDING


def requeue_after_crash(*, delivery_id: int, reason: str) -> None:
    """The send task died or hit its time limit while sending: the row is due again after
    a back-off (the reason kept), or failed once its tries are used up."""
    delivery = ResultDelivery.objects.filter(pk=delivery_id, status=Status.SENDING).first()
    if delivery is not None:
        _retry(delivery, reason)


def due_deliveries(*, limit: int = 200) -> list[int]:
    """The sweep's read: rows left "sending" by a worker that died become due again; the
    ids of the pending rows whose next try is due, oldest first."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RADBOT_OUTBOX_SENDING_STALE_S)
    ResultDelivery.objects.filter(status=Status.SENDING, updated_at__lt=stale).update(
        status=Status.PENDING,
        next_attempt_at=now,
        last_error="the sending worker stopped",
        updated_at=now,
    )
    due = list(
        ResultDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return due


def can_resend(user: Any) -> bool:
    # The capability the admin role holds (a superuser holds every one), as the review
    # page's Resend button asks for it.
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(roles.RESEND_RESULTS))


@transaction.atomic
def resend(*, delivery: ResultDelivery, user: Any, request: Any = None) -> ResultDelivery:
    """An admin asks for a row to be sent again (sent or failed, or waiting for its next
    try): it becomes pending and due now, its tries counted afresh; the history keeps the
    earlier ones. Refused while it is being sent."""
    if not can_resend(user):
        raise PermissionDenied("Only admins may resend results.")
    delivery = ResultDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == Status.SENDING:
        raise PermissionDenied("This result is being sent right now; wait for the outcome.")
    before = delivery.status
    now = timezone.now()
    ResultDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    _history(delivery, Event.RESEND, user=user, status_before=before)
    # A resend sends patient data out again: the access log names who asked. (The
    # "export" action: adding an action would rebuild the table on SQLite and drop its
    # append-only trigger.)
    version = delivery.version
    record_access(
        action=AccessEvent.Action.EXPORT,
        user=user,
        request=request,
        study_uid=version.report.study.study_instance_uid,
        object_ref=f"result:{delivery.pk}",
        detail={
            "resend": True,
            "kind": delivery.kind,
            "destination": delivery.destination,
            "version": version.number,
            "status_before": before,
        },
    )
    delivery.refresh_from_db()
    return delivery
