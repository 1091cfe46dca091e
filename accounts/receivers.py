"""Grant changes invalidate every cached access set (accounts/access_cache.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save

from accounts.access_cache import new_generation

_CHANGES = {"post_add", "post_remove", "post_clear"}


def _m2m_changed(sender, action, **kwargs) -> None:
    if action in _CHANGES:
        new_generation()


def _user_saved(sender, instance, update_fields=None, **kwargs) -> None:
    # A login only touches last_login; anything else may change superuser or active status.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    new_generation()


def _grant_removed(sender, **kwargs) -> None:
    new_generation()


def connect() -> None:
    user_model = get_user_model()
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"accounts.access.{through.__name__}")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="accounts.access.user_saved")
    for model in (Group, Permission, user_model):
        post_delete.connect(_grant_removed, sender=model, dispatch_uid=f"accounts.access.{model.__name__}.deleted")
