"""Signed report versions and audit events cannot be changed, by any code path.

UPDATE of a signed version, and any UPDATE of an audit event, is refused by a
trigger on both backends. DELETE is refused on PostgreSQL here; migration 0004
refuses it on SQLite too (see ``_triggers``). This migration cannot be reversed:
unapplying it would drop the triggers.
"""

from django.db import migrations

from reports.migrations import _triggers
from reports.migrations._triggers import AUDIT_APPEND_ONLY, SIGNED_IMMUTABLE

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION reports_refuse_signed_change() RETURNS trigger AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION '{SIGNED_IMMUTABLE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER reports_version_immutable BEFORE UPDATE OR DELETE ON reports_reportversion
    FOR EACH ROW EXECUTE FUNCTION reports_refuse_signed_change();

CREATE OR REPLACE FUNCTION reports_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{AUDIT_APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER reports_audit_append_only BEFORE UPDATE OR DELETE ON reports_auditevent
    FOR EACH ROW EXECUTE FUNCTION reports_refuse_audit_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER reports_version_immutable BEFORE UPDATE ON reports_reportversion
        WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED_IMMUTABLE}'); END""",
    _triggers.SQLITE_AUDIT_APPEND_ONLY,
]
def _run(statements_by_vendor):
    def apply(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"no immutability triggers for {schema_editor.connection.vendor}")
        for sql in statements if isinstance(statements, list) else [statements]:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _triggers.refuse_reverse,
        ),
    ]
