"""The access log's writes. Every view, command or task that must leave a trace calls
``record_access``; reads that happen many times a day call ``record_read``, which
keeps one row per user, action, object and day."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from audit.models import AccessEvent
from radbot_web.network import client_address

logger = logging.getLogger(__name__)

_READ_DEDUPE_S = 26 * 3600  # longer than a day: the key already names the day


def record_access(
    *,
    action: str,
    user: Any = None,
    request: Any = None,
    username: str = "",
    study_uid: str = "",
    object_ref: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Append one event. ``user`` defaults to ``request.user``; anonymous means none."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    known = user if getattr(user, "is_authenticated", False) else None
    return AccessEvent.objects.create(
        action=action,
        user=known,
        username=(username or (known.get_username() if known else ""))[:150],
        study_uid=study_uid[:64],
        object_ref=object_ref[:200],
        address=client_address(request)[:64] if request is not None else "",
        detail=detail or {},
    )


def record_read(*, action: str, request: Any, study_uid: str = "", object_ref: str = "") -> None:
    """A read of patient data: recorded at least once per user, action, object and day.

    The cache only saves rows; when it is unavailable every read is recorded.
    """
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return
    key = f"audit:read:{user.pk}:{action}:{study_uid}:{object_ref}:{timezone.localdate():%Y%m%d}"
    try:
        first_today = cache.add(key, 1, timeout=_READ_DEDUPE_S)
    except Exception:  # noqa: BLE001 - a cache outage must not hide a read from the log
        logger.warning("cache unavailable: recording every read until it is back")
        first_today = True
    if first_today:
        record_access(action=action, request=request, study_uid=study_uid, object_ref=object_ref)
