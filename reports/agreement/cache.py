"""The agreement dashboard's cache: its numbers, stored with a fingerprint of their tables.

One query reads row counts and newest ids of each source (predictions and finished jobs,
NLP labels, annotations, radiologist reports, model versions, report versions and their
signatures). Any new prediction, label, annotation, gold decision or signature changes
its source's fingerprint, so a stale result is never served. Receivers are not used:
bulk_create and queryset updates (how predictions and job states are written) send no
signals.

Each entry is stored under a fixed key with the fingerprint beside it, so a changed
source replaces its entry instead of piling up new keys (Redis memory stays bounded
during a day of curation). The page's numbers are one entry; so are their expensive
parts, so that a new gold label recomputes the gold-dependent parts but reuses each
model's predictions and the NLP labels. Each process also keeps the entries it used last in
memory under the same keys and fingerprints, so a recompute does not unpickle a model's
predictions again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection

from inference.models import InferenceJob, ModelVersion, Prediction
from labeling.models import Annotation, LabellerVersion, NlpLabel
from reports.agreement.summary import (
    ANNOTATIONS,
    MODELS,
    NLP_LABELS,
    PREDICTIONS,
    REPORT_VERSIONS,
    REPORTS,
    SOURCES,
    DashboardData,
    dashboard_data,
)
from reports.models import ReportVersion
from studies.models import RadiologistReport

T = TypeVar("T")
# Bump when DashboardData's shape or module changes, so old pickles are not read back.
SCHEMA = 5
TIMEOUT_S = 24 * 3600
PREFIX = f"reports:dashboard:{SCHEMA}"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _count_and_newest(model, where: str = "") -> list[str]:
    condition = f" WHERE {where}" if where else ""
    return [
        f"(SELECT COUNT(*) FROM {_table(model)}{condition})",
        f"(SELECT MAX(id) FROM {_table(model)}{condition})",
    ]


def _source_columns() -> dict[str, list[str]]:
    done = f"status = '{InferenceJob.Status.DONE.value}'"
    return {
        PREDICTIONS: [
            *_count_and_newest(Prediction),
            *_count_and_newest(InferenceJob, done),
            f"(SELECT MAX(finished_at) FROM {_table(InferenceJob)} WHERE {done})",
        ],
        NLP_LABELS: [*_count_and_newest(NlpLabel), *_count_and_newest(LabellerVersion)],
        ANNOTATIONS: _count_and_newest(Annotation),
        REPORTS: _count_and_newest(RadiologistReport),
        MODELS: _count_and_newest(ModelVersion),
        REPORT_VERSIONS: [
            *_count_and_newest(ReportVersion),
            f"(SELECT COUNT(*) FROM {_table(ReportVersion)} WHERE signed_at IS NOT NULL)",
        ],
    }


class Sources:
    """A fingerprint per source, read in one query."""

    def __init__(self, digests: dict[str, str]) -> None:
        self.digests = digests

    @classmethod
    def read(cls) -> Sources:
        columns = _source_columns()
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(c for cols in columns.values() for c in cols))
            row = list(cursor.fetchone())
        digests = {}
        for name, cols in columns.items():
            values, row = row[: len(cols)], row[len(cols) :]
            digests[name] = hashlib.sha256(repr([str(v) for v in values]).encode()).hexdigest()[:16]
        return cls(digests)

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


def cached_dashboard_data(*, model_version_ids: Sequence[int], reference: str) -> DashboardData:
    """dashboard_data(), served from the cache while its source tables are unchanged."""
    sources = Sources.read()

    def memo(name: str, depends: tuple[str, ...], compute: Callable[[], T]) -> T:
        return _cached(f"{PREFIX}:part:{name}", sources.key(*depends), compute)

    return _cached(
        page_key(model_version_ids=model_version_ids, reference=reference),
        sources.key(*SOURCES),
        lambda: dashboard_data(model_version_ids=model_version_ids, reference=reference, memo=memo),
    )
