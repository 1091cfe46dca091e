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
