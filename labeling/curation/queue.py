"""The annotator's queue: which report each person curates next.

A report waits while it has fewer annotators than it needs (one, or two in the overlap
share) and this person has not decided on it yet; the queue is the current labeller's
proposals, filtered by level, finding and site, in one of three orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, F, IntegerField, Q, QuerySet
from django.db.models.functions import Mod

from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version
from spine import findings
from spine.labels import LEVELS

# Reports are spread over the overlap share by a fixed multiplicative hash of their id,
# the same in Python and in SQL, so no assignment table is needed.
OVERLAP_PRIME = 7919


def _any_q(values_by_field: Mapping[str, Iterable[Any]]) -> Q:
    """The SQL form of "present": any of the fields holds one of its values."""
    query = Q()
    for name, values in values_by_field.items():
        query |= Q(**{f"{name}__in": sorted(values)})
    return query


# The queue's finding filters, from the vocabulary's table.
FINDINGS: Mapping[str, Q] = {
    name: _any_q({field: finding.present_values for field in finding.fields})
    for name, finding in findings.GROUPS.items()
}
# Any finding, or flagged uncertain: the levels worth showing when no filter is chosen.
ANY_FINDING = _any_q(
    {
        **{name: findings.abnormal_values(name) for name in findings.ABNORMAL_FIELDS},
        "uncertain": (True,),
    }
)
ORDERS: tuple[str, ...] = ("uncertainty", "disagreement", "sequential")
ORDER_NAMES: Mapping[str, str] = {
    "uncertainty": "most uncertain first",
    "disagreement": "model disagrees most first",
    "sequential": "sequential",
}


@dataclass(frozen=True)
class QueueFilters:
    order: str = "uncertainty"
    level: str = ""
    finding: str = ""
    site: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> QueueFilters:
        """Unknown values fall back to "no filter" rather than failing the annotator's page."""
        order = params.get("order") or "uncertainty"
        level = params.get("level") or ""
        finding = params.get("finding") or ""
        return cls(
            order=order if order in ORDERS else "uncertainty",
            level=level if level in LEVELS else "",
            finding=finding if finding in FINDINGS else "",
            site=(params.get("site") or "").strip()[:64],
        )

    def as_params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def overlap_percent() -> int:
    return max(0, min(100, int(settings.RADBOT_CURATION_OVERLAP_PERCENT)))


def is_overlap(report_id: int) -> bool:
    """Does this report go to two annotators?"""
    return (report_id * OVERLAP_PRIME) % 100 < overlap_percent()


def annotators_needed(report_id: int) -> int:
    return 2 if is_overlap(report_id) else 1


def open_places(*, report_id: int, user_id: int) -> int:
    """How many more annotators the report needs besides this person (who has not decided)."""
    needed = annotators_needed(report_id)
    others = (
        Annotation.objects.filter(report_id=report_id, kind=Annotation.Kind.ANNOTATION)
        .exclude(author_id=user_id)
        .values("author_id")
        .distinct()
        .count()
    )
    return max(0, needed - others)


def filled_report_ids(report_ids: Iterable[int] | None = None) -> QuerySet:
    """Ids of the reports (of ``report_ids``, or all) that have every annotator they need,
    as a subquery: the rule of ``annotators_needed``, in SQL."""
    rows = Annotation.objects.filter(kind=Annotation.Kind.ANNOTATION)
    if report_ids is not None:
        rows = rows.filter(report_id__in=list(report_ids))
    return (
        rows.order_by()
        .values("report_id")
        .annotate(
            annotators=Count("author_id", distinct=True),
            bucket=Mod(F("report_id") * OVERLAP_PRIME, 100, output_field=IntegerField()),
        )
        .filter(Q(annotators__gte=2) | Q(annotators__gte=1, bucket__gte=overlap_percent()))
        .values("report_id")
    )


def queue_labels(*, user, filters: QueueFilters, skip: Iterable[int] = ()) -> QuerySet[NlpLabel]:
    """NLP label rows of reports waiting for this annotator, in queue order.

    A report waits while it has fewer annotators than it needs and this annotator has
    not decided on it yet: its label rows are still marked open. Only those rows are
    walked (the partial index ``nlp_label_open_queue_order``), so the reports curated so
    far, which fill the front of the uncertainty order, cost nothing. A row left open by
    a write that bypassed the services is caught when the report is claimed
    (``services.claim_report`` reads the annotations and closes it).

    In uncertainty order the first row of a report is its least confident level, so
    walking (min_confidence, report) on an index finds the next report without
    aggregating the whole table.
    """
    version = current_version()
    labels = NlpLabel.objects.filter(labeller_id=version, report_needs_annotator=True).exclude(
        report_id__in=Annotation.objects.filter(author=user).order_by().values("report_id")
    )
    skip = [int(s) for s in skip]
    if skip:
        labels = labels.exclude(report_id__in=skip)
    if filters.site:
        labels = labels.filter(report__study__site=filters.site)
    if filters.level or filters.finding:
        wanted = FINDINGS[filters.finding] if filters.finding else ANY_FINDING
        if filters.level:
            wanted &= Q(level__level=filters.level)
        labels = labels.filter(
            report_id__in=NlpLabel.objects.filter(wanted, labeller_id=version).values("report_id")
        )
    if filters.order == "sequential":
        return labels.order_by("report_id")
    if filters.order == "disagreement":
        # Active learning: where the image models contradict the NLP label most. Levels
        # the models agree with, or have not read, follow in uncertainty order.
        return labels.filter(model_disagreement__score__gt=0).order_by(
            F("model_disagreement__score").desc(),
            F("min_confidence").asc(nulls_last=True),
            "report_id",
        )
    return labels.order_by(F("min_confidence").asc(nulls_last=True), "report_id")


def _fallback(filters: QueueFilters) -> QueueFilters | None:
    """The order that continues a queue once its own rows run out."""
    if filters.order == "disagreement":
        return QueueFilters(
            order="uncertainty", level=filters.level, finding=filters.finding, site=filters.site
        )
    return None


def queue_report_ids(
    *, user, filters: QueueFilters, skip: Iterable[int] = (), limit: int | None = None
) -> list[int]:
    """Report ids waiting for this annotator, next first. With a `limit`, one bounded query
    per order (a report has at most one label row per level); without, a cursor."""
    ids: list[int] = []
    seen: set[int] = set()
    skip = list(skip)
    current: QueueFilters | None = filters
    while current is not None:
        rows = queue_labels(user=user, filters=current, skip=skip).values_list(
            "report_id", flat=True
        )
        for report_id in (
            rows.iterator(chunk_size=200) if limit is None else rows[: limit * len(LEVELS)]
        ):
            if report_id not in seen:
                seen.add(report_id)
                ids.append(report_id)
                if limit is not None and len(ids) >= limit:
                    return ids
        current = _fallback(current)
    return ids


def next_report_id(*, user, filters: QueueFilters, skip: Iterable[int] = ()) -> int | None:
    ids = queue_report_ids(user=user, filters=filters, skip=skip, limit=1)
    return ids[0] if ids else None
