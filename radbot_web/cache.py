"""A Redis cache that treats an outage as a miss, not as an error.

Everything the app keeps in the cache can be rebuilt or done without for a while:
sessions are written through to the database (``cached_db``), permission sets reload
from the database, curation holds are advisory (the save's optimistic check still
catches a conflict), and the login throttle counts again once Redis is back. So when
Redis stops, each operation logs a warning (at most one a minute per process) and
answers as an empty cache would: ``get`` the default, ``get_many`` nothing, ``add``
True (the key was absent), ``incr`` the delta (a fresh counter), writes and deletes
nothing. Pages keep working, slower and without cross-process state, until it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# BusyLoadingError (Redis starting up) is a ConnectionError too.
OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
WARN_EVERY_S = 60.0


class ReusedRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool.

    Django builds a new ``redis.Redis`` for every operation, and each one fills its table
    of about 170 reply callbacks: 0.1-0.2 ms of CPU per cache call, a dozen calls on a
    curation save. A ``redis.Redis`` holds no connection of its own (it borrows from the
    pool per command), so one per pool is safe to share.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """Django's RedisCache; a Redis outage becomes a logged cache miss."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
        self._warn_lock = threading.Lock()
        self._last_warning = float("-inf")
        self.outages = 0  # operations answered without Redis, for tests and diagnostics

    def _degraded(self, operation: str, error: BaseException, fallback: Any) -> Any:
        self.outages += 1
        with self._warn_lock:
            now = time.monotonic()
            due = now - self._last_warning >= WARN_EVERY_S
            if due:
                self._last_warning = now
        if due:
            logger.warning(
                "Redis cache unavailable (%s: %s) during %s; carrying on without it "
                "(logins unthrottled, holds and cached data not shared) until it is back",
                type(error).__name__,
                error,
                operation,
            )
        return fallback

    def _guard(self, operation: str, call: Callable[[], Any], fallback: Any) -> Any:
        try:
            return call()
        except OUTAGE as error:
            return self._degraded(operation, error, fallback)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "add", lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), True
        )

    def get(self, key, default=None, version=None):
        return self._guard(
            "get", lambda: super(ResilientRedisCache, self).get(key, default, version), default
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set", lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "touch", lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False
        )

    def delete(self, key, version=None):
        return self._guard(
            "delete", lambda: super(ResilientRedisCache, self).delete(key, version), False
        )

    def get_many(self, keys, version=None):
        return self._guard(
            "get_many", lambda: super(ResilientRedisCache, self).get_many(keys, version), {}
        )

    def has_key(self, key, version=None):
        return self._guard(
            "has_key", lambda: super(ResilientRedisCache, self).has_key(key, version), False
        )

    def incr(self, key, delta=1, version=None):
        return self._guard(
            "incr", lambda: super(ResilientRedisCache, self).incr(key, delta, version), delta
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set_many",
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
            list(data),
        )

    def delete_many(self, keys, version=None):
        return self._guard(
            "delete_many", lambda: super(ResilientRedisCache, self).delete_many(keys, version), None
        )

    def clear(self):
        return self._guard("clear", lambda: super(ResilientRedisCache, self).clear(), False)
