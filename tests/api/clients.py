"""API clients for tests: signed in with a token from POST /api/auth/token, as an
integration would be."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.factories import PASSWORD


def token_client(user) -> APIClient:
    """A client sending ``Authorization: Token ...`` for ``user`` (however tokens are stored)."""
    client = APIClient()
    answer = client.post(
        "/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body.get('token') or body['key']}")
    return client
