"""Curation leases: the report an annotator has open is held for them, so colleagues
working the same queue at the same time are given other reports.

A lease is advisory and lives in the cache (Redis in production), with a time limit
(``RADBOT_CURATION_LEASE_S``): it spares two people labelling the same report at once.
Losing one (a cache restart) costs at most a conflict, which the optimistic check on
save (``services``) still catches, so nothing is lost. A report in the overlap share has
two places, one per annotator, less those already taken by a saved decision.
The adjudication queue holds its reports the same way, apart (one adjudicator each).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from labeling.curation.queue import annotators_needed

PREFIX = "labeling:lease"
CURATE = "curate"
ADJUDICATE = "adjudicate"


def lease_seconds() -> int:
    return max(1, int(settings.RADBOT_CURATION_LEASE_S))


def _keys(report_id: int, queue: str) -> list[str]:
    places = annotators_needed(report_id) if queue == CURATE else 1
    return [f"{PREFIX}:{queue}:{int(report_id)}:{place}" for place in range(places)]


def _user_key(user_id: int, queue: str) -> str:
    return f"{PREFIX}:{queue}:user:{int(user_id)}"


def claim(*, report_id: int, user_id: int, places: int = 1, queue: str = CURATE) -> bool:
    """Hold the report for this user, or renew their hold; False when others hold all of
    its ``places`` (the annotators it still needs besides those who decided).

    One hold per person: holding a new report gives back the one they held before (a
    reload that moved on, a changed filter), so it does not sit idle until it runs out.
    """
    keys = _keys(report_id, queue)
    user_key = _user_key(user_id, queue)
    # One round trip for the report's places and what this person held before.
    held = cache.get_many([*keys, user_key])
    previous = held.pop(user_key, None)
    for key in keys:
        if held.get(key) == user_id:
            cache.touch(key, lease_seconds())
            cache.touch(user_key, lease_seconds())
            return True
    if len(held) >= places:
        return False
    # add() writes only where no lease exists: of two people claiming the last place at
    # once, one wins.
    if not any(
        key not in held and cache.add(key, user_id, lease_seconds()) for key in keys[:places]
    ):
        return False
    if previous is not None and previous != report_id:
        release(report_id=previous, user_id=user_id, queue=queue)
    cache.set(user_key, report_id, lease_seconds())
    return True


def release(*, report_id: int, user_id: int, queue: str = CURATE) -> None:
    """Give the report back to the queue (after a save or a skip)."""
    keys = _keys(report_id, queue)
    user_key = _user_key(user_id, queue)
    held = cache.get_many([*keys, user_key])
    mine = [key for key in keys if held.get(key) == user_id]
    if held.get(user_key) == report_id:
        mine.append(user_key)  # they hold nothing now: the next claim has nothing to give back
    if mine:
        cache.delete_many(mine)


def held_counts(report_ids: list[int], *, except_user: int, queue: str = CURATE) -> dict[int, int]:
    """How many people other than ``except_user`` hold each report now, in one cache round trip."""
    keys = {key: report_id for report_id in report_ids for key in _keys(report_id, queue)}
    counts = dict.fromkeys(report_ids, 0)
    for key, holder in cache.get_many(list(keys)).items():
        counts[keys[key]] += holder != except_user
    return counts


def holders(*, report_id: int, queue: str = CURATE) -> list[int]:
    """Who holds the report now."""
    return list(cache.get_many(_keys(report_id, queue)).values())
