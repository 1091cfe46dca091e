"""AI reports in the admin: read-only; reports change through sign-off, never by hand."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from reports.models import (
    AuditEvent,
    Report,
    ReportVersion,
    ResultDelivery,
    ResultDeliveryAttempt,
)


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


class AttemptInline(admin.TabularInline):
    model = ResultDeliveryAttempt
    fields = ["at", "event", "error", "user", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ResultDelivery)
class ResultDeliveryAdmin(ReadOnlyAdmin):
    """The outbox: read-only rows and their history; "Resend" queues them again (audited)."""

    list_display = [
        "version",
        "destination",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "destination"]
    readonly_fields = [f.name for f in ResultDelivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["resend_selected"]

    @admin.action(description="Resend the selected results")
    def resend_selected(self, request, queryset):
        # Here, not at the top: the admin loads at start-up; the outbox's builders need not.
        from reports.outbox.dispatch import resend

        done, refused = 0, []
        for delivery in queryset:
            try:
                resend(delivery=delivery, user=request.user, request=request)
                done += 1
            except PermissionDenied as exc:
                refused.append(f"{delivery.pk}: {exc}")
        self.message_user(request, f"{done} result(s) queued to send again.")
        if refused:
            self.message_user(request, "Not resent: " + "; ".join(refused), level=messages.WARNING)
