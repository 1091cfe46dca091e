"""The radiologist's report text of a study, as imported (the AI's reports live in the reports app)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from studies.models.patients import Study

# Lets a CheckConstraint say "text__length__gt=0" (non-empty text) in the database.
models.TextField.register_lookup(Length, "length")


class RadiologistReport(models.Model):
    class Source(models.TextChoices):
        IMPORT = "import", "imported file"
        UPLOAD = "upload", "uploaded in the app"
        API = "api", "API"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="reports")
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=Source.choices)
    source_name = models.CharField(max_length=255, blank=True, help_text="File it came from.")
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["study", "-imported_at"]
        constraints = [
            # Importing the same text twice for a study is a duplicate, not a new report.
            models.UniqueConstraint(
                fields=["study", "text_sha256"], name="report_text_once_per_study"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["import", "upload", "api"]), name="report_source_allowed"
            ),
            models.CheckConstraint(condition=Q(text__length__gt=0), name="report_text_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Report for {self.study} ({self.imported_at:%Y-%m-%d})"
