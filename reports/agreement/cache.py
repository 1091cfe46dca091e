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

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Sum

from reports.agreement.summary import (
    SOURCES,
    DashboardData,
    dashboard_data,
)
from reports.models import DashboardSourceCount

T = TypeVar("T")
# Bump when DashboardData's shape or module changes, so old pickles are not read back.
SCHEMA = 6
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


def _cached(key: str, fingerprint: str, compute: Callable[[], T]) -> T:
    local = _local.get(key)
    if local is not None and local[0] == fingerprint:
        _local.move_to_end(key)
        return local[1]
    stored = cache.get(key)
    if stored is not None and stored[0] == fingerprint:
        _remember(key, fingerprint, stored[1])
        return stored[1]
    value = compute()
    cache.set(key, (fingerprint, value), TIMEOUT_S)
    _remember(key, fingerprint, value)
    return value


def page_key(*, model_version_ids: Sequence[int], reference: str) -> str:
    models = "-".join(str(i) for i in model_version_ids) or "none"
    return f"{PREFIX}:page:{reference}:{models}"


def _dashboard_data(
    sources: Sources, *, model_version_ids: Sequence[int], reference: str
) -> DashboardData:
    def memo(name: str, depends: tuple[str, ...], compute: Callable[[], T]) -> T:
        return _cached(f"{PREFIX}:part:{name}", sources.key(*depends), compute)

    return _cached(
        page_key(model_version_ids=model_version_ids, reference=reference),
        sources.key(*SOURCES),
        lambda: dashboard_data(model_version_ids=model_version_ids, reference=reference, memo=memo),
    )


def cached_dashboard_data(*, model_version_ids: Sequence[int], reference: str) -> DashboardData:
    """dashboard_data(), served from the cache while its source tables are unchanged."""
    return _dashboard_data(Sources.read(), model_version_ids=model_version_ids, reference=reference)


def cached_dashboard_page(
    *, model_version_ids: Sequence[int], reference: str, draw: Callable[[DashboardData], T]
) -> tuple[DashboardData, T]:
    """cached_dashboard_data() and what ``draw`` makes of it (the page's charts), both kept
    while the sources are unchanged: drawing two dozen SVG charts costs more than the rest
    of a warm request."""
    sources = Sources.read()
    data = _dashboard_data(sources, model_version_ids=model_version_ids, reference=reference)
    drawn = _cached(
        page_key(model_version_ids=model_version_ids, reference=reference) + ":drawn",
        sources.key(*SOURCES),
        lambda: draw(data),
    )
    return data, drawn
