"""Reads for labels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet, Subquery

from labeling.models import Annotation, LabellerVersion, LabellingRun, NlpLabel
from spine.labels import FIELDS, LEVELS, canal_class
from studies.models import RadiologistReport, Study


def latest_nlp_labels(*, study: Study) -> tuple[RadiologistReport | None, list[NlpLabel]]:
    """The newest report of a study and its labels from the newest labeller that read it."""
    report = study.reports.first()
    if report is None:
        return None, []
    return report, newest_nlp_labels(report=report)


def newest_nlp_labels(*, report: RadiologistReport) -> list[NlpLabel]:
    """A report's labels from the newest labeller that read it, in level order."""
    newest = (
        NlpLabel.objects.filter(report=report)
        .order_by("-labeller__created_at", "-labeller_id")
        .first()
    )
    if newest is None:
        return []
    return list(
        NlpLabel.objects.filter(report=report, labeller_id=newest.labeller_id)
        .select_related("level", "labeller")
        .order_by("level__level")
    )


def nlp_labels(
    *, report_id: int | None = None, level: str = "", labeller_version: str = ""
) -> QuerySet[NlpLabel]:
    """Every labeller version's labels (filtered by report, level and labeller version),
    by report, then labeller version (oldest first), then level."""
    labels = NlpLabel.objects.select_related("level__study", "labeller")
    if report_id is not None:
        labels = labels.filter(report_id=report_id)
    if level:
        labels = labels.filter(level__level=level)
    if labeller_version:
        labels = labels.filter(labeller__version=labeller_version)
    return labels.order_by("report_id", "labeller__created_at", "labeller_id", "level__level")


def labelling_runs(limit: int = 20) -> QuerySet[LabellingRun]:
    return LabellingRun.objects.select_related("labeller", "started_by")[:limit]


def labeller_versions() -> QuerySet[LabellerVersion]:
    return LabellerVersion.objects.all()


def current_version_id() -> int | None:
    """The labeller version that wrote the newest label: its labels are the proposals."""
    return NlpLabel.objects.order_by("-id").values_list("labeller_id", flat=True).first()


def current_version_name() -> str:
    """The version string of current_version_id() ('' when nothing was labelled)."""
    version = current_version_id()
    return (
        LabellerVersion.objects.values_list("version", flat=True).get(pk=version) if version else ""
    )


def current_version() -> Subquery:
    """current_version_id() as a subquery, to filter on without a round trip of its own.

    NULL where no label exists, which then matches no row."""
    return Subquery(NlpLabel.objects.order_by("-id").values("labeller_id")[:1])


@dataclass(frozen=True)
class GoldDecision:
    """The gold label of one report x level, with who decided it and when."""

    values: tuple  # in FIELDS order
    authors: tuple[str, ...]
    decided_at: datetime


def gold_decisions(
    *, report_ids: Iterable[int] | None = None
) -> dict[tuple[int, str], GoldDecision]:
    """Every gold level: (report id, level) -> its decision.

    A level is gold when adjudicated (the newest adjudication wins), or when every
    annotator's newest decision on it agrees (one annotator's decision is gold).
    """
    # Plain tuples, not model instances: this runs over every decision row (the gold
    # export, progress and the agreement dashboard all call it).
    newest: dict[tuple[int, str], dict[int, tuple]] = defaultdict(dict)
    adjudicated: dict[tuple[int, str], tuple] = {}
    notes = (
        Annotation.objects.all()
        if report_ids is None
        else Annotation.objects.filter(report_id__in=report_ids)
    )
    rows_in_order = (
        notes.order_by("created_at", "id")
        .values_list(
            "report_id",
            "level__level",
            "author_id",
            "author__username",
            "created_at",
            "kind",
            *FIELDS,
        )
        .iterator(chunk_size=5000)
    )
    for report_id, level, author_id, username, created_at, kind, *values in rows_in_order:
        if kind == Annotation.Kind.ADJUDICATION:
            adjudicated[(report_id, level)] = (tuple(values), username, created_at)
        else:
            newest[(report_id, level)][author_id] = (tuple(values), username, created_at)
    gold = {
        key: GoldDecision(values, (who,), when) for key, (values, who, when) in adjudicated.items()
    }
    for key, by_author in newest.items():
        if key not in gold and len({values for values, _, _ in by_author.values()}) == 1:
            decisions = list(by_author.values())
            gold[key] = GoldDecision(
                decisions[0][0],
                tuple(sorted(who for _, who, _ in decisions)),
                max(when for _, _, when in decisions),
            )
    return gold


