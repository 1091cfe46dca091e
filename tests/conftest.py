"""Shared fixtures. A test that needs a real service calls `require_service`:
it skips on a laptop without the service, and fails under CI
(RADBOT_REQUIRE_SERVICES=1), so CI can never pass by skipping."""

from __future__ import annotations

import os

import pytest


def require_service(what: str) -> None:
    if os.environ.get("RADBOT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable under CI: {what}")
    pytest.skip(f"service unavailable: {what}")


def require_worker_services() -> None:
    """For a test that starts worker processes of its own: a database they can share and a broker."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        require_service("PostgreSQL (a worker process needs a database it can share)")
    if settings.CELERY_TASK_ALWAYS_EAGER:
        require_service("Celery broker (set CELERY_BROKER_URL=redis://...)")


@pytest.fixture(autouse=True)
def _isolated_media(request, settings, tmp_path):
    """Each test writes files to its own folder, except tests sharing a worker's folder."""
    if request.node.get_closest_marker("services") is None:
        settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from reports.agreement.cache import clear_local

    cache.clear()
    clear_local()
    yield
    cache.clear()
    clear_local()


@pytest.fixture
def annotator(db):
    from tests.factories import make_user

    return make_user("annotator")


@pytest.fixture
def radiologist(db):
    from tests.factories import make_user

    return make_user("radiologist")


@pytest.fixture
def researcher(db):
    from tests.factories import make_user

    return make_user("researcher")


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user("admin")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def eager_celery():
    """Run tasks in-process for a test that checks a task's effect, not the broker."""
    from radbot_web.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before
