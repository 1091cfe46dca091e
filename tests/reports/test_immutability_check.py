"""The app refuses to start (system check reports.E001) when an immutability trigger is gone,
and no migration drops them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, transaction

from reports.checks import immutability_triggers_present

ROOT = Path(__file__).resolve().parents[2]


class _Rollback(Exception):
    pass


def errors_without(sql: str, check: Callable[[], list] = immutability_triggers_present) -> list:
    """``check``'s errors while ``sql`` (which removes a trigger) is in effect; rolled back after."""
    errors: list = []
    with pytest.raises(_Rollback), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
        errors = check()
        raise _Rollback
    return errors


@pytest.mark.django_db
def test_the_check_passes_on_a_migrated_database_and_fails_without_a_trigger():
    assert immutability_triggers_present() == []
    if connection.vendor == "postgresql":
        drop = "DROP TRIGGER reports_version_immutable ON reports_reportversion"
    else:
        drop = "DROP TRIGGER reports_version_immutable"
    errors = errors_without(drop)
    assert [(e.id, e.level >= 40) for e in errors] == [("reports.E001", True)]
    assert "reports_version_immutable" in errors[0].msg and "missing" in errors[0].msg
    assert immutability_triggers_present() == []  # the trigger is back after the rollback


@pytest.mark.django_db
def test_the_check_fails_on_a_disabled_trigger_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite cannot disable a trigger")
    errors = errors_without("ALTER TABLE reports_report DISABLE TRIGGER reports_report_study_fixed")
    assert [e.id for e in errors] == ["reports.E001"]
    assert "reports_report_study_fixed" in errors[0].msg and "disabled" in errors[0].msg


def _manage(db: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "RADBOT_VAR_DIR": str(tmp_path / "var"),
        "RADBOT_MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "test-only-secret-key-for-a-subprocess-0123456789",
        "RADBOT_DEID_SECRET": "test-only-deid-secret-0123456789",
        "CELERY_BROKER_URL": "memory://localhost/",
        "REDIS_URL": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _triggers(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        return {
            name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }


def test_manage_py_from_a_fresh_database_to_a_missing_trigger(tmp_path):
    db = tmp_path / "fresh.sqlite3"
    # migrate runs the system checks first: on a fresh database (no tables) the check stands aside.
    first = _manage(db, tmp_path, "migrate", "--noinput", "-v0")
    assert first.returncode == 0, first.stderr
    ours = {
        "reports_version_immutable",
        "reports_version_no_delete",
        "reports_audit_append_only",
        "reports_audit_no_delete",
        "reports_report_study_fixed",
    }
    assert ours <= _triggers(db)
    assert _manage(db, tmp_path, "check").returncode == 0

    # Going back past the migrations that create the triggers is refused; they stay.
    back = _manage(db, tmp_path, "migrate", "reports", "0001", "--noinput")
    assert back.returncode != 0 and "never dropped by a migration" in back.stderr
    assert ours <= _triggers(db)

    with sqlite3.connect(db) as con:
        con.execute("DROP TRIGGER reports_audit_no_delete")
    broken = _manage(db, tmp_path, "check")
    assert broken.returncode != 0
    assert "reports.E001" in broken.stderr and "reports_audit_no_delete" in broken.stderr
