"""Machine labels from the NLP labeller, kept apart from human labels.

Every labeller run writes new rows tagged with the labeller version that made
them; nothing is overwritten, so labels from older versions stay comparable.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from spine.labels import DISC_VALUES, GRADES, canal_class

GRADE_CHOICES = [(g, g) for g in GRADES]
DISC_CHOICES = [(d, d) for d in DISC_VALUES]


GRADED = (
    "canal_stenosis",
    "left_foraminal",
    "right_foraminal",
    "left_subarticular",
    "right_subarticular",
)


class LevelLabelFields(models.Model):
    """The guide's seven fields for one report x level, shared by machine and human rows."""

    disc = models.CharField(max_length=10, choices=DISC_CHOICES)
    canal_stenosis = models.CharField(max_length=11, choices=GRADE_CHOICES)
    left_foraminal = models.CharField(max_length=11, choices=GRADE_CHOICES)
    right_foraminal = models.CharField(max_length=11, choices=GRADE_CHOICES)
    left_subarticular = models.CharField(max_length=11, choices=GRADE_CHOICES)
    right_subarticular = models.CharField(max_length=11, choices=GRADE_CHOICES)
    uncertain = models.BooleanField()

    class Meta:
        abstract = True

    @property
    def canal_class(self) -> int:
        return canal_class(self.disc, self.canal_stenosis)


def label_value_constraints(prefix: str) -> list[models.CheckConstraint]:
    """Only the guide's values, enforced by the database."""
    return [
        models.CheckConstraint(
            condition=Q(disc__in=list(DISC_VALUES)), name=f"{prefix}_disc_allowed"
        ),
        *[
            models.CheckConstraint(
                condition=Q(**{f"{name}__in": list(GRADES)}), name=f"{prefix}_{name}_allowed"
            )
            for name in GRADED
        ],
    ]


class LabellerVersion(models.Model):
    version = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    learned_model_path = models.CharField(
        max_length=255, blank=True, help_text="Empty: rules only."
    )
    learned_from_gold = models.PositiveIntegerField(
        default=0, help_text="Gold levels the learned layer saw."
    )
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("run_labeller", "Can run and train the NLP labeller")]

    def __str__(self) -> str:
        return self.version


class NlpLabel(LevelLabelFields):
    """One labeller's reading of one report at one disc level."""

    report = models.ForeignKey(
        "studies.RadiologistReport", on_delete=models.CASCADE, related_name="nlp_labels"
    )
    level = models.ForeignKey(
        "studies.DiscLevel", on_delete=models.CASCADE, related_name="nlp_labels"
    )
    labeller = models.ForeignKey(LabellerVersion, on_delete=models.PROTECT, related_name="labels")
    confidence = models.JSONField(help_text="Per field, 0-1.")
    min_confidence = models.FloatField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Lowest field confidence: the curation queue's order.",
    )
    evidence = models.JSONField(
        default=list, help_text='[{"start", "end", "field"}] into the report text.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Queue bookkeeping, not part of the reading: False once the report has every annotator
    # it needs (labeling.curation.services sets it on the save that fills the report). The
    # queue walks only the open rows, so a fetch costs the same after 10,000 curated reports
    # as after none. A row left open by a write that bypassed the services is never given
    # out: the claim reads the annotations and closes it (services.claim_report).
    report_needs_annotator = models.BooleanField(default=True)

    class Meta:
        ordering = ["level__level"]
        indexes = [
            models.Index(
                fields=["labeller", "min_confidence", "report"],
                condition=models.Q(report_needs_annotator=True),
                name="nlp_label_open_queue_order",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "level", "labeller"], name="nlp_label_once_per_version"
            ),
            *label_value_constraints("nlp"),
        ]

    def __str__(self) -> str:
        return f"{self.level} by {self.labeller}"


class LabellingRun(models.Model):
    """A batch job labelling every report the current labeller has not labelled yet."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    labeller = models.ForeignKey(LabellerVersion, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="Per-report errors, readable.")
    error = models.TextField(blank=True, help_text="Readable reason when the run failed.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the run last moved (created, started, a batch committed): the reaper fails a
    # run queued or running that has not moved for RADBOT_JOB_*STALE_S.
    heartbeat_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="run_status_allowed",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="run_done_within_total"
            ),
        ]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status__in=["queued", "running"]),
                name="run_active_heartbeat",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status} {self.done}/{self.total})"

    @property
    def percent(self) -> int:
        return (
            round(100 * self.done / self.total)
            if self.total
            else (100 if self.status == "done" else 0)
        )


class Annotation(LevelLabelFields):
    """One person's decision on one report x level. Never edited: a correction is a new row.

    Machine proposals (NlpLabel) and human decisions stay in separate tables, as in
    Label Studio's predictions and annotations; `started_from` records which proposal
    the person saw.
    """

    class Kind(models.TextChoices):
        ANNOTATION = "annotation"
        ADJUDICATION = "adjudication"

    report = models.ForeignKey(
        "studies.RadiologistReport", on_delete=models.CASCADE, related_name="annotations"
    )
    level = models.ForeignKey(
        "studies.DiscLevel", on_delete=models.CASCADE, related_name="annotations"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ANNOTATION)
    started_from = models.ForeignKey(NlpLabel, null=True, blank=True, on_delete=models.SET_NULL)
    seconds_spent = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("annotate", "Can correct NLP labels into gold labels"),
            ("adjudicate", "Can settle annotators' disagreements"),
        ]
        indexes = [models.Index(fields=["report", "author"], name="annotation_report_author")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["annotation", "adjudication"]), name="annotation_kind_allowed"
            ),
            models.CheckConstraint(
                condition=Q(seconds_spent__gte=0), name="annotation_time_not_negative"
            ),
            *label_value_constraints("annotation"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.level} by {self.author}"


class ModelDisagreement(models.Model):
    """How far the image models' reading of a level is from its NLP label.

    Derived queue metadata, not a label: recomputed whenever new predictions or labels
    arrive. The curation queue's "disagreement" order (active learning) shows the
    levels where the two machines disagree most to a person first.
    """

    nlp_label = models.OneToOneField(
        NlpLabel, on_delete=models.CASCADE, related_name="model_disagreement"
    )
    prediction = models.ForeignKey(
        "inference.Prediction", on_delete=models.CASCADE, related_name="+"
    )
    score = models.FloatField(
        help_text="Sum over detectors of |model probability - NLP label|, 0 to 5."
    )
    detectors = models.JSONField(
        default=list, help_text="Detectors on which the two disagree at 0.5."
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["-score", "nlp_label"], name="disagreement_queue_order")]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=5), name="disagreement_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nlp_label} vs model: {self.score:.2f}"
