"""The access log, append-only: UPDATE (and on PostgreSQL, DELETE) is refused by triggers.

SQLite keeps DELETE open, as for the report audit log, because Django's test flush
on SQLite deletes rows table by table.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ACTIONS = [
    ("login", "signed in"),
    ("login_failed", "failed sign-in"),
    ("locked_out", "locked out"),
    ("logout", "signed out"),
    ("token_issued", "API token issued"),
    ("token_revoked", "API token revoked"),
    ("role_changed", "roles or permissions changed"),
    ("view_pseudonym_map", "read the pseudonym map"),
    ("view_study", "read a study (details, report text)"),
    ("view_images", "read a study's images"),
    ("upload", "uploaded images"),
    ("report_import", "imported radiologist reports"),
    ("export", "exported data in bulk"),
]
APPEND_ONLY = "the access log is append-only"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_accessevent_append_only BEFORE UPDATE OR DELETE ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
SQLITE_UP = f"""CREATE TRIGGER IF NOT EXISTS audit_accessevent_append_only
    BEFORE UPDATE ON audit_accessevent BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""


def _create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def _refuse_reverse(apps, schema_editor):
    raise RuntimeError("the access log's append-only triggers are never dropped by a migration")


class Migration(migrations.Migration):
    initial = True

    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="AccessEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("username", models.CharField(blank=True, help_text="As typed or as signed in.", max_length=150)),
                ("action", models.CharField(choices=ACTIONS, max_length=24)),
                ("study_uid", models.CharField(blank=True, db_index=True, max_length=64)),
                ("object_ref", models.CharField(blank=True, help_text='e.g. "series:12", "gold.csv".', max_length=200)),
                ("address", models.CharField(blank=True, help_text="Client address, through trusted proxies.", max_length=64)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty for a failed sign-in under an unknown name, or a machine action.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["user", "action", "at"], name="access_user_action_at")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("action__in", [a for a, _ in ACTIONS])), name="access_action_allowed"
                    )
                ],
            },
        ),
        migrations.RunPython(_create_triggers, _refuse_reverse),
    ]
