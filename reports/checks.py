"""System check: the app refuses to start when the immutability triggers are gone.

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

from reports.migrations._triggers import EXPECTED

HINT = (
    "Signed reports and the audit log are not protected. Find out who dropped or disabled "
    "the trigger; restore the database from a trusted backup, or re-create the triggers "
    "with the SQL in reports/migrations/_triggers.py."
)


_REPORTS_TABLES = "reports\\_%"


def _present(connection: Any) -> dict[str, bool]:
    """Trigger name -> enabled, for the triggers on the reports tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE %s ESCAPE '\\'",
                [_REPORTS_TABLES],
            )
            return {name: True for (name,) in cursor.fetchall()}
        cursor.execute(
            """SELECT t.tgname, t.tgenabled <> 'D' FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal AND c.relname LIKE %s AND pg_table_is_visible(c.oid)""",
            [_REPORTS_TABLES],
        )
        return dict(cursor.fetchall())


def _problems(alias: str) -> list[checks.CheckMessage]:
    connection = connections[alias]
    if connection.vendor not in ("sqlite", "postgresql"):
        return []
    try:
        tables = set(connection.introspection.table_names())
        if (
            MigrationRecorder.Migration._meta.db_table not in tables
            or "reports_reportversion" not in tables
        ):
            return []  # a fresh database: migrate creates the tables and the triggers
        applied = {
            name
            for app, name in MigrationRecorder(connection).applied_migrations()
            if app == "reports"
        }
        present = _present(connection)
    except DatabaseError:
        return []  # no database to look at; whatever needs it reports that
    errors: list[checks.CheckMessage] = []
    for migration, by_vendor in EXPECTED.items():
        if migration not in applied:
            continue
        for name, table in by_vendor[connection.vendor].items():
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
                    hint=HINT,
                    obj=f"reports.{migration}",
                    id="reports.E001",
                )
            )
    return errors


def immutability_triggers_present(
    app_configs: Iterable[Any] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Error for each immutability trigger that an applied migration created and that is gone."""
    errors: list[checks.CheckMessage] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        errors.extend(_problems(alias))
    return errors
