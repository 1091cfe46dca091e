"""Writes for accounts: role groups, users and API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, password_stamp, token_digest
from accounts.roles import ADMIN, ROLE_PERMISSIONS
from audit.models import AccessEvent
from audit.services import record_access

TOKEN_PREFIX = "rbt_"  # noqa: S105 - a public marker on API tokens, not a secret


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def ensure_roles() -> dict[str, Group]:
    """Create the role groups and set their permissions to exactly the matrix."""
    groups: dict[str, Group] = {}
    for role, permissions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        try:
            group.permissions.set([_permission(p) for p in sorted(permissions)])
        except Permission.DoesNotExist:
            # post_migrate of an app that runs before the permissions exist.
            continue
        groups[role] = group
    return groups


@transaction.atomic
def create_user(*, username: str, password: str, role: str, email: str = "") -> AbstractUser:
    """Create (or reset) a user in exactly one role."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLE_PERMISSIONS)}")
    groups = ensure_roles()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_staff = role == ADMIN
    user.is_superuser = role == ADMIN
    user.save()
    user.groups.set([groups[role]])
    return user


# --- API tokens ------------------------------------------------------------------------------


@transaction.atomic
def issue_token(*, user: Any, request: Any = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: its row and the token itself, which is never stored or shown again.

    Each call issues another token (one per script or machine); the user's expired ones
    are dropped on the way.
    """
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires__lte=now).delete()
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        digest=token_digest(key),
        prefix=key[: len(TOKEN_PREFIX) + 4],
        password_stamp=password_stamp(user),
        created=now,
        expires=now + timedelta(days=settings.RADBOT_API_TOKEN_DAYS),
    )
    record_access(
        action=AccessEvent.Action.TOKEN_ISSUED,
        user=user,
        request=request,
        object_ref=f"token:{token.pk}",
        detail={"prefix": token.prefix, "expires": token.expires.isoformat()},
    )
    return token, key


@transaction.atomic
def revoke_tokens(*, user: Any, reason: str, request: Any = None, tokens: Any = None) -> int:
    """Delete the user's tokens (or the given queryset of theirs) and log it; how many went."""
    rows = ApiToken.objects.filter(user=user) if tokens is None else tokens.filter(user=user)
    prefixes = list(rows.values_list("prefix", flat=True))
    if not prefixes:
        return 0
    rows.delete()
    record_access(
        action=AccessEvent.Action.TOKEN_REVOKED,
        request=request,
        object_ref=f"user:{user.pk}",
        detail={"subject": user.get_username(), "reason": reason, "tokens": prefixes},
    )
    return len(prefixes)
