"""API tokens: stored as a digest, expiring, revoked when the password or the roles change.

The token itself is shown once, when it is issued; the database keeps only its sha256
(a token is 256 random bits, so a fast hash is enough: there is nothing to brute-force),
so a database dump or the admin page gives no working credential.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_stamp(user) -> str:
    """Changes whenever the user's password hash does: a token outlives no password change,
    even one made without the signals that revoke tokens (a queryset update, raw SQL)."""
    return hashlib.sha256(f"radbot-token-stamp:{user.password}".encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(
        max_length=64, unique=True, help_text="sha256 of the token; the token is not stored."
    )
    prefix = models.CharField(
        max_length=12, help_text="The token's first characters, to tell tokens apart."
    )
    password_stamp = models.CharField(
        max_length=64, help_text="The password the token was issued under."
    )
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires__gt=F("created")), name="api_token_expires_after_created"
            ),
            models.CheckConstraint(
                condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="api_token_digest_is_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user}, until {self.expires:%Y-%m-%d})"

    @property
    def expired(self) -> bool:
        return self.expires <= timezone.now()
