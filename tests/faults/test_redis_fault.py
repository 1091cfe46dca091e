"""Fault: Redis stops while the app runs (issue 11, "Redis stopped").

A private redis-server backs the cache (ResilientRedisCache, as in production), then is
stopped. Logins still work (unthrottled, with a logged warning), sessions fall back to
their database rows, and the study list, the curation page and a save answer as usual.
"""

from __future__ import annotations

import logging

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from labeling.models import Annotation
from tests.accounts.redis_server import private_redis, redis_cache_settings
from tests.factories import PASSWORD, make_user
from tests.labeling.curation_helpers import form, labelled_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    with private_redis() as server:
        settings.CACHES = redis_cache_settings(server.url)
        yield server


def _sign_in(client: Client, username: str) -> None:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def test_the_app_keeps_working_when_redis_stops(redis_cache, settings, caplog):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0
    make_user("radiologist", username="rad")
    first, second = labelled_report(confidence=0.3), labelled_report(confidence=0.6)
    before = Client()
    _sign_in(before, "rad")
    assert before.get("/labeling/curate/").status_code == 200
    # The session and the hold are in Redis now.
    assert redis.Redis.from_url(redis_cache.url).dbsize() > 0

    redis_cache.stop()
    caplog.set_level(logging.WARNING, logger="radbot_web.cache")

    # A session made before the outage is read from its database row.
    assert before.get("/studies/").status_code == 200
    page = before.get("/labeling/curate/")
    assert page.status_code == 200 and f'data-report="{first.pk}"' in page.content.decode()
    saved = before.post("/labeling/curate/save/", form(first.pk, 0, L4_L5={"disc": "bulge"}))
    assert saved.status_code == 200 and f'data-report="{second.pk}"' in saved.content.decode()
    assert Annotation.objects.filter(report=first).count() == 5

    # Signing in works, unthrottled, and says why in the log; the new session holds.
    after = Client()
    assert after.post("/login/", {"username": "rad", "password": "wrong"}).status_code == 200
    _sign_in(after, "rad")
    assert after.get("/studies/").status_code == 200
    assert after.get(f"/studies/{first.study.study_instance_uid}/").status_code == 200
    warnings = [r for r in caplog.records if r.name == "radbot_web.cache"]
    assert warnings and "Redis cache unavailable" in warnings[0].getMessage()
    # Rate-limited (one a minute per process), not one per failed cache call.
    assert len(warnings) < cache.outages

    # Signing out still ends the session (its database row goes).
    assert after.post("/logout/").status_code == 302
    assert after.get("/studies/").status_code == 302
