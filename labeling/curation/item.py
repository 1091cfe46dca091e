"""One report to curate, as the page shows it: the report text with its evidence, and per
level the labeller's proposal pre-filled (or someone's decisions), with the optimistic
token the save is checked against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import FilteredRelation, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from labeling.curation.gold_disagreements import Disagreement, labeller_disagreements
from labeling.curation.queue import is_overlap
from labeling.curation.values import value_text
from labeling.evidence import highlighted_segments
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version
from spine.labels import FIELD_VALUES, FIELDS, LEVELS
from studies.models import DiscLevel, RadiologistReport


@dataclass
class Cell:
    field: str
    value: str
    proposal: str
    # What each annotator decided (adjudication only): [(username, value)].
    others: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.value != self.proposal

    @property
    def disputed(self) -> bool:
        return len({v for _, v in self.others}) > 1

    @property
    def abnormal(self) -> bool:
        return self.value != value_text(
            FIELD_VALUES[self.field][0]
        )  # the guide lists the absent value first


@dataclass
class Row:
    level: str
    nlp_id: int | None
    cells: list[Cell]


@dataclass
class CurationItem:
    report: RadiologistReport
    rows: list[Row]
    segments: list[tuple[str, str]]
    token: int
    overlap: bool
    certainty: float | None
    # Saved gold labels the labeller's proposal misses (shown only where saved labels are).
    disagreements: list[Disagreement] = field(default_factory=list)


def report_token(report_id: int) -> int:
    """The optimistic-locking token: the newest decision row on the report when it was shown."""
    return Annotation.objects.filter(report_id=report_id).aggregate(m=Max("id"))["m"] or 0


# What an item reads of each NLP label.
_LABEL_COLUMNS = ("id", *FIELDS, "min_confidence", "evidence")


def _token_subquery() -> Coalesce:
    newest = (
        Annotation.objects.filter(report_id=OuterRef("pk"))
        .order_by()
        .values("report_id")
        .annotate(m=Max("id"))
    )
    return Coalesce(Subquery(newest.values("m")), 0)


def curation_item(
    *,
    report_id: int,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    others: Mapping[str, Mapping[str, list[tuple[str, Any]]]] | None = None,
    with_disagreements: bool = False,
) -> CurationItem:
    """One report with the NLP proposal per level, pre-filled with `values` where given.

    Two queries: the report with its study and token; its study's levels with their labels.
    With `with_disagreements`, also the report's gold labels the proposal misses: only for
    a person who has decided on the report (or adjudicates it), never before an
    annotator's own independent decision.
    """
    report = (
        RadiologistReport.objects.select_related("study")
        .annotate(curation_token=_token_subquery())
        .get(pk=report_id)
    )
    # The study's levels, each with the current labeller's proposal (if any), in level order.
    proposal = FilteredRelation(
        "nlp_labels",
        condition=Q(nlp_labels__report_id=report_id, nlp_labels__labeller_id=current_version()),
    )
    found = (
        DiscLevel.objects.filter(study_id=report.study_id)
        .order_by("level")
        .annotate(nlp=proposal)
        .values_list("level", *(f"nlp__{name}" for name in _LABEL_COLUMNS))
    )
    levels: set[str] = set()
    labels: dict[str, NlpLabel] = {}
    for level, *columns in found:
        levels.add(level)
        if columns[0] is not None:
            labels[level] = NlpLabel(**dict(zip(_LABEL_COLUMNS, columns, strict=True)))
    values = values or {}
    others = others or {}
    defaults = {name: value_text(FIELD_VALUES[name][0]) for name in FIELDS}
    rows = []
    for level in LEVELS:
        if level not in levels:
            continue
        label = labels.get(level)
        chosen_at = values.get(level, {})
        others_at = others.get(level, {})
        cells = []
        for name in FIELDS:
            proposal = value_text(getattr(label, name)) if label else defaults[name]
            chosen = chosen_at.get(name)
            cells.append(
                Cell(
                    field=name,
                    value=proposal if chosen is None else value_text(chosen),
                    proposal=proposal,
                    others=[(who, value_text(v)) for who, v in others_at.get(name, [])],
                )
            )
        rows.append(Row(level=level, nlp_id=label.pk if label else None, cells=cells))
    confidences = [
        label.min_confidence for label in labels.values() if label.min_confidence is not None
    ]
    return CurationItem(
        report=report,
        rows=rows,
        segments=highlighted_segments(report.text, list(labels.values())),
        token=report.curation_token,
        overlap=is_overlap(report_id),
        certainty=min(confidences) if confidences else None,
        disagreements=labeller_disagreements(report_id=report_id) if with_disagreements else [],
    )


def newest_own_decisions(*, user, report_id: int) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    notes = Annotation.objects.filter(
        report_id=report_id, author=user, kind=Annotation.Kind.ANNOTATION
    )
    for note in notes.select_related("level").order_by("created_at", "id"):
        values[note.level.level] = {name: getattr(note, name) for name in FIELDS}
    return values


def newest_decisions(*, report_id: int) -> dict[str, dict[str, Any]]:
    """The current state of a report: per level, the newest decision by anyone."""
    values: dict[str, dict[str, Any]] = {}
    for note in (
        Annotation.objects.filter(report_id=report_id)
        .select_related("level")
        .order_by("created_at", "id")
    ):
        values[note.level.level] = {name: getattr(note, name) for name in FIELDS}
    return values


def last_saved_report_id(*, user) -> int | None:
    """The report this annotator saved last (what undo reopens)."""
    return (
        Annotation.objects.filter(author=user, kind=Annotation.Kind.ANNOTATION)
        .order_by("-created_at", "-id")
        .values_list("report_id", flat=True)
        .first()
    )
