"""The database triggers that keep signed reports and the audit log unchangeable.

More than one migration creates them (SQLite drops a table's triggers whenever Django
rebuilds the table), and the system check in ``reports/checks.py`` refuses to start
when one is missing, so their names and SQL live here, in one place.

What they refuse, on both backends:
- any UPDATE of a signed report version, and any UPDATE of an audit event;
- any DELETE of a signed report version or of an audit event. On SQLite the DELETE
  triggers let ``manage.py flush`` through (it wipes every table, as PostgreSQL's
  TRUNCATE does, which row triggers never see): the flush command of this app sets a
  flag that the SQL function ``radbot_flushing()`` reads. The function exists only
  on connections Django opens, so a DELETE on these tables from another SQLite
  client fails ("no such function") rather than passing;
- re-pointing a report at another study (UPDATE of ``reports_report.study_id``).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.migrations.exceptions import IrreversibleError

AUDIT_APPEND_ONLY = "the audit log is append-only"
SIGNED_IMMUTABLE = "signed report versions are immutable; amend the report instead"
STUDY_FIXED = "a report belongs to its study for good; it cannot be moved to another study"

SQLITE_FLUSHING_FUNCTION = "radbot_flushing"

SQLITE_AUDIT_APPEND_ONLY = f"""CREATE TRIGGER IF NOT EXISTS reports_audit_append_only
    BEFORE UPDATE ON reports_auditevent BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END"""
SQLITE_VERSION_IMMUTABLE = f"""CREATE TRIGGER IF NOT EXISTS reports_version_immutable
    BEFORE UPDATE ON reports_reportversion
    WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED_IMMUTABLE}'); END"""
SQLITE_VERSION_NO_DELETE = f"""CREATE TRIGGER IF NOT EXISTS reports_version_no_delete
    BEFORE DELETE ON reports_reportversion
    WHEN OLD.signed_at IS NOT NULL AND NOT {SQLITE_FLUSHING_FUNCTION}()
    BEGIN SELECT RAISE(ABORT, '{SIGNED_IMMUTABLE}'); END"""
SQLITE_AUDIT_NO_DELETE = f"""CREATE TRIGGER IF NOT EXISTS reports_audit_no_delete
    BEFORE DELETE ON reports_auditevent
    WHEN NOT {SQLITE_FLUSHING_FUNCTION}()
    BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END"""
SQLITE_REPORT_STUDY_FIXED = f"""CREATE TRIGGER IF NOT EXISTS reports_report_study_fixed
    BEFORE UPDATE OF study_id ON reports_report
    WHEN NEW.study_id IS NOT OLD.study_id BEGIN SELECT RAISE(ABORT, '{STUDY_FIXED}'); END"""

POSTGRES_REPORT_STUDY_FIXED = f"""
CREATE OR REPLACE FUNCTION reports_refuse_study_change() RETURNS trigger AS $$
BEGIN
    IF NEW.study_id IS DISTINCT FROM OLD.study_id THEN
        RAISE EXCEPTION '{STUDY_FIXED}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reports_report_study_fixed ON reports_report;
CREATE TRIGGER reports_report_study_fixed BEFORE UPDATE OF study_id ON reports_report
    FOR EACH ROW EXECUTE FUNCTION reports_refuse_study_change();
"""

# Trigger name -> table, per vendor and per migration that creates it (the system
# check expects a migration's triggers once that migration is applied).
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "0002_immutability_triggers": {
        "postgresql": {
            "reports_version_immutable": "reports_reportversion",
            "reports_audit_append_only": "reports_auditevent",
        },
        "sqlite": {
            "reports_version_immutable": "reports_reportversion",
            "reports_audit_append_only": "reports_auditevent",
        },
    },
    "0004_immutability_hardening": {
        "postgresql": {"reports_report_study_fixed": "reports_report"},
        "sqlite": {
            "reports_version_no_delete": "reports_reportversion",
            "reports_audit_no_delete": "reports_auditevent",
            "reports_report_study_fixed": "reports_report",
        },
    },
}

# Every trigger of 0002 and 0004 for SQLite, idempotent (IF NOT EXISTS): a later
# migration that rebuilds one of these tables runs this again.
SQLITE_ALL = [
    SQLITE_VERSION_IMMUTABLE,
    SQLITE_AUDIT_APPEND_ONLY,
    SQLITE_VERSION_NO_DELETE,
    SQLITE_AUDIT_NO_DELETE,
    SQLITE_REPORT_STUDY_FIXED,
]

_flushing: ContextVar[bool] = ContextVar("radbot_flushing", default=False)


@contextmanager
def flushing():
    """While inside, this thread's SQLite connections may delete signed rows (flush only)."""
    token = _flushing.set(True)
    try:
        yield
    finally:
        _flushing.reset(token)


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: give every SQLite connection ``radbot_flushing()``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_FLUSHING_FUNCTION, 0, lambda: int(_flushing.get())
        )


def refuse_reverse(apps: Any, schema_editor: Any) -> None:
    """Reverse of the migrations that create the triggers: never drop them."""
    raise IrreversibleError(
        "The triggers that keep signed reports and the audit log unchangeable are never "
        "dropped by a migration. To go back, restore a backup taken before the migration."
    )
