"""Password throttling: count attempts per username and per client address.

A lock-out holds for the rest of the window after ``LOGIN_THROTTLE_LIMIT`` attempts
that did not succeed. Counting both keys stops password spraying across usernames
from one address as well as guessing one username from many addresses.

- Usernames are keyed as Django's ``AuthenticationForm`` reads them (NFKC, stripped)
  and then casefolded, so ``ａｄｍｉｎ`` or ``ADMIN`` share ``admin``'s counter.
- An attempt takes its place *before* the password is checked (``acquire``): the
  counter is an atomic ``cache.add`` + ``cache.incr``, so a burst of parallel guesses
  gets at most ``LIMIT`` checks, not as many as arrive before the first failure is
  written. A success gives the address its place back and forgets the user's count.
- IPv6 clients are keyed by their /64, which one host usually controls whole.
- Two scopes. ``LOGIN`` is the login page, the admin login and the token endpoint.
  ``SIGNING`` is the password re-entry when a radiologist signs: it has its own
  counter per user, so failed logins by anyone who knows a radiologist's username
  cannot stop them signing. A wrong password at signing also counts towards the
  user's login counter (``note_failure``): guesses made through a borrowed session
  and at the login page add up.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

LOGIN = "login"
SIGNING = "sign"


def normalise_username(username: str) -> str:
    """The name the throttle counts under: what AuthenticationForm authenticates, casefolded."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()


def _address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(scope: str, username: str, address: str | None) -> list[str]:
    keys = []
    name = normalise_username(username)
    if name:
        keys.append(f"throttle:{scope}:user:{hashlib.sha256(name.encode()).hexdigest()[:32]}")
    if address:
        keys.append(f"throttle:{scope}:addr:{_address_key(address)}")
    return keys


def _window() -> int:
    return max(1, int(settings.LOGIN_THROTTLE_WINDOW_S))


def _bump(key: str, delta: int = 1) -> int:
    """Atomically add ``delta`` to a counter that lives one window from its first attempt."""
    window = _window()
    cache.add(f"{key}:since", time.time(), window)
    cache.add(key, 0, window)
    try:
        count = cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, window)
        count = cache.incr(key, delta)
    if count == delta:
        # Redis INCR of a key that expired a moment earlier recreates it without a TTL.
        cache.touch(key, window)
    return count


def _remaining(key: str) -> int:
    since = cache.get(f"{key}:since")
    if since is None:
        return _window()
    return max(1, int(_window() - (time.time() - float(since))) + 1)


@dataclass(frozen=True)
class Verdict:
    """The answer to ``acquire``: 0 seconds means go ahead and check the password."""

    locked_for: int = 0
    first_refusal: bool = False  # this attempt is the one that found the key locked

    def __bool__(self) -> bool:
        return self.locked_for > 0


def acquire(*, username: str, address: str | None = None, scope: str = LOGIN) -> Verdict:
    """Take a place for one password check, or say for how long the name or address is locked."""
    limit = int(settings.LOGIN_THROTTLE_LIMIT)
    worst, first = 0, False
    for key in _keys(scope, username, address):
        count = _bump(key)
        if count > limit:
            worst = max(worst, _remaining(key))
            first = first or count == limit + 1
    return Verdict(locked_for=worst, first_refusal=first)


def succeeded(*, username: str, address: str | None = None, scope: str = LOGIN) -> None:
    """The password was right: the user's count starts again and the address gets its place back."""
    keys = _keys(scope, username, address)
    user_keys = [k for k in keys if ":user:" in k]
    cache.delete_many([*user_keys, *(f"{k}:since" for k in user_keys)])
    for key in keys:
        if ":addr:" in key:
            with contextlib.suppress(
                ValueError
            ):  # the window ended meanwhile: nothing to give back
                cache.decr(key)


def note_failure(*, username: str, scope: str = LOGIN) -> None:
    """Count a wrong password given elsewhere (signing) against the user's ``scope`` counter."""
    for key in _keys(scope, username, None):
        _bump(key)


def seconds_locked(*, username: str, address: str | None = None, scope: str = LOGIN) -> int:
    """Seconds until the next attempt may be checked; 0 when not locked. Takes no place."""
    limit = int(settings.LOGIN_THROTTLE_LIMIT)
    worst = 0
    for key in _keys(scope, username, address):
        if int(cache.get(key, 0) or 0) >= limit:
            worst = max(worst, _remaining(key))
    return worst
