"""Signed reports, harder to change (security review #13).

- The content hash of new signatures also covers the study's UID, the version number
  and the signer; ``content_hash_scheme`` says which content a stored hash covers, so
  the hashes of earlier signatures (scheme 1) stay verifiable. Existing rows get 1 as
  the column is added (no UPDATE runs, so the triggers are not involved), new rows 2.
- A report cannot be moved to another study (both backends).
- On SQLite, signed versions and audit events cannot be deleted either.
- Adding a column may rebuild the table on SQLite, which drops its triggers, so all
  of them are (re)created afterwards.
Not reversible: unapplying would drop the triggers.
"""

from django.db import migrations, models

from reports.migrations import _triggers


def _install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in _triggers.SQLITE_ALL:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(_triggers.POSTGRES_REPORT_STUDY_FIXED)
    else:
        raise RuntimeError(f"no immutability triggers for {vendor}")


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_audit_refused_signatures")]

    operations = [
        migrations.AddField(
            model_name="reportversion",
            name="content_hash_scheme",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="reportversion",
            name="content_hash_scheme",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AlterField(
            model_name="reportversion",
            name="content_sha256",
            field=models.CharField(
                blank=True, help_text="Of the signed content (see content_hash_scheme).", max_length=64
            ),
        ),
        migrations.RunPython(_install, _triggers.refuse_reverse),
    ]
