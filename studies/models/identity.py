"""The original -> pseudonym map. Admins only: nothing else reads these tables.

Kept apart from the clinical tables so that a dump of studies, labels and
predictions carries no identifiers.
"""

from django.db import models

from studies.models.patients import Patient, Study


class PatientIdentity(models.Model):
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="identity")
    original_patient_id = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=255, blank=True)
    original_birth_date = models.CharField(max_length=8, blank=True, help_text="DICOM DA as received.")
    date_shift_days = models.IntegerField()

    class Meta:
        verbose_name_plural = "patient identities"

    def __str__(self) -> str:
        return f"{self.patient} identity"


class StudyIdentity(models.Model):
    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="identity")
    original_accession = models.CharField(max_length=64, blank=True, db_index=True)
    original_site = models.CharField(max_length=128, blank=True)
    original_study_date = models.CharField(max_length=8, blank=True, help_text="DICOM DA as received.")

    class Meta:
        verbose_name_plural = "study identities"

    def __str__(self) -> str:
        return f"{self.study} identity"
