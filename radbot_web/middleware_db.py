"""A database that is down or was restarted answers 503 "try again", not a 500.

PostgreSQL restarting (an upgrade, a fail-over, a crash) kills every open connection;
the request using one gets ``OperationalError``/``InterfaceError``. Its transaction is
rolled back, so nothing is half-written, but the user used to get a bare 500. Here it
becomes a 503 with a clear message (HTML, or JSON under ``/api/``) and a Retry-After.

Errors can be raised in the view or in a middleware inside this one (the session, the
user lookup of the login check); Django turns those into a 500 response at the layer
that raised them, so the error is noted on the request through
``got_request_exception`` and the 500 replaced here. Django itself drops the broken
connection at the end of the request (``close_if_unusable_or_obsolete``), so the next
request reconnects; this middleware also closes it at once. Nothing here touches the
database, so the 503 page renders while it is down.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)
MESSAGE = "The database is unavailable; nothing was saved by this request. Try again in a moment."
RETRY_AFTER_S = 5
_NOTE = "_radbot_database_error"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Database unavailable · RadBot</title></head>
<body><main><h1>The database is unavailable</h1>
<p role="alert">{message}</p>
<p><a href="">Reload the page</a></p></main></body></html>
"""


def database_error(exc: BaseException | None) -> BaseException | None:
    """``exc`` or the database error it was raised from, if any."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DB_ERRORS):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _note_database_error(sender, request: HttpRequest | None = None, **kwargs) -> None:
    error = database_error(sys.exc_info()[1])
    if error is not None and request is not None:
        setattr(request, _NOTE, error)


got_request_exception.connect(_note_database_error, dispatch_uid="radbot-database-unavailable")


def _drop_broken_connections() -> None:
    for conn in connections.all(initialized_only=True):
        try:
            if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
                conn.close()
        except (
            Exception
        ):  # closing a dead connection may itself fail; Django retries at request end
            log.debug("could not close connection %s", conn.alias, exc_info=True)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(
            PAGE.format(message=MESSAGE), status=503, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        error = getattr(request, _NOTE, None)
        if error is not None and response.status_code >= 500:
            log.warning(
                "database unavailable during %s %s: %s", request.method, request.path, error
            )
            _drop_broken_connections()
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = database_error(exception)
        if error is None:
            return None
        log.warning("database unavailable during %s %s: %s", request.method, request.path, error)
        _drop_broken_connections()
        return unavailable_response(request)


class DatabaseAwareSessionMiddleware(SessionMiddleware):
    """Django's session middleware, except that a session that cannot be saved because
    the database is down answers the same 503 "try again".

    Django turns any database error while saving a session into ``SessionInterrupted``
    (a 400 "the session was deleted"), which would tell the user the wrong thing.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except SessionInterrupted as exc:
            error = database_error(exc)
            if error is None:
                raise
            log.warning(
                "database unavailable saving the session of %s %s: %s",
                request.method,
                request.path,
                error,
            )
            _drop_broken_connections()
            return unavailable_response(request)
