from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, transaction
from django.test import RequestFactory

from audit.models import AccessEvent
from audit.services import record_access, record_read
from studies.storage import UnsafePath, media_path, path_within


def _request(user, **meta):
    request = RequestFactory().get("/", **meta)
    request.user = user
    return request


@pytest.mark.django_db
def test_a_read_is_recorded_once_per_user_object_and_day(radiologist, annotator):
    for _ in range(3):
        record_read(
            action=AccessEvent.Action.VIEW_STUDY, request=_request(radiologist), study_uid="1.2.3"
        )
    record_read(
        action=AccessEvent.Action.VIEW_STUDY, request=_request(annotator), study_uid="1.2.3"
    )
    record_read(
        action=AccessEvent.Action.VIEW_STUDY, request=_request(radiologist), study_uid="1.2.4"
    )
    rows = AccessEvent.objects.filter(action="view_study")
    assert sorted((r.username, r.study_uid) for r in rows) == sorted(
        [
            (radiologist.username, "1.2.3"),
            (annotator.username, "1.2.3"),
            (radiologist.username, "1.2.4"),
        ]
    )


@pytest.mark.django_db(transaction=True)
def test_events_cannot_be_changed(radiologist):
    event = record_access(action=AccessEvent.Action.EXPORT, user=radiologist, object_ref="gold.csv")
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        AccessEvent.objects.filter(pk=event.pk).update(object_ref="nothing")
    assert AccessEvent.objects.get(pk=event.pk).object_ref == "gold.csv"


@pytest.mark.django_db
def test_the_client_address_comes_through_trusted_proxies_only(settings, radiologist):
    spoofed = {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}
    settings.RADBOT_TRUSTED_PROXY_COUNT = 0
    assert (
        record_access(action="login", request=_request(radiologist, **spoofed)).address
        == "10.0.0.9"
    )
    settings.RADBOT_TRUSTED_PROXY_COUNT = 1
    assert (
        record_access(action="login", request=_request(radiologist, **spoofed)).address
        == "203.0.113.7"
    )


def test_paths_that_leave_their_root_are_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    assert (
        media_path("dicom", "1.2", "3.dcm")
        == (tmp_path / "media" / "dicom" / "1.2" / "3.dcm").resolve()
    )
    for bad in ["../../../../evil_study", "/etc/passwd", "a/../../../b", "", "x\x00y"]:
        with pytest.raises(UnsafePath):
            media_path("dicom", bad, "x.dcm")
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        path_within(tmp_path / "media", "link", "escaped.png")
