"""Tests against the real PostgreSQL, Redis and a Celery worker process.

On a laptop without them these skip; under CI (RADBOT_REQUIRE_SERVICES=1) a
missing service fails the run instead.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction

from studies.models import Series
from studies.services.ingest import ingest_paths
from tests.conftest import require_service
from tests.factories import StudyFactory
from tests.studies.batch import sagittal_series, write_files

pytestmark = pytest.mark.services


@pytest.mark.django_db
def test_the_apps_postgresql_sessions_run_without_jit():
    """PostgreSQL's JIT spent seconds compiling the worklist's query at 35,600 studies."""
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (set DATABASE_URL=postgres://...)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


@pytest.mark.django_db
def test_database_is_postgresql_and_enforces_constraints():
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (set DATABASE_URL=postgres://...)")
    study = StudyFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Series.objects.create(
            study=study,
            series_instance_uid="1.2.3",
            plane="diagonal",
            weighting="T2",
            rows=1,
            columns=1,
            pixel_spacing_row_mm=1,
            pixel_spacing_col_mm=1,
            orientation=[],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        study.levels.create(level="S1-S2")


def test_cache_is_redis_and_round_trips():
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        require_service("Redis cache (set REDIS_URL=redis://...)")
    cache.set("radbot:ci-probe", {"ok": 1}, timeout=30)
    assert cache.get("radbot:ci-probe") == {"ok": 1}


@pytest.mark.django_db(transaction=True)
def test_thumbnail_task_runs_on_a_real_celery_worker(tmp_path):
    from radbot_web.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        require_service("Celery broker (set CELERY_BROKER_URL=redis://...)")
    if not app.control.ping(timeout=5):
        require_service("a running Celery worker (celery -A radbot_web worker)")
    write_files(tmp_path / "in", sagittal_series(3))
    ingest_paths(paths=[tmp_path / "in"])  # commits, and on commit enqueues the thumbnail
    series = Series.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        series.refresh_from_db()
        if series.thumbnail:
            break
        time.sleep(0.25)
    assert series.thumbnail, "the worker did not render the thumbnail within 60 s"
    assert (settings.MEDIA_ROOT / series.thumbnail).read_bytes()[:4] == b"\x89PNG"
