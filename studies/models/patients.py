"""Patients and their studies, as stored after de-identification."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Patient(models.Model):
    pseudonym = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pseudonym"]

    def __str__(self) -> str:
        return self.pseudonym


class Study(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "female"
        MALE = "M", "male"
        OTHER = "O", "other"
        UNKNOWN = "", "unknown"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="studies")
    study_instance_uid = models.CharField(max_length=64, unique=True)
    # Pseudonymous accession; the PACS accession lives in StudyIdentity.
    accession = models.CharField(max_length=64, blank=True, db_index=True)
    study_date = models.DateField(null=True, blank=True, help_text="Shifted per patient.")
    description = models.CharField(max_length=128, blank=True)
    site = models.CharField(max_length=64, blank=True, db_index=True)
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Who uploaded it first (later uploads to the study are in the access log, action "upload").
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user whose upload created the study; empty for the ingest command.",
    )

    class Meta:
        ordering = ["-study_date", "-id"]
        # The study list pages in this order; without the index every page sorts them all.
        indexes = [models.Index(fields=["-study_date", "-id"], name="studies_list_order")]
        verbose_name_plural = "studies"
        permissions = [
            ("upload_studies", "Can upload and ingest DICOM studies"),
            ("import_reports", "Can import radiologist reports"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sex__in=["F", "M", "O", ""]), name="study_sex_allowed"
            ),
            models.CheckConstraint(
                condition=Q(age_years__isnull=True) | Q(age_years__lte=130),
                name="study_age_plausible",
            ),
            models.CheckConstraint(condition=~Q(study_instance_uid=""), name="study_uid_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.study_date or ''} {self.accession}".strip()
