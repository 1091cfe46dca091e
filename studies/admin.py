from django.contrib import admin

from audit.services import record_access
from studies.models import (
    DiscLevel,
    Instance,
    InstanceIdentity,
    Patient,
    PatientIdentity,
    RadiologistReport,
    ReceivedInstance,
    Series,
    SeriesIdentity,
    Study,
    StudyIdentity,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Stored images, reports and identities change only through ingest, never by hand,
    and are never deleted here: a delete would orphan files, drop gold labels with their
    report, or lose the only way back to the patient, with only the mutable admin log as trace."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class IdentityAdmin(ReadOnlyAdmin):
    """The pseudonym map: every list or detail page shown is recorded in the access log."""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            record_access(
                action="view_pseudonym_map",
                request=request,
                object_ref=f"admin {self.model._meta.model_name} list",
                detail={"query": request.GET.urlencode()[:500]},
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            record_access(
                action="view_pseudonym_map",
                request=request,
                object_ref=f"admin {self.model._meta.model_name} {object_id}"[:200],
            )
        return response


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
    list_display = ["study_instance_uid", "patient", "study_date", "site", "accession"]
    search_fields = ["study_instance_uid", "accession", "patient__pseudonym"]


@admin.register(Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = [
        "series_instance_uid",
        "study",
        "description",
        "plane",
        "weighting",
        "slice_count",
    ]


@admin.register(PatientIdentity)
class PatientIdentityAdmin(IdentityAdmin):
    list_display = ["patient", "original_patient_id", "original_name", "date_shift_days"]
    search_fields = ["original_patient_id", "patient__pseudonym"]


@admin.register(StudyIdentity)
class StudyIdentityAdmin(IdentityAdmin):
    list_display = ["study", "original_accession", "original_site", "original_study_date"]


@admin.register(ReceivedInstance)
class ReceivedInstanceAdmin(ReadOnlyAdmin):
    """What the DICOM listener received: images waiting for their study, and refusals with
    the reason (the sender had it as the C-STORE status)."""

    list_display = ["received_at", "calling_ae", "status", "code", "attempts", "reason"]
    list_filter = ["status", "calling_ae", "code"]


admin.site.register([Patient, Instance, DiscLevel, RadiologistReport], ReadOnlyAdmin)
# Original series/SOP UIDs (the stored ones are keyed): part of the admin-only identity map.


@admin.register(SeriesIdentity, InstanceIdentity)
class KeyedUidIdentityAdmin(IdentityAdmin):
    pass
