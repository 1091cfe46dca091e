"""The model backend, with each user's permission set served from the cache."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.access_cache import Access, access_of
from accounts.roles import ROLES


def load_access(user) -> Access:
    permissions = ModelBackend().get_all_permissions(user)
    names = set(user.groups.values_list("name", flat=True))
    return Access(permissions=frozenset(permissions), roles=tuple(r for r in ROLES if r in names))


class CachedModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(access_of(user_obj, load_access).permissions)

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return False
        return perm in access_of(user_obj, load_access).permissions
