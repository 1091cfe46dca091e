"""The outbox's reads for people: what of a report's signed versions went to which
destination, for the review page's "Results sent to PACS" panel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured

from reports.models import ReportVersion, ResultDelivery
from reports.outbox import destinations

Status = ResultDelivery.Status
# Short names on the page; the model's labels ("DICOM SR") are the admin's.
KIND_LABELS = {"sr": "SR", "seg": "SEG", "pdf": "PDF"}
KIND_ORDER = {kind: i for i, kind in enumerate(KIND_LABELS)}
# Resending a row being sent is refused by the service; a pending row goes by itself.
RESENDABLE = (Status.SENT, Status.FAILED)


@dataclass(frozen=True)
class DeliveryRow:
    pk: int
    version_number: int
    destination: str
    # Where the destination is now ("" once it is no longer configured).
    where: str
    kind: str
    kind_label: str
    status: str
    # When the row last changed: sent, failed, or was queued or retried.
    at: datetime
    attempts: int
    # Only while pending: when the next try is due.
    next_attempt_at: datetime | None
    # The failure, or for a pending row the reason its last try did not get through.
    reason: str
    resendable: bool


@dataclass(frozen=True)
class ResultsPanel:
    rows: list[DeliveryRow]
    destinations: list[str]
    # The destinations setting cannot be read: what is wrong with it.
    config_error: str
    any_signed: bool

    @property
    def empty_message(self) -> str:
        """Why there is nothing to show ("" when there are rows)."""
        if self.rows:
            return ""
        if self.config_error:
            return f"The result destinations are misconfigured: {self.config_error}"
        if not self.destinations:
            return "No destinations configured: results are not sent to a PACS."
        if self.any_signed:
            return (
                "Nothing sent: the signed versions were signed before a destination was configured."
            )
        return "Nothing sent yet: results go out when the report is signed."


def results_panel(*, versions: Sequence[ReportVersion]) -> ResultsPanel:
    """The outbox rows of ``versions``, newest version first, then by destination and
    object kind; with the configured destinations for the empty state."""
    try:
        configured = {d.name: d.describe() for d in destinations.configured()}
        config_error = ""
    except ImproperlyConfigured as exc:
        # The page shows the report whatever the outbox's settings say.
        configured, config_error = {}, str(exc)
    number_of = {v.pk: v.number for v in versions}
    deliveries = ResultDelivery.objects.filter(version_id__in=list(number_of))
    rows = [
        DeliveryRow(
            pk=d.pk,
            version_number=number_of[d.version_id],
            destination=d.destination,
            where=configured.get(d.destination, ""),
            kind=d.kind,
            kind_label=KIND_LABELS.get(d.kind, d.kind.upper()),
            status=d.status,
            at=d.sent_at if d.status == Status.SENT and d.sent_at else d.updated_at,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == Status.PENDING else None,
            reason=d.last_error if d.status in (Status.FAILED, Status.PENDING) else "",
            resendable=d.status in RESENDABLE,
        )
        for d in deliveries
    ]
    rows.sort(key=lambda r: (-r.version_number, r.destination, KIND_ORDER.get(r.kind, 99)))
    return ResultsPanel(
        rows=rows,
        destinations=list(configured),
        config_error=config_error,
        any_signed=any(v.is_signed for v in versions),
    )
