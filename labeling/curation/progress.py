"""Progress of curation: gold labels against the target, by level, finding and annotator,
labelling speed, and agreement (between annotators, and of the labeller with gold)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum

from labeling.curation.adjudication import adjudication_queue, double_annotated
from labeling.curation.values import value_text
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version_id, gold_rows
from spine import findings
from spine.labels import FIELDS, LEVELS


def _kappa(a: list, b: list) -> float | None:
    """Cohen's kappa, or None where it is undefined (one value only on both sides).

    Computed on the confusion table (scikit-learn's definition; the tests hold it to
    cohen_kappa_score), which costs microseconds where scikit-learn's checks cost ms.
    """
    if not a:
        return None
    # numpy only for the agreement panel, not for every curation request (reports.stats is pure
    # code; labeling -> reports runs against the app order: see issue #15)
    import numpy as np

    from reports.stats.agreement import confusion_table
    from reports.stats.tables import kappa_or_none

    index = {value: i for i, value in enumerate(sorted({value_text(x) for x in (*a, *b)}))}
    codes = [np.array([index[value_text(x)] for x in side]) for side in (a, b)]
    return kappa_or_none(confusion_table(*codes, len(index)))


def _agreement(a: list, b: list) -> dict[str, Any]:
    same = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    return {
        "n": len(a),
        "percent": 100 * same / len(a) if a else None,
        "kappa": _kappa(a, b),
    }


def annotator_pairs(
    *, report_ids: Iterable[int] | None = None
) -> dict[int, list[tuple[str, tuple, tuple]]]:
    """report -> (level, first annotator's newest decision, second's) on each level that two
    annotators decided on, of every double-annotated report or of ``report_ids`` only.

    "First" and "second" are the two lowest author ids, so a pair does not swap sides when
    a third annotator joins.
    """
    # Plain tuples, not model instances (as gold_decisions does): the agreement dashboard
    # computes this over every double-annotated level, and 3,000 instances cost 0.15 s.
    newest: dict[tuple[int, str], dict[int, tuple]] = defaultdict(dict)
    reports = double_annotated()
    if report_ids is not None:
        reports = reports.filter(report_id__in=list(report_ids))
    rows = (
        Annotation.objects.filter(report_id__in=reports)
        .exclude(kind=Annotation.Kind.ADJUDICATION)
        .order_by("created_at", "id")
        .values_list("report_id", "level__level", "author_id", *FIELDS)
    )
    for report_id, level, author_id, *values in rows:
        newest[(report_id, level)][author_id] = tuple(values)
    pairs: dict[int, list[tuple[str, tuple, tuple]]] = defaultdict(list)
    for (report_id, level), by_author in newest.items():
        if len(by_author) >= 2:
            first, second = sorted(by_author)[:2]
            pairs[report_id].append((level, by_author[first], by_author[second]))
    return dict(pairs)


def inter_annotator_agreement() -> list[dict[str, Any]]:
    """Per field, over levels two annotators decided on: the first two annotators' newest decisions."""
    pairs = [(a, b) for found in annotator_pairs().values() for _, a, b in found]
    return [
        {"field": name, **_agreement([a[i] for a, _ in pairs], [b[i] for _, b in pairs])}
        for i, name in enumerate(FIELDS)
    ]


def nlp_gold_agreement(rows: list[dict] | None = None) -> list[dict[str, Any]]:
    """Per field, the current labeller's proposal against the gold label."""
    rows = gold_rows() if rows is None else rows
    version = current_version_id()
    nlp = {
        (str(report_id), level): values
        for report_id, level, *values in NlpLabel.objects.filter(
            labeller_id=version, report_id__in={int(r["report_id"]) for r in rows}
        ).values_list("report_id", "level__level", *FIELDS)
    }
    matched = [
        (row, nlp[(row["report_id"], row["level"])])
        for row in rows
        if (row["report_id"], row["level"]) in nlp
    ]
    return [
        {
            "field": name,
            **_agreement([values[i] for _, values in matched], [row[name] for row, _ in matched]),
        }
        for i, name in enumerate(FIELDS)
    ]


FINDING_OF_ROW: Mapping[str, Callable[[Mapping[str, Any]], bool]] = {
    **{name: finding.present for name, finding in findings.GROUPS.items()},
    "normal": findings.normal,
}


def progress() -> dict[str, Any]:
    """Gold levels against the target, by level, finding and annotator, and labelling speed."""
    rows = gold_rows()
    target = int(settings.RADBOT_GOLD_TARGET)
    by_level = Counter(r["level"] for r in rows)
    by_finding = {name: sum(1 for r in rows if test(r)) for name, test in FINDING_OF_ROW.items()}
    gold_keys = {(r["report_id"], r["level"]) for r in rows}
    per_author = (
        Annotation.objects.values("author__username", "kind")
        .annotate(
            levels=Count("id"),
            reports=Count("report_id", distinct=True),
            seconds=Sum("seconds_spent"),
        )
        .order_by("author__username", "kind")
    )
    gold_by_author: Counter = Counter()
    for report_id, level, author in Annotation.objects.values_list(
        "report_id", "level__level", "author__username"
    ):
        if (str(report_id), level) in gold_keys:
            gold_by_author[author] += 1
    annotators = []
    for row in per_author:
        seconds = row["seconds"] or 0
        annotators.append(
            {
                "username": row["author__username"],
                "kind": row["kind"],
                "levels": row["levels"],
                "reports": row["reports"],
                "gold_levels": gold_by_author[row["author__username"]],
                "per_hour": round(row["levels"] * 3600 / seconds) if seconds else None,
            }
        )
    total_levels = sum(a["levels"] for a in annotators)
    total_seconds = sum(r["seconds"] or 0 for r in per_author)
    return {
        "gold": len(rows),
        "target": target,
        "percent": min(100, round(100 * len(rows) / target)) if target else 100,
        "by_level": [(level, by_level[level]) for level in LEVELS],
        "by_finding": by_finding,
        "annotators": annotators,
        "per_hour": round(total_levels * 3600 / total_seconds) if total_seconds else None,
        "waiting_adjudication": len(adjudication_queue()),
        "inter_annotator": inter_annotator_agreement(),
        "nlp_vs_gold": nlp_gold_agreement(rows),
    }
