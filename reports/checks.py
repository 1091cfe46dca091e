"""System checks: the app refuses to start when its database triggers are gone.

Signed reports and the audit log are unchangeable only because of database triggers
(``reports/migrations/_triggers.py``). A migration that rebuilds a table on SQLite, a
restore from a dump without triggers, or ``ALTER TABLE ... DISABLE TRIGGER`` removes
that guarantee without a sound, so every management command that runs the system
checks (runserver, check, migrate, ...) stops with an Error. gunicorn and celery run
no system checks: start them after ``manage.py check`` (see the README). It expects the triggers of the migrations that are applied only, so a fresh
``migrate`` (no tables yet) and an upgrade (new triggers not created yet) still run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

from reports.migrations import _sources
from reports.migrations._triggers import EXPECTED

HINT = (
    "Signed reports and the audit log are not protected. Find out who dropped or disabled "
    "the trigger; restore the database from a trusted backup, or re-create the triggers "
    "with the SQL in reports/migrations/_triggers.py."
)
SOURCE_MIGRATION = "0006_dashboard_source_counts"
SOURCE_HINT = (
    "The agreement dashboard cannot tell new labels from old and may show stale numbers. "
    "Re-create the triggers with the SQL in reports/migrations/_sources.py (SQLite drops a "
    "table's triggers when a migration rebuilds it)."
)


def _present(connection: Any) -> dict[str, bool]:
    """Trigger name -> enabled, for every trigger of this database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            return {name: True for (name,) in cursor.fetchall()}
        cursor.execute(
            """SELECT t.tgname, t.tgenabled <> 'D' FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"""
        )
        return dict(cursor.fetchall())


def _applied_and_present(alias: str) -> tuple[set[str], dict[str, bool]] | None:
    """The applied reports migrations and the triggers, or None where there is nothing to
    check (a fresh database: migrate creates the tables and the triggers; or no database)."""
    connection = connections[alias]
    if connection.vendor not in ("sqlite", "postgresql"):
        return None
    try:
        tables = set(connection.introspection.table_names())
        if (
            MigrationRecorder.Migration._meta.db_table not in tables
            or "reports_reportversion" not in tables
        ):
            return None
        applied = {
            name
            for app, name in MigrationRecorder(connection).applied_migrations()
            if app == "reports"
        }
        return applied, _present(connection)
    except DatabaseError:
        return None  # no database to look at; whatever needs it reports that


def _missing(
    alias: str, expected: dict[str, dict[str, dict[str, str]]], *, hint: str, check_id: str
) -> list[checks.CheckMessage]:
    """An Error per trigger that an applied migration of ``expected`` created and that is
    gone or disabled."""
    found = _applied_and_present(alias)
    if found is None:
        return []
    applied, present = found
    vendor = connections[alias].vendor
    errors: list[checks.CheckMessage] = []
    for migration, by_vendor in expected.items():
        if migration not in applied:
            continue
        for name, table in by_vendor[vendor].items():
            state = present.get(name)
            if state is None:
                what = "is missing"
            elif not state:
                what = "is disabled"
            else:
                continue
            errors.append(
                checks.Error(
                    f"The database trigger {name} on {table} ({alias} database) {what}.",
                    hint=hint,
                    obj=f"reports.{migration}",
                    id=check_id,
                )
            )
    return errors


def immutability_triggers_present(
    app_configs: Iterable[Any] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Error for each immutability trigger that an applied migration created and that is gone."""
    errors: list[checks.CheckMessage] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        errors.extend(_missing(alias, EXPECTED, hint=HINT, check_id="reports.E001"))
    return errors


def dashboard_source_triggers_present(
    app_configs: Iterable[Any] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Error for each trigger that counts the dashboard's source writes and that is gone."""
    expected = {
        SOURCE_MIGRATION: {
            vendor: _sources.expected_triggers(vendor) for vendor in ("postgresql", "sqlite")
        }
    }
    errors: list[checks.CheckMessage] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        errors.extend(_missing(alias, expected, hint=SOURCE_HINT, check_id="reports.E002"))
    return errors
