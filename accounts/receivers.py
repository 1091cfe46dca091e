"""Signal receivers of accounts.

- Grant changes invalidate every cached access set (accounts/access_cache.py): at once,
  and again when the transaction commits, so that a request running meanwhile cannot
  re-cache the old grants under the new generation.
- A user's role change (groups, own permissions, superuser/staff/active flags) is
  audited and revokes their API tokens; so does a password change.
- Sign-ins, failed sign-ins and sign-outs are audited, from whichever page or API.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from accounts.access_cache import new_generation
from accounts.middleware import current_request
from accounts.services import revoke_tokens
from audit.models import AccessEvent
from audit.services import record_access

_CHANGES = {"post_add", "post_remove", "post_clear"}
_FLAGS = ("is_superuser", "is_staff", "is_active")


def _invalidate() -> None:
    new_generation()
    # A request that read the old grants before the commit could cache them under the
    # generation just made; a second one after the commit makes that entry unreachable.
    transaction.on_commit(new_generation)


def _m2m_changed(sender, action, **kwargs) -> None:
    if action in _CHANGES:
        _invalidate()


def _user_saved(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    # A login only touches last_login; anything else may change superuser or active status.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _invalidate()
    before = getattr(instance, "_radbot_before", None)
    instance._radbot_before = None
    if created or before is None:
        return

    request = current_request()
    if before["password"] != instance.password:
        revoke_tokens(user=instance, reason="password changed", request=request)
    flags = {
        f: [before[f], getattr(instance, f)] for f in _FLAGS if before[f] != getattr(instance, f)
    }
    if flags:
        _audit_role_change(instance, {"flags": flags}, request)
        revoke_tokens(user=instance, reason="role changed", request=request)


def _user_saving(sender, instance, update_fields=None, **kwargs) -> None:
    """Remember the password and flags as stored, to tell in post_save what changed."""
    instance._radbot_before = None
    if instance.pk is None or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    instance._radbot_before = (
        sender._default_manager.filter(pk=instance.pk).values("password", *_FLAGS).first()
    )


def _grant_removed(sender, **kwargs) -> None:
    _invalidate()


def _audit_role_change(user: Any, detail: dict, request: Any) -> None:
    record_access(
        action=AccessEvent.Action.ROLE_CHANGED,
        request=request,
        object_ref=f"user:{user.pk}",
        detail={"subject": user.get_username(), **detail},
    )


def _user_grants_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """user.groups / user.user_permissions changed, from either side of the relation."""
    if action == "pre_clear":
        # After a clear the signal no longer says what went: note it now.
        instance._radbot_cleared = set(_current_ids(sender, instance, reverse))
        return
    if action not in _CHANGES:
        return
    pk_set = set(pk_set or ())
    if action == "post_clear":
        pk_set = getattr(instance, "_radbot_cleared", set())
        instance._radbot_cleared = set()
    if not pk_set:
        return
    user_model = get_user_model()
    if reverse:  # group.user_set.add(...): the users are in pk_set
        users = list(user_model._default_manager.filter(pk__in=pk_set))
        names = {_label(instance)}
    else:
        users = [instance]
        names = {_label(obj) for obj in model._default_manager.filter(pk__in=pk_set)}
    kind = "groups" if sender is user_model.groups.through else "permissions"
    change = {"post_add": "added", "post_remove": "removed", "post_clear": "removed"}[action]

    request = current_request()
    for user in users:
        _audit_role_change(user, {kind: {change: sorted(names)}}, request)
        revoke_tokens(user=user, reason="role changed", request=request)


def _current_ids(sender, instance, reverse) -> list[int]:
    """What the relation holds now for ``instance`` (ids on the other side)."""
    user_model = get_user_model()
    user_field = "user_id"
    other_field = "group_id" if sender is user_model.groups.through else "permission_id"
    if reverse:
        return list(
            sender.objects.filter(**{other_field: instance.pk}).values_list(user_field, flat=True)
        )
    return list(
        sender.objects.filter(**{user_field: instance.pk}).values_list(other_field, flat=True)
    )


def _label(obj: Any) -> str:
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    if isinstance(obj, Group):
        return obj.name
    return str(obj)


# --- sign-in events ------------------------------------------------------------------------


def _logged_in(sender, request, user, **kwargs) -> None:
    record_access(action=AccessEvent.Action.LOGIN, user=user, request=request)


def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    typed = str(credentials.get("username", "") or "")
    # A failed sign-in has no signed-in user, whatever session the request carries.
    record_access(
        action=AccessEvent.Action.LOGIN_FAILED,
        user=AnonymousUser(),
        request=request,
        username=typed,
    )


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_access(action=AccessEvent.Action.LOGOUT, user=user, request=request)


def connect() -> None:
    user_model = get_user_model()
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            _m2m_changed, sender=through, dispatch_uid=f"accounts.access.{through.__name__}"
        )
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(
            _user_grants_changed, sender=through, dispatch_uid=f"accounts.roles.{through.__name__}"
        )
    pre_save.connect(_user_saving, sender=user_model, dispatch_uid="accounts.access.user_saving")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="accounts.access.user_saved")
    for model in (Group, Permission, user_model):
        post_delete.connect(
            _grant_removed, sender=model, dispatch_uid=f"accounts.access.{model.__name__}.deleted"
        )
    user_logged_in.connect(_logged_in, dispatch_uid="accounts.audit.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid="accounts.audit.login_failed")
    user_logged_out.connect(_logged_out, dispatch_uid="accounts.audit.logged_out")
