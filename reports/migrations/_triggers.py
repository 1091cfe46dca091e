"""Trigger SQL that more than one migration creates (SQLite drops a table's triggers
whenever Django rebuilds the table)."""

AUDIT_APPEND_ONLY = "the audit log is append-only"

SQLITE_AUDIT_APPEND_ONLY = f"""CREATE TRIGGER IF NOT EXISTS reports_audit_append_only
    BEFORE UPDATE ON reports_auditevent BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END"""
