"""Idle session timeout (finding #14) and the demo-only user command (finding #28)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.middleware import SEEN_KEY
from audit.models import AccessEvent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def _signed_in(client):
    make_user("annotator", username="ann")
    assert client.post("/login/", {"username": "ann", "password": PASSWORD}).status_code == 302


def test_a_session_ends_after_eight_idle_hours(client, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    _signed_in(client)
    expiry = _session(client).expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < expiry <= timedelta(hours=8)
    assert client.cookies["sessionid"]["max-age"] == 8 * 3600
    # Eight idle hours later the row has expired: the next request goes to the login page.
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    from django.core.cache import cache

    cache.clear()
    response = client.get("/studies/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_activity_renews_the_session_at_most_every_few_minutes(client, settings):
    _signed_in(client)
    soon = timezone.now() + timedelta(hours=1)
    # Renewed a moment ago: a request writes nothing, the expiry stays.
    Session.objects.update(expire_date=soon)
    session = client.session
    session[SEEN_KEY] = int(time.time())
    session.save()
    Session.objects.update(expire_date=soon)
    assert client.get("/studies/").status_code == 200
    assert _session(client).expire_date == soon
    # Last renewed longer ago than RADBOT_SESSION_RENEW_S: this request renews it to 8 h.
    session = client.session
    session[SEEN_KEY] = int(time.time()) - settings.RADBOT_SESSION_RENEW_S
    session.save()
    Session.objects.update(expire_date=soon)
    assert client.get("/studies/").status_code == 200
    assert _session(client).expire_date - timezone.now() > timedelta(hours=7, minutes=59)


def test_sign_in_and_sign_out_are_audited(client):
    _signed_in(client)
    client.post("/logout/")
    client.post("/login/", {"username": "nobody", "password": "x"}, REMOTE_ADDR="192.0.2.4")
    events = [
        (e.action, e.username)
        for e in AccessEvent.objects.filter(
            action__in=["login", "logout", "login_failed"]
        ).order_by("id")
    ]
    assert events == [("login", "ann"), ("logout", "ann"), ("login_failed", "nobody")]


def test_role_changes_in_the_admin_name_who_made_them(client, admin_user):
    ann = make_user("annotator", username="ann")
    client.force_login(admin_user)
    page = client.get(f"/admin/auth/user/{ann.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    for name in ("date_joined", "last_login"):
        value = data.pop(name, None)
        if value:
            data[f"{name}_0"], data[f"{name}_1"] = f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}"
    data.pop("password", None)
    data["groups"] = [g.pk for g in ann.groups.model.objects.filter(name="radiologist")]
    data["user_permissions"] = []
    data = {k: v for k, v in data.items() if v not in (False,)}
    response = client.post(f"/admin/auth/user/{ann.pk}/change/", data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    change = AccessEvent.objects.filter(action="role_changed", detail__subject="ann").order_by("id")
    assert [(e.user, e.detail["groups"]) for e in change][-2:] == [
        (admin_user, {"removed": ["annotator"]}),
        (admin_user, {"added": ["radiologist"]}),
    ]


def test_demo_users_are_refused_outside_the_demo(settings):
    settings.DEBUG = False
    settings.RADBOT_DEMO = False
    with pytest.raises(CommandError, match="published passwords"):
        call_command("create_demo_users")
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="admin").exists()
    call_command("create_demo_users", "--not-production")
    settings.RADBOT_DEMO = True
    call_command("create_demo_users")
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
