"""The password throttle (finding #8): normalised names, atomic counters, the client
address through trusted proxies, signing apart from logins, and the admin login (#4)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from accounts import throttle
from audit.models import AccessEvent
from reports.services import sign_report
from tests.accounts.redis_server import private_redis, redis_cache_settings
from tests.conftest import require_service
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _login(client, username, password="wrong", path="/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


@pytest.mark.parametrize("variant", ["ＡＤＭＩＮ", "𝐚𝐝𝐦𝐢𝐧", "ᵃdmin", "Admin ", "aDmin"])
def test_spellings_that_sign_in_as_one_user_share_its_counter(client, settings, variant):
    settings.LOGIN_THROTTLE_LIMIT = 2
    make_user("admin", username="admin")
    # One spelling Django would authenticate as "admin", from other addresses each time.
    for i in range(2):
        assert _login(client, variant, REMOTE_ADDR=f"10.1.0.{i}").status_code == 200
    response = _login(client, "admin", PASSWORD, REMOTE_ADDR="10.2.0.1")
    assert response.status_code == 429


def test_the_throttle_keys_on_what_the_login_form_authenticates():
    from django.contrib.auth.forms import UsernameField

    for typed in ["ａｄｍｉｎ", "𝐚𝐝𝐦𝐢𝐧", " admin", "ᵃdmin"]:
        assert (
            throttle.normalise_username(typed) == UsernameField().clean(typed).casefold() == "admin"
        )


def test_clients_behind_a_trusted_proxy_are_told_apart(client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 3
    settings.RADBOT_TRUSTED_PROXY_COUNT = 1
    make_user("annotator", username="ann")
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    # One client sprays usernames: its address locks, behind the shared proxy address.
    for name in ["a", "b", "c"]:
        _login(client, name, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert _login(client, "d", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy).status_code == 429
    # Everyone else behind the same proxy still signs in; a forged first hop changes nothing.
    other = Client()
    forged = "198.51.100.7, 203.0.113.9"
    assert _login(other, "ann", PASSWORD, HTTP_X_FORWARDED_FOR=forged, **proxy).status_code == 302


def test_an_ipv6_client_is_counted_by_its_64(client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 3
    for i in range(3):
        _login(client, f"user{i}", REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}")
    assert _login(client, "user9", REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert _login(client, "user9", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_failed_logins_by_others_cannot_stop_a_radiologist_signing(client, settings):
    from reports.services import create_ai_draft
    from tests.reports.review_helpers import study_with_reading

    settings.LOGIN_THROTTLE_LIMIT = 3
    radiologist = make_user("radiologist", username="rad")
    draft = create_ai_draft(job_id=study_with_reading()[1].pk)
    for i in range(5):
        _login(client, "rad", REMOTE_ADDR=f"192.0.2.{i}")
    assert _login(client, "rad", PASSWORD, REMOTE_ADDR="192.0.2.50").status_code == 429
    signed = sign_report(
        report=draft.report, user=radiologist, password=PASSWORD, version_number=draft.number
    )
    assert signed.status == "final"


def test_lockouts_and_failures_are_audited(client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 2
    make_user("annotator", username="ann")
    for _ in range(4):
        _login(client, "ann", REMOTE_ADDR="192.0.2.9")
    failed = AccessEvent.objects.filter(action="login_failed")
    assert [(e.username, e.address) for e in failed] == [("ann", "192.0.2.9")] * 2
    locked = AccessEvent.objects.get(action="locked_out")  # once, at the first refusal
    assert (locked.username, locked.address, locked.detail["scope"]) == (
        "ann",
        "192.0.2.9",
        "login",
    )


# --- the admin login (#4) ---------------------------------------------------------------------


def test_the_admin_login_is_throttled_with_the_app_login(client, settings):
    assert settings.LOGIN_THROTTLE_LIMIT == 5
    make_user("admin", username="boss")
    page = client.get("/admin/login/")
    assert page.status_code == 200 and "admin/login.html" in [t.name for t in page.templates]
    for _ in range(3):
        assert _login(client, "boss", path="/admin/login/").status_code == 200
    for _ in range(2):
        assert _login(client, "boss").status_code == 200  # the app's page counts with it
    response = _login(client, "boss", PASSWORD, path="/admin/login/")  # the 6th attempt
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert _login(client, "boss", PASSWORD).status_code == 429


def test_the_admin_login_still_signs_staff_in(client):
    make_user("admin", username="boss")
    response = _login(client, "boss", PASSWORD, path="/admin/login/?next=/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    # A signed-in user without staff rights sees the admin's form, not a redirect loop.
    make_user("annotator", username="ann")
    other = Client()
    other.post("/login/", {"username": "ann", "password": PASSWORD})
    assert other.get("/admin/login/?next=/admin/").status_code == 200


# --- atomic counters, on a real Redis -----------------------------------------------------------


@pytest.fixture
def redis_cache(settings):
    with private_redis() as server:
        settings.CACHES = redis_cache_settings(server.url)
        yield server


def test_parallel_attempts_get_at_most_the_limit_of_password_checks(redis_cache, settings):
    settings.LOGIN_THROTTLE_LIMIT = 5
    barrier = threading.Barrier(24)

    def attempt(i: int) -> bool:
        barrier.wait()
        return not throttle.acquire(username="rad", address=f"198.51.100.{i}")

    with ThreadPoolExecutor(24) as pool:
        admitted = sum(pool.map(attempt, range(24)))
    assert admitted == 5
    assert throttle.seconds_locked(username="ＲＡＤ") > 0


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_at_the_login_page_get_at_most_the_limit(redis_cache, settings):
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (threads writing the audit log at once)")
    settings.LOGIN_THROTTLE_LIMIT = 5
    make_user("radiologist", username="rad")
    barrier = threading.Barrier(16)

    def attempt(i: int) -> int:
        barrier.wait()
        try:
            return _login(Client(), "rad", REMOTE_ADDR=f"198.51.100.{i}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(attempt, range(16)))
    assert codes == [200] * 5 + [429] * 11
