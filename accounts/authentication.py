"""``Authorization: Token <key>`` against accounts.models.ApiToken (digest, expiry, password)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import ApiToken, password_stamp, token_digest


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401 (with WWW-Authenticate: Token), checked against a digest."""

    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if token.expires <= timezone.now():
            raise AuthenticationFailed("Token has expired; ask for a new one at /api/auth/token.")
        user = token.user
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if not constant_time_compare(token.password_stamp, password_stamp(user)):
            raise AuthenticationFailed("Token revoked: the password changed since it was issued.")
        return user, token
