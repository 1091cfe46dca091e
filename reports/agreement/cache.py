"""The agreement dashboard's cache: its numbers, stored with a fingerprint of their tables.

One query reads how many write statements have touched each source (predictions and
job states, NLP labels, annotations, radiologist reports, model versions, report versions
and their signatures), which database triggers count in the writing transaction
(reports/migrations/_sources.py). Any new prediction, label, annotation, gold decision
or signature changes its source's fingerprint, so a stale result is never served.
Receivers would not do: bulk_create and queryset updates (how predictions and job states
are written) send no signals.

Each entry is stored under a fixed key with the fingerprint beside it, so a changed
source replaces its entry instead of piling up new keys (Redis memory stays bounded
during a day of curation). The page's numbers are one entry; so are their expensive
parts, so that a new gold label recomputes the gold-dependent parts but reuses each
model's predictions and the NLP labels. Each process also keeps the entries it used last in
memory under the same keys and fingerprints, so a recompute does not unpickle a model's
predictions again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Sum

from reports.agreement.gold_counts import BUILT_ON, GoldCounts
from reports.agreement.queries import NLP, Labels, latest_predictions
from reports.agreement.sources import ANNOTATIONS, MODELS, SOURCES
from reports.agreement.summary import DashboardData, dashboard_data
from reports.models import DashboardSourceCount

T = TypeVar("T")
# Bump when DashboardData's or GoldCounts' shape or module changes, so old pickles are not
# read back.
SCHEMA = 8
TIMEOUT_S = 24 * 3600
PREFIX = f"reports:dashboard:{SCHEMA}"


class Sources:
    """A fingerprint per source: how many write statements have touched its tables, which
    the triggers of reports/migrations/_sources.py count, read in one small query."""

    def __init__(self, digests: dict[str, str]) -> None:
        self.digests = digests

    @classmethod
    def read(cls) -> Sources:
        writes = dict(
            DashboardSourceCount.objects.values("source")
            .annotate(total=Sum("writes"))
            .values_list("source", "total")
        )
        return cls({name: str(writes.get(name, 0)) for name in SOURCES})

    def key(self, *names: str) -> str:
        return ".".join(self.digests[name] for name in sorted(set(names)))


# The entries this process read or computed last, in front of the shared cache: reading a
# model's 17,800 predictions back from a pickle costs about as much as a recompute of
# the gold-dependent parts. Same keys and fingerprints, so it is never more stale.
LOCAL_ENTRIES = 32
_local: OrderedDict[str, tuple[str, Any]] = OrderedDict()


def clear_local() -> None:
    """Forget this process's entries (tests do, when they clear the shared cache)."""
    _local.clear()


def _remember(key: str, fingerprint: str, value: Any) -> None:
    _local[key] = (fingerprint, value)
    _local.move_to_end(key)
    while len(_local) > LOCAL_ENTRIES:
        _local.popitem(last=False)


def _shared_get(key: str, fingerprint: str | None) -> tuple[str, Any] | None:
    """(fingerprint, value) from the shared cache, if stored at ``fingerprint`` (None: at
    any). The fingerprint has a small key of its own and is read first, so a stale value,
    which may be megabytes, is not unpickled only to be thrown away."""
    stored_at = cache.get(f"{key}:fingerprint")
    if stored_at is None or (fingerprint is not None and stored_at != fingerprint):
        return None
    stored = cache.get(key)
    if stored is None or (fingerprint is not None and stored[0] != fingerprint):
        return None  # written by another process between the two reads
    return stored


def _shared_set(key: str, fingerprint: str, value: Any, timeout: float | None = TIMEOUT_S) -> None:
    cache.set_many({key: (fingerprint, value), f"{key}:fingerprint": fingerprint}, timeout)


def _cached(
    key: str,
    fingerprint: str,
    compute: Callable[[], T],
    update: Callable[[T], T] | None = None,
) -> T:
    """The value at ``fingerprint``: kept, or computed, or (given ``update``) made from
    the value kept at an earlier fingerprint."""
    local = _local.get(key)
    if local is not None and local[0] == fingerprint:
        _local.move_to_end(key)
        return local[1]
    stored = _shared_get(key, fingerprint)
    if stored is not None:
        _remember(key, fingerprint, stored[1])
        return stored[1]
    earlier = (local or _shared_get(key, None)) if update is not None else None
    value = update(earlier[1]) if update is not None and earlier is not None else compute()
    _shared_set(key, fingerprint, value)
    _remember(key, fingerprint, value)
    return value


# The NLP reference page covers every study, so any new study, label or prediction
# changes it, and computing it costs seconds at ten times the paper's archive (every
# version's predictions against the labeller's reading of every report). While only
# those rows change, it is served as computed up to this long ago, and says so; a new or
# removed model version is never served late.
NLP_REFERENCE_LAG_S = 600.0


def _cached_with_lag(
    key: str, fingerprint: str, basis: str, compute: Callable[[], T], lag_s: float
) -> tuple[T, str, float | None]:
    """(value, the fingerprint it was computed at, when, if that is not ``fingerprint``):
    the value at ``fingerprint``, or one computed at the same ``basis`` less than
    ``lag_s`` seconds ago, or a new one."""
    entry = _local.get(key)
    if entry is None or entry[0] != fingerprint:
        entry = _shared_get(key, None) or entry
    if entry is not None:
        stored_at, (value, stored_basis, computed_at) = entry
        if stored_at == fingerprint or (
            stored_basis == basis and time.time() - computed_at < lag_s
        ):
            _remember(key, *entry)
            return value, stored_at, None if stored_at == fingerprint else computed_at
    value = compute()
    entry = (fingerprint, (value, basis, time.time()))
    _shared_set(key, *entry)
    _remember(key, *entry)
    return value, fingerprint, None


