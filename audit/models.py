"""Who read or changed what, outside the AI report's own audit trail.

``reports.AuditEvent`` records what happens to one AI report (edit, sign, export).
``AccessEvent`` records everything else a regulator asks about: sign-ins, reads of
patient data and of the pseudonym map, uploads, imports, bulk exports, role changes.
Rows are append-only (database triggers, migration 0001): nothing rewrites history.
Users who have events cannot be deleted (PROTECT); deactivate them instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class _Action(models.TextChoices):
    LOGIN = "login", "signed in"
    LOGIN_FAILED = "login_failed", "failed sign-in"
    LOCKED_OUT = "locked_out", "locked out"
    LOGOUT = "logout", "signed out"
    TOKEN_ISSUED = "token_issued", "API token issued"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    ROLE_CHANGED = "role_changed", "roles or permissions changed"
    VIEW_PSEUDONYM_MAP = "view_pseudonym_map", "read the pseudonym map"
    VIEW_STUDY = "view_study", "read a study (details, report text)"
    VIEW_IMAGES = "view_images", "read a study's images"
    UPLOAD = "upload", "uploaded images"
    REPORT_IMPORT = "report_import", "imported radiologist reports"
    EXPORT = "export", "exported data in bulk"


_ACTIONS = [a.value for a in _Action]


class AccessEvent(models.Model):
    Action = _Action

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for a failed sign-in under an unknown name, or a machine action.",
    )
    username = models.CharField(max_length=150, blank=True, help_text="As typed or as signed in.")
    action = models.CharField(max_length=24, choices=Action.choices)
    study_uid = models.CharField(max_length=64, blank=True, db_index=True)
    object_ref = models.CharField(
        max_length=200, blank=True, help_text='e.g. "series:12", "gold.csv".'
    )
    address = models.CharField(
        max_length=64, blank=True, help_text="Client address, through trusted proxies."
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=_ACTIONS), name="access_action_allowed"
            ),
        ]
        indexes = [models.Index(fields=["user", "action", "at"], name="access_user_action_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action} {self.study_uid or self.object_ref}"
