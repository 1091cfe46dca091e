"""Image models: reference masks, trained model versions, inference jobs and predictions.

Predictions are machine output and live apart from human labels; each row
names the model version that produced it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inference.stages import STAGE_NAMES
from spine.labels import CANAL_CLASSES, DISC_VALUES, GRADES


class SegmentationMask(models.Model):
    """Reference classes (``inference.ml.classes``: background, vertebral body, disc, canal, sacrum) for one series."""

    class Source(models.TextChoices):
        SYNTHETIC = "synthetic"
        NIFTI = "nifti"
        DICOM_SEG = "dicom-seg"

    series = models.OneToOneField("studies.Series", on_delete=models.CASCADE, related_name="mask")
    file = models.CharField(
        max_length=255, help_text="npz under MEDIA_ROOT; array 'classes' in slice order."
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["synthetic", "nifti", "dicom-seg"]),
                name="mask_source_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"mask of {self.series}"


class ModelVersion(models.Model):
    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    weights_dir = models.CharField(max_length=255, help_text="Folder under MEDIA_ROOT.")
    weight_files = models.JSONField(help_text="{file name: sha256}.")
    config = models.JSONField(
        help_text="Architecture and preprocessing, enough to rebuild the networks."
    )
    data_split = models.JSONField(help_text="Patient pseudonyms in train and validation.")
    history = models.JSONField(
        default=list, help_text="Per-epoch training and validation loss and accuracy."
    )
    metrics = models.JSONField(default=dict, help_text="Held-out metrics at the end of training.")
    seed = models.IntegerField()
    command = models.TextField(blank=True, help_text="How it was trained, to reproduce it.")
    train_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("train_models", "Can train image models"),
            ("run_inference", "Can run the image models on a study"),
        ]

    def __str__(self) -> str:
        return self.name


class InferenceJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    study = models.ForeignKey(
        "studies.Study", on_delete=models.CASCADE, related_name="inference_jobs"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=10, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    stage_seconds = models.JSONField(default=dict)
    # stage -> the worker (Celery hostname) that last started it; "in-process" without a broker.
    stage_workers = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # stage -> how often it started; a stage started again without a retry is a redelivery
    # (its worker died), capped by RADBOT_TASK_MAX_ATTEMPTS.
    stage_attempts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Readable reason when the job failed.")
    # level -> why the models gave it no reading (e.g. outside the field of view); a done
    # job has predictions for the other levels only. A refused study fails instead.
    not_assessed = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first stage began."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the job last moved (created, a stage began or ended): the reaper fails a job
    # queued or running that has not moved for RADBOT_JOB_*STALE_S.
    heartbeat_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="job_status_allowed",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_percent"),
            # One job at a time per study: each queues a five-stage GPU chain (review #26).
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(status__in=["queued", "running"]),
                name="job_one_active_per_study",
            ),
        ]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status__in=["queued", "running"]),
                name="job_active_heartbeat",
            ),
            # The agreement dashboard finds jobs done since it last looked by finish time
            # (reports.agreement.gold_counts), and counts the done ones.
            models.Index(
                fields=["finished_at"], condition=Q(status="done"), name="job_done_finish"
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.status}"

    # The stage names in the order they run (``stage`` holds one of them).
    STAGES = STAGE_NAMES


class Prediction(models.Model):
    """The model's reading of one study level (machine output, never edited)."""

    job = models.ForeignKey(InferenceJob, on_delete=models.CASCADE, related_name="predictions")
    level = models.ForeignKey(
        "studies.DiscLevel", on_delete=models.CASCADE, related_name="predictions"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions"
    )
    disc = models.CharField(max_length=10, choices=[(v, v) for v in DISC_VALUES])
    canal_stenosis = models.CharField(max_length=11, choices=[(v, v) for v in GRADES])
    left_foraminal = models.CharField(max_length=11, choices=[(v, v) for v in GRADES])
    right_foraminal = models.CharField(max_length=11, choices=[(v, v) for v in GRADES])
    canal_class = models.PositiveSmallIntegerField()
    probabilities = models.JSONField(help_text="Per detector; foraminal per side.")
    ap_diameter_mm = models.FloatField(null=True)
    # Why ap_diameter_mm is empty (e.g. a value outside the physiological range); "" when measured.
    ap_note = models.CharField(max_length=300, blank=True, default="")
    # How sure the models are of the level's name and location, 0..1 (null: older jobs).
    confidence = models.FloatField(null=True)
    best_slice = models.JSONField(
        default=dict, help_text="detector -> {series_uid, instance_number}."
    )
    centre_mm = models.JSONField(help_text="Disc centre in patient coordinates (LPS, mm).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["level__level"]
        constraints = [
            models.UniqueConstraint(fields=["job", "level"], name="prediction_once_per_job_level"),
            models.CheckConstraint(
                condition=Q(canal_class__in=list(CANAL_CLASSES)),
                name="prediction_canal_class_allowed",
            ),
            models.CheckConstraint(
                condition=Q(disc__in=list(DISC_VALUES)), name="prediction_disc_allowed"
            ),
            models.CheckConstraint(
                condition=Q(ap_diameter_mm__isnull=True) | Q(ap_diameter_mm__gt=0),
                name="prediction_ap_positive",
            ),
            models.CheckConstraint(
                condition=Q(ap_note="") | Q(ap_diameter_mm__isnull=True),
                name="prediction_ap_note_means_no_ap",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="prediction_confidence_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} by {self.model_version}"
