"""Reads for curation: an annotator's queue, one report to curate, the adjudication queue,
progress against the gold target and agreement statistics.

Every human decision is its own Annotation row; "a person's decision" on a level is
their newest row there, and the newest adjudication on a level settles it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape  # what django.utils.html.escape wraps, without its lazy-string check
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, Mod
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from labeling.models import Annotation, LabellerVersion, NlpLabel
from labeling.regression_cases import build_case
from labeling.selectors import gold_decisions, gold_rows, highlighted_segments
from spine import findings
from spine.labels import FIELD_VALUES, FIELDS, LEVELS
from studies.models import DiscLevel, RadiologistReport

ANNOTATION = Annotation.Kind.ANNOTATION
ADJUDICATION = Annotation.Kind.ADJUDICATION
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
    {**{name: findings.abnormal_values(name) for name in findings.ABNORMAL_FIELDS}, "uncertain": (True,)}
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
        Annotation.objects.filter(report_id=report_id, kind=ANNOTATION)
        .exclude(author_id=user_id)
        .values("author_id")
        .distinct()
        .count()
    )
    return max(0, needed - others)


def current_version_id() -> int | None:
    """The labeller version that wrote the newest label: its labels are the proposals."""
    return NlpLabel.objects.order_by("-id").values_list("labeller_id", flat=True).first()


def current_version_name() -> str:
    """The version string of current_version_id() ('' when nothing was labelled)."""

    version = current_version_id()
    return LabellerVersion.objects.values_list("version", flat=True).get(pk=version) if version else ""


def current_version() -> Subquery:
    """current_version_id() as a subquery, to filter on without a round trip of its own.

    NULL where no label exists, which then matches no row."""
    return Subquery(NlpLabel.objects.order_by("-id").values("labeller_id")[:1])


def _is_full() -> Exists:
    """The outer label's report has all the annotators it needs (one, or two in the overlap share).

    Written as "an annotation row exists that is outside the overlap share, or that has a
    row by another author beside it" so the database can probe the index per candidate
    report while it walks the queue order, instead of aggregating every annotation row on
    each fetch.
    """
    others = Annotation.objects.filter(report_id=OuterRef("report_id"), kind=ANNOTATION).exclude(
        author_id=OuterRef("author_id")
    )
    return Exists(
        Annotation.objects.filter(report_id=OuterRef("report_id"), kind=ANNOTATION)
        .alias(bucket=Mod(F("report_id") * OVERLAP_PRIME, 100, output_field=IntegerField()))
        .filter(Q(bucket__gte=overlap_percent()) | Exists(others))
    )


def queue_labels(*, user, filters: QueueFilters, skip: Iterable[int] = ()) -> QuerySet[NlpLabel]:
    """NLP label rows of reports waiting for this annotator, in queue order.

    A report waits while it has fewer annotators than it needs and this annotator has
    not decided on it yet. In uncertainty order the first row of a report is its least
    confident level, so walking (min_confidence, report) on an index finds the next
    report without aggregating the whole table.
    """
    version = current_version()
    labels = (
        NlpLabel.objects.filter(labeller_id=version)
        .exclude(_is_full())
        .exclude(report_id__in=Annotation.objects.filter(author=user).order_by().values("report_id"))
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
        labels = labels.filter(report_id__in=NlpLabel.objects.filter(wanted, labeller_id=version).values("report_id"))
    if filters.order == "sequential":
        return labels.order_by("report_id")
    if filters.order == "disagreement":
        # Active learning: where the image models contradict the NLP label most. Levels
        # the models agree with, or have not read, follow in uncertainty order.
        return labels.filter(model_disagreement__score__gt=0).order_by(
            F("model_disagreement__score").desc(), F("min_confidence").asc(nulls_last=True), "report_id"
        )
    return labels.order_by(F("min_confidence").asc(nulls_last=True), "report_id")


def _fallback(filters: QueueFilters) -> QueueFilters | None:
    """The order that continues a queue once its own rows run out."""
    if filters.order == "disagreement":
        return QueueFilters(order="uncertainty", level=filters.level, finding=filters.finding, site=filters.site)
    return None


def queue_report_ids(*, user, filters: QueueFilters, skip: Iterable[int] = (), limit: int | None = None) -> list[int]:
    """Report ids waiting for this annotator, next first. With a `limit`, one bounded query
    per order (a report has at most one label row per level); without, a cursor."""
    ids: list[int] = []
    seen: set[int] = set()
    skip = list(skip)
    current: QueueFilters | None = filters
    while current is not None:
        rows = queue_labels(user=user, filters=current, skip=skip).values_list("report_id", flat=True)
        for report_id in rows.iterator(chunk_size=200) if limit is None else rows[: limit * len(LEVELS)]:
            if report_id not in seen:
                seen.add(report_id)
                ids.append(report_id)
                if limit is not None and len(ids) >= limit:
                    return ids
        current = _fallback(current)
    return ids


def next_report_id(*, user, filters: QueueFilters, skip: Iterable[int] = ()) -> int | None:
    skip = list(skip)
    current: QueueFilters | None = filters
    while current is not None:
        found = queue_labels(user=user, filters=current, skip=skip).values_list("report_id", flat=True).first()
        if found is not None:
            return found
        current = _fallback(current)
    return None


@dataclass
class Cell:
    field: str
    value: str
    proposal: str
    # What each annotator decided (adjudication only): [(username, value)].
    others: list[tuple[str, str]] = field(default_factory=list)

    @property
    def disputed(self) -> bool:
        return len({v for _, v in self.others}) > 1


def _cell_html(level: str, cell: Cell) -> str:
    classes = ("changed" if cell.value != cell.proposal else "") + (" disputed" if cell.disputed else "")
    if cell.value != _text(FIELD_VALUES[cell.field][0]):  # the guide lists the absent value first
        classes += " abnormal"
    field_, value = escape(cell.field), escape(cell.value)
    others = ""
    if cell.others:
        others = (
            '<small class="others">'
            + "".join(f'<span title="{escape(who)}">{escape(who)}: {escape(v)}</span>' for who, v in cell.others)
            + "</small>"
        )
    return (
        f'<td data-field="{field_}" data-proposal="{escape(cell.proposal)}" class="{classes}">\n'
        f"            <span data-value>{value}</span>\n"
        f'            <input type="hidden" name="{escape(level)}__{field_}" value="{value}">\n'
        f"            {others}\n"
        "          </td>"
    )


@dataclass
class Row:
    level: str
    nlp_id: int | None
    cells: list[Cell]

    @property
    def cells_html(self) -> SafeString:
        """The row's cells as markup: built here, a template loop costs ~60 look-ups per row."""
        return mark_safe("\n          ".join(_cell_html(self.level, cell) for cell in self.cells))  # noqa: S308


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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_choices() -> dict[str, list[str]]:
    return {name: [_text(v) for v in FIELD_VALUES[name]] for name in FIELDS}


