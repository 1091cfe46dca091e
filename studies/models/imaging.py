"""Series and instances: the images of a study."""

from django.db import models
from django.db.models import Q

from studies.models.patients import Study


class Series(models.Model):
    class Plane(models.TextChoices):
        SAGITTAL = "sagittal"
        AXIAL = "axial"
        CORONAL = "coronal"
        OBLIQUE = "oblique"

    class Weighting(models.TextChoices):
        T1 = "T1"
        T2 = "T2"
        STIR = "STIR"
        OTHER = "other"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64, unique=True)
    number = models.IntegerField(null=True, blank=True)
    description = models.CharField(max_length=128, blank=True)
    plane = models.CharField(max_length=10, choices=Plane.choices)
    weighting = models.CharField(max_length=6, choices=Weighting.choices)
    slice_count = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    pixel_spacing_row_mm = models.FloatField(help_text="Distance between rows (mm).")
    pixel_spacing_col_mm = models.FloatField(help_text="Distance between columns (mm).")
    slice_thickness_mm = models.FloatField(null=True, blank=True)
    orientation = models.JSONField(help_text="ImageOrientationPatient, six direction cosines.")
    thumbnail = models.CharField(max_length=255, blank=True, help_text="Path under MEDIA_ROOT.")

    class Meta:
        ordering = ["study", "number", "id"]
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(
                condition=Q(plane__in=["sagittal", "axial", "coronal", "oblique"]),
                name="series_plane_allowed",
            ),
            models.CheckConstraint(
                condition=Q(weighting__in=["T1", "T2", "STIR", "other"]),
                name="series_weighting_allowed",
            ),
            models.CheckConstraint(
                condition=Q(pixel_spacing_row_mm__gt=0) & Q(pixel_spacing_col_mm__gt=0),
                name="series_pixel_spacing_positive",
            ),
            models.CheckConstraint(
                condition=Q(slice_thickness_mm__isnull=True) | Q(slice_thickness_mm__gt=0),
                name="series_slice_thickness_positive",
            ),
            models.CheckConstraint(
                condition=Q(rows__gt=0) & Q(columns__gt=0), name="series_matrix_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description or self.series_instance_uid} ({self.plane} {self.weighting})"


class Instance(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    instance_number = models.IntegerField(null=True, blank=True)
    position_x = models.FloatField()
    position_y = models.FloatField()
    position_z = models.FloatField()
    # Signed distance along the slice normal: the viewer's slice order.
    slice_location_mm = models.FloatField()
    file = models.CharField(max_length=255, help_text="De-identified file, path under MEDIA_ROOT.")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()

    class Meta:
        ordering = ["series", "slice_location_mm", "instance_number"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(sop_instance_uid=""), name="instance_uid_not_empty"
            ),
            models.CheckConstraint(condition=~Q(file=""), name="instance_file_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id}#{self.instance_number}"


class PendingFollowUp(models.Model):
    """Work due after an ingest that could not be queued or done at the time.

    The study is committed first; its thumbnails and AI run are queued after commit. When
    the broker is down, or a thumbnail fails in embedded mode, the work is recorded here
    and done later (``manage.py requeue_followups``, the periodic task, or the next ingest
    whose queueing succeeds). A row is deleted once its work has been queued.
    """

    class Kind(models.TextChoices):
        THUMBNAIL = "thumbnail", "series thumbnail"
        INFERENCE = "inference", "AI run after ingest"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="pending_followups")
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.CASCADE, related_name="pending_followups"
    )
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["thumbnail", "inference"]), name="followup_kind_allowed"
            ),
            # one row per piece of work: a second failure counts an attempt, not a new row
            models.UniqueConstraint(
                fields=["kind", "series"],
                condition=Q(series__isnull=False),
                name="followup_once_per_series",
            ),
            models.UniqueConstraint(
                fields=["kind", "study"],
                condition=Q(series__isnull=True),
                name="followup_once_per_study",
            ),
            models.CheckConstraint(
                condition=Q(kind="thumbnail", series__isnull=False)
                | Q(kind="inference", series__isnull=True),
                name="followup_series_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.series_id or self.study_id} ({self.attempts} attempts)"
