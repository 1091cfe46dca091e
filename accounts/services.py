"""Writes for accounts: role groups and users."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db import transaction

from accounts.roles import ADMIN, ROLE_PERMISSIONS


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
