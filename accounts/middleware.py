"""Request-wide pieces of accounts: the idle session timeout, and who is acting now."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "radbot_current_request", default=None
)

SEEN_KEY = "accounts:renewed_at"


def current_request() -> HttpRequest | None:
    """The request being served in this thread, for signal receivers that audit who acted."""
    return _current_request.get()


class SessionActivityMiddleware:
    """Keep a signed-in session alive while it is used; it ends SESSION_COOKIE_AGE after the last use.

    Django renews a session's expiry (cookie and database row) only when the session is
    saved. Saving on every request (SESSION_SAVE_EVERY_REQUEST) would write the session
    row for every htmx poll; marking it changed at most every RADBOT_SESSION_RENEW_S
    gives the same idle timeout, give or take those few minutes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            self._renew(request)
            return self.get_response(request)
        finally:
            _current_request.reset(token)

    @staticmethod
    def _renew(request: Any) -> None:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is None or user is None or not user.is_authenticated:
            return
        now = int(time.time())
        renewed = session.get(SEEN_KEY, 0)
        if not isinstance(renewed, int) or now - renewed >= settings.RADBOT_SESSION_RENEW_S:
            session[SEEN_KEY] = now  # a change: SessionMiddleware saves it with a fresh expiry
