"""AI reports, their versions, sign-off and the audit log.

A Report is the document for one study; its words live in ReportVersion rows.
Every edit is a new version; signing turns the latest preliminary version into
``final`` (or ``amended`` after a first signature). A signed version is
immutable: the database itself refuses to update or delete it (see
reports/migrations/_triggers.py), so no code path can rewrite a signed report. Statuses follow FHIR
DiagnosticReport.status.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

models.TextField.register_lookup(Length, "length")
models.CharField.register_lookup(Length, "length")


class Report(models.Model):
    study = models.OneToOneField(
        "studies.Study", on_delete=models.CASCADE, related_name="ai_report"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [
            ("sign_reports", "Can edit, sign and amend AI reports"),
            ("view_agreement", "Can view agreement dashboards"),
        ]

    def __str__(self) -> str:
        return f"AI report of {self.study}"


class ReportVersion(models.Model):
    class Status(models.TextChoices):
        PRELIMINARY = "preliminary"
        FINAL = "final"
        AMENDED = "amended"

    class Origin(models.TextChoices):
        GENERATED = "generated", "written by the models"
        EDITED = "edited", "edited by a person"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=11, choices=Status.choices, default=Status.PRELIMINARY)
    origin = models.CharField(max_length=9, choices=Origin.choices)
    findings = models.JSONField(help_text='[{"level": "L4-L5", "text": "..."}] in level order.')
    impression = models.TextField()
    labels = models.JSONField(
        default=dict,
        help_text="{level: exchange-format labels} the generated text says (generated versions).",
    )
    source_job = models.ForeignKey(
        "inference.InferenceJob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="report_versions",
    )
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for text the models wrote.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Of the signed content (see content_hash_scheme)."
    )
    # What content_sha256 covers, so that every signature stays verifiable: 1 = findings and
    # impression (signatures before 0004); 2 = also the study's UID, the version number and
    # the signer (reports.services.content_sha256).
    content_hash_scheme = models.PositiveSmallIntegerField(default=2)
    amendment_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="report_version_number_once"),
            models.CheckConstraint(
                condition=Q(status__in=["preliminary", "final", "amended"]),
                name="report_version_status_allowed",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["generated", "edited"]),
                name="report_version_origin_allowed",
            ),
            # Signed exactly when not preliminary, and a signature names who and when.
            models.CheckConstraint(
                condition=(
                    Q(status="preliminary", signed_at__isnull=True, signed_by__isnull=True)
                    | Q(
                        status__in=["final", "amended"],
                        signed_at__isnull=False,
                        signed_by__isnull=False,
                        content_sha256__length=64,
                    )
                ),
                name="report_version_signed_iff_not_preliminary",
            ),
            models.CheckConstraint(
                condition=~Q(status="amended") | Q(amendment_reason__length__gt=0),
                name="report_version_amendment_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(origin="edited") | Q(created_by__isnull=False),
                name="report_version_edit_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} v{self.number} ({self.status})"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class AuditEvent(models.Model):
    """Who viewed, edited, signed or exported a report, and refused signature attempts.
    Append-only (database triggers)."""

    class Action(models.TextChoices):
        GENERATE = "generate"
        VIEW = "view"
        EDIT = "edit"
        SIGN = "sign"
        AMEND = "amend"
        EXPORT = "export"
        # A signature attempt that was refused (wrong password, or locked after too many).
        REFUSED = "refused"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="audit_events")
    version = models.ForeignKey(
        ReportVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    action__in=["generate", "view", "edit", "sign", "amend", "export", "refused"]
                ),
                name="audit_action_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.report} at {self.at:%Y-%m-%d %H:%M}"


class ResultDelivery(models.Model):
    """The outbox: one object (SR, SEG or PDF) of one signed version for one destination.

    The row holds the current state; ``history`` (ResultDeliveryAttempt) keeps every
    queueing, try, failure and resend, so nothing about a send is lost when the state
    changes. ``destination`` is the configured destination's name (README, "Results back").
    """

    class Kind(models.TextChoices):
        SR = "sr", "DICOM SR"
        SEG = "seg", "DICOM SEG"
        PDF = "pdf", "encapsulated PDF"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    version = models.ForeignKey(ReportVersion, on_delete=models.PROTECT, related_name="deliveries")
    destination = models.CharField(max_length=64)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    # Tries since the row was queued or last resent (the history keeps them all).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    sop_instance_uid = models.CharField(
        max_length=64, blank=True, help_text="Of the object as last built (the same on a resend)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "destination", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "destination", "kind"], name="result_delivery_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed"]),
                name="result_delivery_status_allowed",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["sr", "seg", "pdf"]), name="result_delivery_kind_allowed"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="result_delivery_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | Q(last_error__length__gt=0),
                name="result_delivery_failure_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.version} to {self.destination}: {self.status}"


class ResultDeliveryAttempt(models.Model):
    """One event in a delivery's life: queued, sent, will retry, failed, resend asked."""

    class Event(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        RETRY = "retry"
        FAILED = "failed"
        RESEND = "resend"

    delivery = models.ForeignKey(ResultDelivery, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=6, choices=Event.choices)
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["delivery", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event__in=["queued", "sent", "retry", "failed", "resend"]),
                name="result_attempt_event_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} at {self.at:%Y-%m-%d %H:%M:%S}"


class DashboardSourceCount(models.Model):
    """Writes to one of the agreement dashboard's source tables by one database session.

    Written only by the triggers of reports/migrations/_sources.py; the dashboard's cache
    sums a source's rows to tell whether its numbers are still current.
    """

    source = models.CharField(max_length=32)
    backend = models.IntegerField()  # PostgreSQL's backend pid; 0 on SQLite
    writes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "backend"], name="reports_source_count_per_backend"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.writes} writes by backend {self.backend}"
