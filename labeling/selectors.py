"""Reads for labels."""

from __future__ import annotations

import heapq
from collections import defaultdict

from django.db.models import QuerySet

from labeling.models import Annotation, LabellerVersion, LabellingRun, NlpLabel
from labeling.schema import FIELDS, LEVELS, canal_class
from studies.models import RadiologistReport, Study


def latest_nlp_labels(*, study: Study) -> tuple[RadiologistReport | None, list[NlpLabel]]:
    """The newest report of a study and its labels from the newest labeller that read it."""
    report = study.reports.first()
    if report is None:
        return None, []
    newest = NlpLabel.objects.filter(report=report).order_by("-labeller__created_at", "-labeller_id").first()
    if newest is None:
        return report, []
    labels = list(
        NlpLabel.objects.filter(report=report, labeller_id=newest.labeller_id)
        .select_related("level", "labeller")
        .order_by("level__level")
    )
    return report, labels


def labelling_runs(limit: int = 20) -> QuerySet[LabellingRun]:
    return LabellingRun.objects.select_related("labeller", "started_by")[:limit]


def labeller_versions() -> QuerySet[LabellerVersion]:
    return LabellerVersion.objects.all()


def highlighted_segments(text: str, labels: list[NlpLabel]) -> list[tuple[str, str]]:
    """The report text cut into (piece, field) runs; field is "" outside evidence spans.

    Overlapping spans keep the first field that claimed a character, which is
    enough for a reader to see what each sentence was used for. Works on the span
    boundaries only (never one entry per character), so a long report costs no more
    than its number of spans.
    """
    claims: list[tuple[int, int, int, str]] = []  # (start, end, claim order, field)
    for label in labels:
        for span in label.evidence:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
            field = span.get("field", "evidence")
            if start < end and field:
                claims.append((start, end, len(claims), field))
    claims.sort()
    cuts = sorted({0, len(text), *(c[0] for c in claims), *(c[1] for c in claims)})
    active: list[tuple[int, int, str]] = []  # heap of (claim order, end, field)
    runs: list[tuple[int, int, str]] = []
    next_claim = 0
    for left, right in zip(cuts, cuts[1:], strict=False):
        while next_claim < len(claims) and claims[next_claim][0] <= left:
            start, end, order, field = claims[next_claim]
            heapq.heappush(active, (order, end, field))
            next_claim += 1
        while active and active[0][1] <= left:  # the earliest claim has ended
            heapq.heappop(active)
        # an ended claim under the earliest one is dropped when it surfaces
        owner = active[0][2] if active else ""
        if runs and runs[-1][2] == owner:
            runs[-1] = (runs[-1][0], right, owner)
        else:
            runs.append((left, right, owner))
    return [(text[a:b], owner) for a, b, owner in runs]


def gold_rows() -> list[dict]:
    """Gold labels in the guide's exchange format (report_id is the report's primary key).

    A level is gold when adjudicated (the newest adjudication wins), or when every
    annotator's newest decision on it agrees. Only reports whose five levels are
    all gold are returned: a partly curated report would teach "none" by omission.
    """
    # Plain tuples, not model instances: this runs over every decision row (the gold
    # export, progress and the agreement dashboard all call it).
    newest: dict[tuple[int, str], dict[int, tuple]] = defaultdict(dict)
    adjudicated: dict[tuple[int, str], tuple] = {}
    rows_in_order = (
        Annotation.objects.order_by("created_at", "id")
        .values_list("report_id", "level__level", "author_id", "kind", *FIELDS)
        .iterator(chunk_size=5000)
    )
    for report_id, level, author_id, kind, *values in rows_in_order:
        if kind == Annotation.Kind.ADJUDICATION:
            adjudicated[(report_id, level)] = tuple(values)
        else:
            newest[(report_id, level)][author_id] = tuple(values)
    gold: dict[tuple[int, str], tuple] = dict(adjudicated)
    for key, by_author in newest.items():
        if key not in gold and len(set(by_author.values())) == 1:
            gold[key] = next(iter(by_author.values()))
    rows = []
    for report_id in sorted({report for report, _ in gold}):
        if all((report_id, level) in gold for level in LEVELS):
            for level in LEVELS:
                values = dict(zip(FIELDS, gold[(report_id, level)], strict=True))
                # The exchange format, as LevelLabels.to_exchange writes it.
                rows.append(
                    {
                        "report_id": str(report_id),
                        "level": level,
                        **values,
                        "canal_class": canal_class(values["disc"], values["canal_stenosis"]),
                    }
                )
    return rows