def kept_while_unchanged(name: str, depends: tuple[str, ...], compute: Callable[[], T]) -> T:
    """``compute()``, kept in the cache until one of the ``depends`` sources changes."""
    return _cached(f"{PREFIX}:kept:{name}", Sources.read().key(*depends), compute)


def page_key(*, model_version_ids: Sequence[int], reference: str) -> str:
    models = "-".join(str(i) for i in model_version_ids) or "none"
    return f"{PREFIX}:page:{reference}:{models}"


GOLD_COUNTS_KEY = f"{PREFIX}:gold-counts"
# One request at a time per process follows the gold counts and reads figures off them:
# following changes them in place.
_gold_lock = threading.Lock()
# Followed counts go to the shared cache at most this often: pickling them costs more
# than following, and another process follows on from an older copy just as well.
SHARE_GOLD_EVERY_S = 60.0
_gold_shared_at = 0.0


def _predictions_of(model_id: int, study_ids: Iterable[int]) -> Labels:
    return latest_predictions(model_version_id=model_id, study_ids=study_ids)


class _GoldCountsOfRequest:
    """The gold counts a request uses: the newest copy this process or the shared cache
    holds, followed to the current annotations (or built when it cannot be), and stored
    again when they moved or counted another model version."""

    def __init__(self, sources: Sources) -> None:
        self.fingerprint = sources.key(ANNOTATIONS, *BUILT_ON)
        self.digests = sources.digests
        self.state: GoldCounts | None = None
        self.models: set[int] = set()

    def __call__(self) -> GoldCounts:
        if self.state is None:
            self.state = self._current()
            self.models = set(self.state.models)
        return self.state

    def _current(self) -> GoldCounts:
        local = _local.get(GOLD_COUNTS_KEY)
        if local is not None and local[0] == self.fingerprint:
            return local[1]
        previous = local or _shared_get(GOLD_COUNTS_KEY, None)
        if previous is not None and previous[0] == self.fingerprint:
            _remember(GOLD_COUNTS_KEY, *previous)
            return previous[1]
        # The copy is changed in place: forget it until it is whole again.
        _local.pop(GOLD_COUNTS_KEY, None)
        state = previous[1] if previous is not None else None
        if state is not None and state.follow(
            digests=self.digests, read_predictions=_predictions_of
        ):
            self._store(state, share=time.monotonic() - _gold_shared_at > SHARE_GOLD_EVERY_S)
        else:
            state = GoldCounts.build(digests=self.digests)
            self._store(state, share=True)
        return state

    def _store(self, state: GoldCounts, *, share: bool) -> None:
        global _gold_shared_at
        if share:
            # Kept however long nobody looks (one fixed key): building them again costs
            # seconds at ten times the paper's archive.
            _shared_set(GOLD_COUNTS_KEY, self.fingerprint, state, timeout=None)
            _gold_shared_at = time.monotonic()
        _remember(GOLD_COUNTS_KEY, self.fingerprint, state)

    def store_if_grown(self) -> None:
        """Share the counts when a model version was counted from all its predictions (a
        cost worth sparing the other processes)."""
        if self.state is not None and set(self.state.models) != self.models:
            self._store(self.state, share=True)


def _dashboard_data(
    sources: Sources, *, model_version_ids: Sequence[int], reference: str
) -> tuple[DashboardData, str]:
    """The page's numbers and the fingerprint of the sources they were computed at."""

    def memo(
        name: str,
        depends: tuple[str, ...],
        compute: Callable[[], T],
        update: Callable[[T], T] | None = None,
    ) -> T:
        return _cached(f"{PREFIX}:part:{name}", sources.key(*depends), compute, update)

    key = page_key(model_version_ids=model_version_ids, reference=reference)
    fingerprint = sources.key(*SOURCES)
    with _gold_lock:
        gold = _GoldCountsOfRequest(sources)

        def compute() -> DashboardData:
            return dashboard_data(
                model_version_ids=model_version_ids,
                reference=reference,
                memo=memo,
                gold_counts=gold,
            )

        if reference == NLP:
            data, fingerprint, as_of = _cached_with_lag(
                key, fingerprint, sources.key(MODELS), compute, NLP_REFERENCE_LAG_S
            )
            if as_of is not None:
                data = replace(data, as_of=datetime.fromtimestamp(as_of, tz=UTC))
        else:
            data = _cached(key, fingerprint, compute)
        gold.store_if_grown()
    return data, fingerprint


def cached_dashboard_data(*, model_version_ids: Sequence[int], reference: str) -> DashboardData:
    """dashboard_data(), served from the cache while its source tables are unchanged."""
    return _dashboard_data(
        Sources.read(), model_version_ids=model_version_ids, reference=reference
    )[0]


def cached_dashboard_page(
    *, model_version_ids: Sequence[int], reference: str, draw: Callable[[DashboardData], T]
) -> tuple[DashboardData, T]:
    """cached_dashboard_data() and what ``draw`` makes of it (the page's charts), both kept
    while the sources are unchanged: drawing two dozen SVG charts costs more than the rest
    of a warm request."""
    data, fingerprint = _dashboard_data(
        Sources.read(), model_version_ids=model_version_ids, reference=reference
    )
    drawn = _cached(
        page_key(model_version_ids=model_version_ids, reference=reference) + ":drawn",
        fingerprint,
        lambda: draw(data),
    )
    return data, drawn
