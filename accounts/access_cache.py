"""Each user's permissions and roles, read from the database once and then from the cache.

Every page asks for several capabilities (the view's permission check and the menu's
context processor); without this each request pays three queries for them. The cache
key carries a generation that any change to group membership, group permissions, user
permissions or superuser status replaces (see accounts/receivers.py), so a change takes
effect on the next request, in every process sharing the cache.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.cache import cache

GENERATION_KEY = "accounts:access-generation"
TIMEOUT_S = 3600


@dataclass(frozen=True)
class Access:
    permissions: frozenset[str]
    roles: tuple[str, ...]


def new_generation() -> None:
    """Forget every cached access set (called when any grant changes)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        # add(): two processes starting at once agree on one generation.
        if not cache.add(GENERATION_KEY, generation, None):
            generation = cache.get(GENERATION_KEY, generation)
    return generation


def access_of(user, load) -> Access:
    """The user's Access, from the request-local copy, the cache, or ``load(user)``."""
    cached = getattr(user, "_radbot_access", None)
    if cached is not None:
        return cached
    key = f"accounts:access:{_generation()}:{user.pk}"
    access = cache.get(key)
    if access is None:
        access = load(user)
        cache.set(key, access, TIMEOUT_S)
    user._radbot_access = access
    return access