def _exchange_row(report_id: int, level: str, values: tuple) -> dict:
    """The guide's exchange format, as LevelLabels.to_exchange writes it."""
    fields = dict(zip(FIELDS, values, strict=True))
    return {
        "report_id": str(report_id),
        "level": level,
        **fields,
        "canal_class": canal_class(fields["disc"], fields["canal_stenosis"]),
    }


def gold_rows(*, report_ids: Iterable[int] | None = None) -> list[dict]:
    """Gold labels in the guide's exchange format (report_id is the report's primary key),
    of every report or of ``report_ids`` only.

    Only reports whose five levels are all gold are returned: a partly curated report
    would teach "none" by omission.
    """
    gold = gold_decisions(report_ids=report_ids)
    rows = []
    for report_id in sorted({report for report, _ in gold}):
        if all((report_id, level) in gold for level in LEVELS):
            rows += [
                _exchange_row(report_id, level, gold[(report_id, level)].values) for level in LEVELS
            ]
    return rows


@dataclass(frozen=True)
class GoldReport:
    """A report with its gold levels (exchange rows), for scoring the labeller."""

    report_id: str
    text: str
    rows: list[dict]


def gold_reports(*, level: str | None = None, limit: int | None = None) -> list[GoldReport]:
    """Reports with gold labels, oldest first, each with every gold level (or only ``level``).

    Unlike gold_rows, a partly curated report counts: scoring compares level by level,
    so each gold level is a fair test however many of its report's levels are gold.
    """
    gold = gold_decisions()
    by_report: dict[int, list[dict]] = defaultdict(list)
    for (report_id, lv), decision in sorted(
        gold.items(), key=lambda kv: (kv[0][0], LEVELS.index(kv[0][1]))
    ):
        if level is None or lv == level:
            by_report[report_id].append(_exchange_row(report_id, lv, decision.values))
    ids = sorted(by_report)[:limit] if limit is not None else sorted(by_report)
    texts = dict(RadiologistReport.objects.filter(pk__in=ids).values_list("pk", "text"))
    return [GoldReport(str(pk), texts[pk], by_report[pk]) for pk in ids if pk in texts]


def stored_labels(*, version: str, report_ids: Iterable[str]) -> dict[str, list[dict]]:
    """The labels a labeller version stored for these reports: report id -> exchange rows
    (with ``evidence``), in level order. Reports it never labelled are absent."""
    found: dict[str, list[dict]] = defaultdict(list)
    rows = (
        NlpLabel.objects.filter(
            labeller__version=version, report_id__in=[int(r) for r in report_ids]
        )
        .order_by("report_id", "level__level")
        .values_list("report_id", "level__level", "evidence", *FIELDS)
    )
    for report_id, level, evidence, *values in rows:
        found[str(report_id)].append(
            {**_exchange_row(report_id, level, tuple(values)), "evidence": evidence}
        )
    return dict(found)


def gold_labels(*, report_id: int | None = None, level: str = "") -> list[dict]:
    """gold_rows() (the gold export's rows), of one report and one level where asked, each
    with its study's UID (``study_uid``)."""
    rows = gold_rows(report_ids=None if report_id is None else [report_id])
    if level:
        rows = [row for row in rows if row["level"] == level]
    study_of = dict(
        RadiologistReport.objects.filter(
            pk__in={int(row["report_id"]) for row in rows}
        ).values_list("pk", "study__study_instance_uid")
    )
    return [{**row, "study_uid": study_of[int(row["report_id"])]} for row in rows]
