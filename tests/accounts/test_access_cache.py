"""Cached permissions follow grant changes at once, and spare the database."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from accounts.selectors import roles_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_a_second_request_reads_permissions_without_queries():
    user = make_user("annotator")
    assert _fresh(user).has_perm(roles.ANNOTATE)
    again = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert again.has_perm(roles.ANNOTATE)
        assert not again.has_perm(roles.SIGN_REPORTS)
        assert roles_of(again) == ["annotator"]
    assert len(queries) == 0


def test_joining_a_group_grants_its_permissions_on_the_next_request():
    user = make_user("annotator")
    assert not _fresh(user).has_perm(roles.SIGN_REPORTS)
    user.groups.add(Group.objects.get(name=roles.RADIOLOGIST))
    fresh = _fresh(user)
    assert fresh.has_perm(roles.SIGN_REPORTS)
    assert roles_of(fresh) == ["annotator", "radiologist"]


def test_removing_a_permission_from_a_group_takes_effect_at_once():
    user = make_user("radiologist")
    assert _fresh(user).has_perm(roles.SIGN_REPORTS)
    app_label, codename = roles.SIGN_REPORTS.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    Group.objects.get(name=roles.RADIOLOGIST).permissions.remove(permission)
    assert not _fresh(user).has_perm(roles.SIGN_REPORTS)


def test_deactivating_or_promoting_a_user_takes_effect_at_once():
    user = make_user("annotator")
    assert _fresh(user).has_perm(roles.ANNOTATE)
    user.is_active = False
    user.save()
    assert not _fresh(user).has_perm(roles.ANNOTATE)
    user.is_active = True
    user.is_superuser = True
    user.save()
    assert _fresh(user).has_perm(roles.VIEW_PSEUDONYM_MAP)


def test_a_request_during_the_change_cannot_cache_the_old_grants(
    django_capture_on_commit_callbacks,
):
    from accounts.access_cache import Access, access_of

    user = make_user("radiologist")
    old = Access(
        permissions=frozenset(roles.ROLE_PERMISSIONS[roles.RADIOLOGIST]), roles=(roles.RADIOLOGIST,)
    )
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.set([Group.objects.get(name=roles.ANNOTATOR)])
        # A concurrent request, which still reads the committed (old) grants until this
        # transaction commits, caches them under the generation the change just made.
        access_of(_fresh(user), lambda _user: old)
    assert not _fresh(user).has_perm(roles.SIGN_REPORTS)
