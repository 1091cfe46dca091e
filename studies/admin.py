from django.contrib import admin

from studies.models import (
    DiscLevel,
    Instance,
    InstanceIdentity,
    Patient,
    PatientIdentity,
    RadiologistReport,
    Series,
    SeriesIdentity,
    Study,
    StudyIdentity,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Stored images and identities change only through ingest, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
    list_display = ["study_instance_uid", "patient", "study_date", "site", "accession"]
    search_fields = ["study_instance_uid", "accession", "patient__pseudonym"]


@admin.register(Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = ["series_instance_uid", "study", "description", "plane", "weighting", "slice_count"]


@admin.register(PatientIdentity)
class PatientIdentityAdmin(ReadOnlyAdmin):
    list_display = ["patient", "original_patient_id", "original_name", "date_shift_days"]
    search_fields = ["original_patient_id", "patient__pseudonym"]


admin.site.register([Patient, Instance, DiscLevel, StudyIdentity, RadiologistReport], ReadOnlyAdmin)
# Original series/SOP UIDs (the stored ones are keyed): part of the admin-only identity map.
admin.site.register([SeriesIdentity, InstanceIdentity], ReadOnlyAdmin)
