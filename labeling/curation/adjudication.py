"""Adjudication: reports whose annotators' newest decisions disagree on a level nobody
has adjudicated yet, and the item that shows every annotator's decision on them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, QuerySet

from labeling.curation.item import CurationItem, curation_item
from labeling.models import Annotation
from spine.labels import FIELDS


def decisions_by_level(report_ids) -> tuple[dict, dict]:
    """(report, level) -> {author: newest annotation}, and (report, level) -> newest adjudication."""
    newest: dict[tuple[int, str], dict[int, Annotation]] = defaultdict(dict)
    adjudicated: dict[tuple[int, str], Annotation] = {}
    notes = Annotation.objects.filter(report_id__in=report_ids).select_related("level", "author")
    for note in notes.order_by("created_at", "id"):
        key = (note.report_id, note.level.level)
        if note.kind == Annotation.Kind.ADJUDICATION:
            adjudicated[key] = note
        else:
            newest[key][note.author_id] = note
    return newest, adjudicated


def double_annotated() -> QuerySet:
    """The ids of reports two or more annotators decided on (a subquery)."""
    return (
        Annotation.objects.filter(kind=Annotation.Kind.ANNOTATION)
        .order_by()
        .values("report_id")
        .annotate(n=Count("author_id", distinct=True))
        .filter(n__gte=2)
        .values("report_id")
    )


def _decision(note: Annotation) -> tuple:
    return tuple(getattr(note, name) for name in FIELDS)


def _waiting_adjudication(report_ids) -> set[int]:
    newest, adjudicated = decisions_by_level(report_ids)
    return {
        report_id
        for (report_id, level), by_author in newest.items()
        if (report_id, level) not in adjudicated
        and len({_decision(n) for n in by_author.values()}) > 1
    }


def adjudication_queue(*, skip: Iterable[int] = ()) -> list[int]:
    """Reports where annotators' newest decisions disagree on a level nobody adjudicated yet."""
    skip = {int(s) for s in skip}
    return sorted(_waiting_adjudication(double_annotated()) - skip)


def awaits_adjudication(report_id: int) -> bool:
    return report_id in _waiting_adjudication([report_id])


def adjudication_item(*, report_id: int) -> CurationItem:
    """The report with every annotator's decision per field; agreed fields pre-filled with the
    agreed value, disputed ones with the first annotator's."""
    newest, _ = decisions_by_level([report_id])
    values: dict[str, dict[str, Any]] = {}
    others: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    for (_, level), by_author in newest.items():
        notes = sorted(by_author.values(), key=lambda n: n.author.username)
        values[level] = {name: getattr(notes[0], name) for name in FIELDS}
        others[level] = {
            name: [(n.author.username, getattr(n, name)) for n in notes] for name in FIELDS
        }
    return curation_item(report_id=report_id, values=values, others=others, with_disagreements=True)
