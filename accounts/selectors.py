"""Reads for accounts."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.access_cache import access_of
from accounts.backends import load_access


def roles_of(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    if not user.is_authenticated:
        return []

    return list(access_of(user, load_access).roles)
