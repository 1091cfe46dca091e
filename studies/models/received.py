"""Images the DICOM listener received: waiting in its spool, or refused with the reason."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ReceivedInstance(models.Model):
    """One image a sender gave the DICOM listener (``manage.py dicom_listener``).

    Pending: acknowledged to the sender, its file durable in the spool
    (``RADBOT_DICOM_SPOOL_DIR``), waiting for its study to be complete. The row is deleted
    once ingest has stored the image (or found it stored already). Refused: the listener
    (a failure status at C-STORE) or the ingest of its study turned it down; the row keeps
    the reason and the spool keeps nothing. UIDs are the keyed ones ingest stores, never
    the sender's.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for its study to be stored"
        REFUSED = "refused", "refused"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    calling_ae = models.CharField(max_length=16, help_text="The sender's AE title.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    study_instance_uid = models.CharField(max_length=64, blank=True, db_index=True)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    spool_file = models.CharField(
        max_length=64, blank=True, help_text="File name in the spool while pending."
    )
    size_bytes = models.PositiveBigIntegerField(default=0)
    # Why it was refused (ErrorCode and the sentence), or why storing it last failed.
    code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    # Storing its study failed for a reason that may pass (storage full, database error):
    # tried again after retry_at, until MAX_ATTEMPTS (studies/services/receiving.py).
    attempts = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "refused"]), name="received_status_allowed"
            ),
            # The same image sent twice is kept once (a second copy is acknowledged, not kept).
            models.UniqueConstraint(
                fields=["sop_instance_uid"],
                condition=Q(status="pending"),
                name="received_pending_once",
            ),
            models.CheckConstraint(
                condition=Q(status="refused")
                | (~Q(sop_instance_uid="") & ~Q(study_instance_uid="") & ~Q(spool_file="")),
                name="received_pending_has_file",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "study_instance_uid"], name="received_status_study"),
        ]

    def __str__(self) -> str:
        return f"{self.status} from {self.calling_ae} at {self.received_at:%Y-%m-%d %H:%M:%S}"
