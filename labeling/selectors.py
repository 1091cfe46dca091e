"""Reads for labels."""

from __future__ import annotations

from django.db.models import QuerySet

from labeling.models import LabellerVersion, LabellingRun, NlpLabel
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
    enough for a reader to see what each sentence was used for.
    """
    owner = [""] * len(text)
    for label in labels:
        for span in label.evidence:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
            for i in range(start, end):
                if not owner[i]:
                    owner[i] = span.get("field", "evidence")
    segments: list[tuple[str, str]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or owner[i] != owner[start]:
            segments.append((text[start:i], owner[start]))
            start = i
    return segments


def gold_rows() -> list[dict]:
    """Gold labels in the guide's exchange format (report_id is the report's primary key).

    A level is gold when adjudicated (the newest adjudication wins), or when every
    annotator's newest decision on it agrees. Only reports whose five levels are
    all gold are returned: a partly curated report would teach "none" by omission.
    """
    from collections import defaultdict

    from labeling.models import Annotation
    from labeling.schema import FIELDS, LEVELS, LevelLabels

    newest: dict[tuple[int, str], dict[int, Annotation]] = defaultdict(dict)
    adjudicated: dict[tuple[int, str], Annotation] = {}
    for note in Annotation.objects.select_related("level").order_by("created_at", "id"):
        key = (note.report_id, note.level.level)
        if note.kind == Annotation.Kind.ADJUDICATION:
            adjudicated[key] = note
        else:
            newest[key][note.author_id] = note
    gold: dict[tuple[int, str], Annotation] = dict(adjudicated)
    for key, by_author in newest.items():
        if key in gold:
            continue
        decisions = {tuple(getattr(n, f) for f in FIELDS) for n in by_author.values()}
        if len(decisions) == 1:
            gold[key] = next(iter(by_author.values()))
    rows = []
    for report_id in sorted({report for report, _ in gold}):
        if all((report_id, level) in gold for level in LEVELS):
            for level in LEVELS:
                note = gold[(report_id, level)]
                labels = LevelLabels(level=level, **{f: getattr(note, f) for f in FIELDS})
                rows.append(labels.to_exchange(report_id=str(report_id)))
    return rows