def report_token(report_id: int) -> int:
    """The optimistic-locking token: the newest decision row on the report when it was shown."""
    return Annotation.objects.filter(report_id=report_id).aggregate(m=Max("id"))["m"] or 0


# What an item reads of each NLP label.
_LABEL_COLUMNS = ("id", *FIELDS, "min_confidence", "evidence")


def _token_subquery() -> Coalesce:
    newest = Annotation.objects.filter(report_id=OuterRef("pk")).order_by().values("report_id").annotate(m=Max("id"))
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
        RadiologistReport.objects.select_related("study").annotate(curation_token=_token_subquery()).get(pk=report_id)
    )
    # The study's levels, each with the current labeller's proposal (if any), in level order.
    proposal = FilteredRelation(
        "nlp_labels", condition=Q(nlp_labels__report_id=report_id, nlp_labels__labeller_id=current_version())
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
    defaults = {name: _text(FIELD_VALUES[name][0]) for name in FIELDS}
    rows = []
    for level in LEVELS:
        if level not in levels:
            continue
        label = labels.get(level)
        chosen_at = values.get(level, {})
        others_at = others.get(level, {})
        cells = []
        for name in FIELDS:
            proposal = _text(getattr(label, name)) if label else defaults[name]
            chosen = chosen_at.get(name)
            cells.append(
                Cell(
                    field=name,
                    value=proposal if chosen is None else _text(chosen),
                    proposal=proposal,
                    others=[(who, _text(v)) for who, v in others_at.get(name, [])],
                )
            )
        rows.append(Row(level=level, nlp_id=label.pk if label else None, cells=cells))
    confidences = [label.min_confidence for label in labels.values() if label.min_confidence is not None]
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
    notes = Annotation.objects.filter(report_id=report_id, author=user, kind=ANNOTATION).select_related("level")
    for note in notes.order_by("created_at", "id"):
        values[note.level.level] = {name: getattr(note, name) for name in FIELDS}
    return values


def newest_decisions(*, report_id: int) -> dict[str, dict[str, Any]]:
    """The current state of a report: per level, the newest decision by anyone."""
    values: dict[str, dict[str, Any]] = {}
    for note in Annotation.objects.filter(report_id=report_id).select_related("level").order_by("created_at", "id"):
        values[note.level.level] = {name: getattr(note, name) for name in FIELDS}
    return values


def last_saved_report_id(*, user) -> int | None:
    return (
        Annotation.objects.filter(author=user, kind=ANNOTATION)
        .order_by("-created_at", "-id")
        .values_list("report_id", flat=True)
        .first()
    )


# --- adjudication -------------------------------------------------------------


def _decisions_by_level(report_ids) -> tuple[dict, dict]:
    """(report, level) -> {author: newest annotation}, and (report, level) -> newest adjudication."""
    newest: dict[tuple[int, str], dict[int, Annotation]] = defaultdict(dict)
    adjudicated: dict[tuple[int, str], Annotation] = {}
    notes = Annotation.objects.filter(report_id__in=report_ids).select_related("level", "author")
    for note in notes.order_by("created_at", "id"):
        key = (note.report_id, note.level.level)
        if note.kind == ADJUDICATION:
            adjudicated[key] = note
        else:
            newest[key][note.author_id] = note
    return newest, adjudicated


def _double_annotated():
    return (
        Annotation.objects.filter(kind=ANNOTATION)
        .order_by()
        .values("report_id")
        .annotate(n=Count("author_id", distinct=True))
        .filter(n__gte=2)
        .values("report_id")
    )


def _decision(note: Annotation) -> tuple:
    return tuple(getattr(note, name) for name in FIELDS)


def _waiting_adjudication(report_ids) -> set[int]:
    newest, adjudicated = _decisions_by_level(report_ids)
    return {
        report_id
        for (report_id, level), by_author in newest.items()
        if (report_id, level) not in adjudicated and len({_decision(n) for n in by_author.values()}) > 1
    }


def adjudication_queue(*, skip: Iterable[int] = ()) -> list[int]:
    """Reports where annotators' newest decisions disagree on a level nobody adjudicated yet."""
    skip = {int(s) for s in skip}
    return sorted(_waiting_adjudication(_double_annotated()) - skip)


def awaits_adjudication(report_id: int) -> bool:
    return report_id in _waiting_adjudication([report_id])


def adjudication_item(*, report_id: int) -> CurationItem:
    """The report with every annotator's decision per field; agreed fields pre-filled with the
    agreed value, disputed ones with the first annotator's."""
    newest, _ = _decisions_by_level([report_id])
    values: dict[str, dict[str, Any]] = {}
    others: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    for (_, level), by_author in newest.items():
        notes = sorted(by_author.values(), key=lambda n: n.author.username)
        values[level] = {name: getattr(notes[0], name) for name in FIELDS}
        others[level] = {name: [(n.author.username, getattr(n, name)) for n in notes] for name in FIELDS}
    return curation_item(report_id=report_id, values=values, others=others, with_disagreements=True)


# --- progress and agreement -----------------------------------------------------


def _kappa(a: list, b: list) -> float | None:
    """Cohen's kappa, or None where it is undefined (one value only on both sides).

    Computed on the confusion table (scikit-learn's definition; the tests hold it to
    cohen_kappa_score), which costs microseconds where scikit-learn's checks cost ms.
    """
    if not a or len(set(a) | set(b)) < 2:
        return None
    # numpy only for the agreement panel, not for every curation request (reports.stats is pure
    # code; labeling -> reports runs against the app order: see issue #15)
    import numpy as np

    from reports.stats.agreement import confusion_table
    from reports.stats.bootstrap import kappa_of_tables

    index = {value: i for i, value in enumerate(sorted({_text(x) for x in (*a, *b)}))}
    codes = [np.array([index[_text(x)] for x in side]) for side in (a, b)]
    value = float(kappa_of_tables(confusion_table(*codes, len(index))[None])[0])
    return None if math.isnan(value) else value


def _agreement(a: list, b: list) -> dict[str, Any]:
    same = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    return {
        "n": len(a),
        "percent": 100 * same / len(a) if a else None,
        "kappa": _kappa(a, b),
    }


def inter_annotator_agreement() -> list[dict[str, Any]]:
    """Per field, over levels two annotators decided on: the first two annotators' newest decisions."""
    newest, _ = _decisions_by_level(_double_annotated())
    pairs = []
    for by_author in newest.values():
        if len(by_author) >= 2:
            first, second = sorted(by_author.values(), key=lambda n: n.author_id)[:2]
            pairs.append((first, second))
    return [
        {"field": name, **_agreement([getattr(a, name) for a, _ in pairs], [getattr(b, name) for _, b in pairs])}
        for name in FIELDS
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
    matched = [(row, nlp[(row["report_id"], row["level"])]) for row in rows if (row["report_id"], row["level"]) in nlp]
    return [
        {"field": name, **_agreement([values[i] for _, values in matched], [row[name] for row, _ in matched])}
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
        .annotate(levels=Count("id"), reports=Count("report_id", distinct=True), seconds=Sum("seconds_spent"))
        .order_by("author__username", "kind")
    )
    gold_by_author: Counter = Counter()
    for report_id, level, author in Annotation.objects.values_list("report_id", "level__level", "author__username"):
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


# --- disagreements between the labeller and gold labels ----------------------------


@dataclass(frozen=True)
class Disagreement:
    """One field where the current labeller's proposal differs from the gold label."""

    report_id: int
    level: str
    field: str
    gold: Any
    labeller: Any
    authors: tuple[str, ...]
    decided_at: Any

    @property
    def gold_text(self) -> str:
        return _text(self.gold)

    @property
    def labeller_text(self) -> str:
        return _text(self.labeller)


def labeller_disagreements(
    *, report_id: int | None = None, level: str = "", field_name: str = "", limit: int | None = None
) -> list[Disagreement]:
    """Gold levels where the current labeller version's proposal differs, field by field,
    in report, level and field order (optionally one report, level or field)."""
    version = current_version_id()
    if version is None:
        return []
    gold = gold_decisions(report_ids=None if report_id is None else [report_id])
    if level:
        gold = {key: g for key, g in gold.items() if key[1] == level}
    if not gold:
        return []
    labels = NlpLabel.objects.filter(labeller_id=version, report_id__in={r for r, _ in gold})
    if level:
        labels = labels.filter(level__level=level)
    proposals = {(r, lv): values for r, lv, *values in labels.values_list("report_id", "level__level", *FIELDS)}
    fields = [field_name] if field_name in FIELDS else list(FIELDS)
    found = []
    for key in sorted(gold, key=lambda k: (k[0], LEVELS.index(k[1]))):
        proposal = proposals.get(key)
        if proposal is None:
            continue
        decision = gold[key]
        for name in fields:
            i = FIELDS.index(name)
            if decision.values[i] != proposal[i]:
                found.append(Disagreement(key[0], key[1], name, decision.values[i], proposal[i],
                                          decision.authors, decision.decided_at))
                if limit is not None and len(found) >= limit:
                    return found
    return found


def regression_case(*, report_id: int, level: str, field_name: str, exported_by: str) -> dict[str, Any] | None:
    """The regression case of one disagreement (labeling/regression_cases.py), or None when
    the current labeller agrees with the gold label there (or either is missing)."""


    if level not in LEVELS or field_name not in FIELDS:
        return None
    found = labeller_disagreements(report_id=report_id, level=level, field_name=field_name)
    if not found:
        return None
    disagreement = found[0]
    version = LabellerVersion.objects.get(pk=current_version_id())
    label = NlpLabel.objects.get(report_id=report_id, level__level=level, labeller=version)
    text = RadiologistReport.objects.values_list("text", flat=True).get(pk=report_id)
    return build_case(
        report_id=str(report_id),
        text=text,
        level=level,
        field=field_name,
        gold=disagreement.gold,
        labeller=disagreement.labeller,
        labeller_version=version.version,
        authors=disagreement.authors,
        time=disagreement.decided_at.isoformat(),
        exported_by=exported_by,
        exported_at=timezone.now().isoformat(timespec="seconds"),
        evidence=label.evidence,
    )
