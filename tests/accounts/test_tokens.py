"""API tokens (finding #15): hashed at rest, expiring, revoked on a password or role change."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from audit.models import AccessEvent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _issue(api_client, username: str) -> str:
    response = api_client.post(
        "/api/auth/token", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _get(api_client, token: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api_client.get("/api/studies")


def _refused(response) -> bool:
    return response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_only_a_digest_of_the_token_is_stored(api_client):
    user = make_user("researcher", username="res")
    token = _issue(api_client, "res")
    row = ApiToken.objects.get(user=user)
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert token not in stored and token[8:] not in stored
    assert _get(api_client, token).status_code == 200


def test_a_token_expires_after_the_configured_days(api_client, settings):
    assert settings.RADBOT_API_TOKEN_DAYS == 30
    make_user("researcher", username="res")
    response = api_client.post(
        "/api/auth/token", {"username": "res", "password": PASSWORD}, format="json"
    )
    row = ApiToken.objects.get()
    assert row.expires - row.created == timedelta(days=30)
    assert response.json()["expires"].startswith(row.expires.isoformat()[:19])
    ApiToken.objects.update(
        created=timezone.now() - timedelta(days=31), expires=timezone.now() - timedelta(days=1)
    )
    answer = _get(api_client, response.json()["token"])
    assert _refused(answer) and "expired" in answer.json()["detail"]


def test_a_password_change_revokes_the_users_tokens(api_client):
    user = make_user("researcher", username="res")
    token = _issue(api_client, "res")
    user.set_password("another-long-password-2")
    user.save()
    assert _refused(_get(api_client, token))
    assert not ApiToken.objects.exists()
    event = AccessEvent.objects.get(action="token_revoked")
    assert (event.detail["subject"], event.detail["reason"]) == ("res", "password changed")


def test_a_password_changed_behind_the_signals_back_still_voids_the_token(api_client):
    from django.contrib.auth.hashers import make_password

    user = make_user("researcher", username="res")
    token = _issue(api_client, "res")
    type(user).objects.filter(pk=user.pk).update(password=make_password("another-long-password-2"))
    assert _refused(_get(api_client, token))


def test_a_role_change_revokes_the_users_tokens_and_is_audited(api_client):
    user = make_user("researcher", username="res")
    token = _issue(api_client, "res")
    user.groups.add(Group.objects.get(name="radiologist"))
    assert _refused(_get(api_client, token))
    changes = AccessEvent.objects.filter(action="role_changed", detail__subject="res").order_by(
        "id"
    )
    assert [e.detail["groups"] for e in changes] == [
        {"added": ["researcher"]},
        {"added": ["radiologist"]},
    ]
    assert AccessEvent.objects.get(action="token_revoked").detail["reason"] == "role changed"
    # Also from the group's side, and for the superuser flag.
    token = _issue(api_client, "res")
    Group.objects.get(name="radiologist").user_set.remove(user)
    assert _refused(_get(api_client, token))
    token = _issue(api_client, "res")
    user.refresh_from_db()
    user.is_superuser = True
    user.save()
    assert _refused(_get(api_client, token))
    assert AccessEvent.objects.filter(
        action="role_changed", detail__flags__is_superuser=[False, True]
    ).exists()


def test_issuance_is_audited_and_other_users_tokens_survive(api_client):
    make_user("researcher", username="res")
    other = make_user("radiologist", username="rad")
    token = _issue(api_client, "res")
    other_token = _issue(api_client, "rad")
    other.groups.clear()
    assert _get(api_client, token).status_code == 200
    assert _refused(_get(api_client, other_token))
    issued = AccessEvent.objects.filter(action="token_issued").order_by("id")
    assert [e.username for e in issued] == ["res", "rad"]
    assert all(token not in str(e.detail) for e in issued)


def test_bad_tokens_and_missing_fields(api_client):
    assert _refused(_get(api_client, "rbt_not-a-real-token"))
    response = api_client.post("/api/auth/token", {"username": "x"}, format="json")
    assert response.status_code == 400 and "password" in response.json()


def test_the_token_endpoint_documents_its_answers(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema?format=json").json()
    responses = schema["paths"]["/api/auth/token"]["post"]["responses"]
    assert {"200", "400", "429"} <= set(responses)
    issued = responses["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][issued]["properties"]) == {"token", "expires"}


def test_the_admin_lists_tokens_without_them_and_revokes(client, admin_user, api_client):
    make_user("researcher", username="res")
    _issue(api_client, "res")
    row = ApiToken.objects.get()
    client.force_login(admin_user)
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200 and row.prefix in page.content.decode()
    assert (
        row.digest not in client.get(f"/admin/accounts/apitoken/{row.pk}/change/").content.decode()
    )
    response = client.post(f"/admin/accounts/apitoken/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not ApiToken.objects.exists()
    event = AccessEvent.objects.get(action="token_revoked")
    assert (event.user, event.detail["reason"]) == (admin_user, "revoked in the admin")
