"""API tokens in the admin: listed (never the token itself) and revocable, not creatable."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import ApiToken
from accounts.services import revoke_tokens


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created", "expires")
    list_filter = ("expires",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("prefix", "user", "created", "expires")
    exclude = ("digest", "password_stamp")

    def has_add_permission(self, request):
        return False  # tokens are issued by POST /api/auth/token, shown once

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        revoke_tokens(
            user=obj.user,
            reason="revoked in the admin",
            request=request,
            tokens=ApiToken.objects.filter(pk=obj.pk),
        )

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            revoke_tokens(
                user=token.user,
                reason="revoked in the admin",
                request=request,
                tokens=ApiToken.objects.filter(pk=token.pk),
            )
