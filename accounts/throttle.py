"""Login throttling: count failures per username and per client address.

A lock-out holds for the rest of the window after ``LOGIN_THROTTLE_LIMIT``
failures. Counting both keys stops password spraying across usernames from one
address as well as guessing one username from many addresses. Password checks that
are not logins (the signature dialog) count against the username alone, so a wrong
password there and at the login page add up.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str | None) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    keys = [f"login-fail:user:{name}"]
    return keys if address is None else [*keys, f"login-fail:addr:{address}"]


def seconds_locked(*, username: str, address: str | None = None) -> int:
    """Seconds until a login may be tried again; 0 when not locked."""
    now = time.time()
    worst = 0.0
    for key in _keys(username, address):
        failures: list[float] = cache.get(key, [])
        recent = [t for t in failures if now - t < settings.LOGIN_THROTTLE_WINDOW_S]
        if len(recent) >= settings.LOGIN_THROTTLE_LIMIT:
            worst = max(worst, settings.LOGIN_THROTTLE_WINDOW_S - (now - min(recent)))
    return int(worst) + (1 if worst else 0)


def record_failure(*, username: str, address: str | None = None) -> None:
    now = time.time()
    window = settings.LOGIN_THROTTLE_WINDOW_S
    for key in _keys(username, address):
        failures = [t for t in cache.get(key, []) if now - t < window]
        failures.append(now)
        cache.set(key, failures, timeout=window)


def clear(*, username: str, address: str | None = None) -> None:
    cache.delete_many(_keys(username, address)[:1])


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
