"""Refused signature attempts are audited: a new audit action, "refused".

On SQLite, changing a constraint rebuilds the table, which drops its triggers, so the
append-only trigger of 0002 is created again afterwards; PostgreSQL alters the table
in place and keeps it.
"""

from django.conf import settings
from django.db import migrations, models

from reports.migrations import _triggers

ACTIONS = ["generate", "view", "edit", "sign", "amend", "export", "refused"]


def _restore_sqlite_audit_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_triggers.SQLITE_AUDIT_APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_immutability_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="auditevent", name="audit_action_allowed"),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[(a, a.capitalize()) for a in ACTIONS],
                max_length=8,
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("action__in", ACTIONS)), name="audit_action_allowed"
            ),
        ),
        migrations.RunPython(_restore_sqlite_audit_trigger, migrations.RunPython.noop),
    ]
