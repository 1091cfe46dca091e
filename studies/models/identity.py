"""The original -> pseudonym map. Admins only: nothing else reads these tables.

Kept apart from the clinical tables so that a dump of studies, labels and
predictions carries no identifiers. The original UIDs (the stored ones are keyed
``2.25.`` UIDs, see studies.dicom.deid.keyed_uid) live here so results can be filed
back into the source PACS.
"""

from django.db import models
from django.db.models import Q

from studies.models.imaging import Instance, Series
from studies.models.patients import Patient, Study


class PatientIdentity(models.Model):
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="identity")
    original_patient_id = models.CharField(max_length=64)
    # IssuerOfPatientID, else the site (normalised): equal MRNs from two issuers are two
    # patients (see deid.patient_issuer).
    issuer = models.CharField(max_length=128, blank=True, default="")
    original_name = models.CharField(max_length=255, blank=True)
    original_birth_date = models.CharField(
        max_length=8, blank=True, help_text="DICOM DA as received."
    )
    date_shift_days = models.IntegerField()

    class Meta:
        verbose_name_plural = "patient identities"
        constraints = [
            models.UniqueConstraint(
                fields=["original_patient_id", "issuer"], name="patient_identity_once_per_issuer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} identity"


class StudyIdentity(models.Model):
    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="identity")
    original_study_uid = models.CharField(max_length=64, blank=True, default="", db_index=True)
    original_accession = models.CharField(max_length=64, blank=True, db_index=True)
    original_site = models.CharField(max_length=128, blank=True)
    original_study_date = models.CharField(
        max_length=8, blank=True, help_text="DICOM DA as received."
    )

    class Meta:
        verbose_name_plural = "study identities"
        constraints = [
            models.UniqueConstraint(
                fields=["original_study_uid"],
                condition=~Q(original_study_uid=""),
                name="study_identity_uid_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} identity"


class SeriesIdentity(models.Model):
    series = models.OneToOneField(Series, on_delete=models.CASCADE, related_name="identity")
    original_series_uid = models.CharField(max_length=64, unique=True)
    original_frame_of_reference_uid = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "series identities"

    def __str__(self) -> str:
        return f"{self.series_id} identity"


class InstanceIdentity(models.Model):
    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="identity")
    original_sop_instance_uid = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name_plural = "instance identities"

    def __str__(self) -> str:
        return f"{self.instance_id} identity"
