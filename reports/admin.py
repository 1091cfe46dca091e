"""AI reports in the admin: read-only; reports change through sign-off, never by hand."""

from django.contrib import admin

from reports.models import AuditEvent, Report, ReportVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(admin.TabularInline):
    model = ReportVersion
    fields = ["number", "status", "origin", "created_by", "created_at", "signed_by", "signed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["study", "created_at"]
    search_fields = ["study__study_instance_uid", "study__patient__pseudonym"]
    inlines = [VersionInline]


@admin.register(ReportVersion)
class ReportVersionAdmin(ReadOnlyAdmin):
    list_display = ["report", "number", "status", "origin", "created_by", "signed_by", "signed_at"]
    list_filter = ["status", "origin"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "action", "report", "version"]
    list_filter = ["action"]
    search_fields = ["report__study__study_instance_uid", "user__username"]
