"""Reads for the researchers' agreement dashboard.

A comparison pairs each study x disc level that a model version predicted (from the
study's latest finished job of that version) with the reference label of the same
level: the gold label (labeling.selectors.gold_rows) or the NLP label of the current
labeller version. Everything the page shows is computed here from those pairs with
reports.stats, and is small enough to cache whole (reports/dashboard_cache.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np
from django.db.models import Exists, OuterRef, Q

from inference.models import InferenceJob, ModelVersion, Prediction
from labeling.curation.progress import inter_annotator_agreement, nlp_gold_agreement
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version_id, gold_rows
from reports.models import ReportVersion
from reports.stats import (
    BINARY_METRICS,
    COMPARED_FIELDS,
    DETECTOR_LABELS,
    DETECTOR_ROWS,
    METRIC_LABELS,
    BinaryAgreement,
    Estimate,
    GradeAgreement,
    LabelPairs,
    LevelCounts,
    MulticlassAgreement,
    StageCurves,
    canal_class_agreement,
    detector_agreement,
    grade_agreement,
    per_level,
    proportion,
    training_curves,
)
from reports.stats.charts import (
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    SERIES_COLOURS,
    grouped_bar_chart,
    heat_map,
    line_chart,
)
from spine.findings import AGREEMENT_DETECTORS
from spine.labels import CANAL_CLASSES, FIELDS, LEVELS
from studies.models import RadiologistReport

GOLD = "gold"
NLP = "nlp"
REFERENCES: dict[str, str] = {
    GOLD: "Gold labels (curated by annotators)",
    NLP: "NLP labels of the radiologists' reports",
}
# How captions name the reference ("resnet-b against NLP labels").
REFERENCE_NAMES: dict[str, str] = {GOLD: "gold labels", NLP: "NLP labels"}
MAX_MODELS = 3
# Shown as bar charts across detectors, one bar per model version.
CHART_METRICS: tuple[str, ...] = ("sensitivity", "specificity", "f1", "kappa")
SHORT_DETECTOR: dict[str, str] = {finding.key: finding.short_label for finding in AGREEMENT_DETECTORS}

Key = tuple[int, str]  # (study id, disc level)
# (study, level) -> the COMPARED_FIELDS values, in that order. Tuples, not dicts: aligning
# 17,800 levels reads each value once per field.
Labels = dict[Key, tuple[str, ...]]


def default_reference() -> str:
    """Gold once curation has begun; before that only NLP labels exist."""
    return GOLD if Annotation.objects.exists() else NLP


# --- the model versions and their predictions ------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    id: int
    name: str
    created_at: datetime


def model_versions() -> list[ModelChoice]:
    """Every model version, newest first, for the picker."""
    return [
        ModelChoice(*row) for row in ModelVersion.objects.values_list("id", "name", "created_at")
    ]


def latest_predictions(*, model_version_id: int) -> Labels:
    """(study, level) -> predicted fields, from each study's latest done job of the version.

    A job is the latest when no other done job of the version on the same study was
    created after it (ties broken by id), which one query answers with NOT EXISTS.
    """
    done = InferenceJob.Status.DONE
    newer = InferenceJob.objects.filter(
        study_id=OuterRef("job__study_id"), model_version_id=model_version_id, status=done
    ).filter(
        Q(created_at__gt=OuterRef("job__created_at"))
        | Q(created_at=OuterRef("job__created_at"), id__gt=OuterRef("job_id"))
    )
    rows = (
        Prediction.objects.filter(model_version_id=model_version_id, job__status=done)
        .exclude(Exists(newer))
        .order_by()
        .values_list("job__study_id", "level__level", *COMPARED_FIELDS)
    )
    return {(study, level): tuple(values) for study, level, *values in rows}


# --- references ------------------------------------------------------------------


def _newest_report_per_study(report_ids: Iterable[int]) -> dict[int, int]:
    """report id -> study id, keeping only each study's newest report among them."""
    newest: dict[int, tuple[Any, int]] = {}
    rows = RadiologistReport.objects.filter(pk__in=list(report_ids)).values_list(
        "pk", "study_id", "imported_at"
    )
    for report_id, study_id, imported_at in rows:
        current = newest.get(study_id)
        if current is None or (imported_at, report_id) > current:
            newest[study_id] = (imported_at, report_id)
    return {report_id: study_id for study_id, (_, report_id) in newest.items()}


def gold_reference(rows: Sequence[dict] | None = None) -> Labels:
    """(study, level) -> gold fields; a study with several curated reports uses the newest."""
    rows = gold_rows() if rows is None else rows
    study_of = _newest_report_per_study({int(r["report_id"]) for r in rows})
    out: Labels = {}
    for row in rows:
        study_id = study_of.get(int(row["report_id"]))
        if study_id is not None:
            out[(study_id, row["level"])] = tuple(row[name] for name in COMPARED_FIELDS)
    return out


def nlp_reference() -> Labels:
    """(study, level) -> the current labeller version's fields, from each study's newest report."""
    version = current_version_id()
    if version is None:
        return {}
    rows = (
        NlpLabel.objects.filter(labeller_id=version)
        .order_by("report__imported_at", "report_id")
        .values_list("report__study_id", "level__level", *COMPARED_FIELDS)
    )
    # Ordered oldest report first, so a study's newest report overwrites older ones.
    return {(study, level): tuple(values) for study, level, *values in rows}


def align(reference: Labels, predicted: Labels) -> LabelPairs:
    """The levels both sides labelled, in (study, level) order."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    keys = sorted(reference.keys() & predicted.keys(), key=lambda k: (k[0], rank[k[1]]))

    def columns(labels: Labels) -> dict[str, np.ndarray]:
        values = list(zip(*(labels[k] for k in keys), strict=True)) or [()] * len(COMPARED_FIELDS)
        return {
            name: np.array(column, dtype=str)
            for name, column in zip(COMPARED_FIELDS, values, strict=True)
        }

    return LabelPairs(
        levels=np.array([level for _, level in keys], dtype=str),
        reference=columns(reference),
        predicted=columns(predicted),
        keys=tuple(keys),
    )


def label_pairs(*, model_version_id: int, reference: str) -> LabelPairs:
    """The aligned pairs of one model version against one reference."""
    ref = gold_reference() if reference == GOLD else nlp_reference()
    return align(ref, latest_predictions(model_version_id=model_version_id))


# --- how often the AI text was edited before signing -----------------------------


@dataclass(frozen=True)
class EditShare:
    label: str
    signed: int
    edited: int
    share: Estimate


def edit_shares(*, model_version_ids: Sequence[int] = ()) -> list[EditShare]:
    """Among signed AI reports, the share whose first signed text differs from the first
    generated version: overall, then per chosen model version (the version that wrote
    the first text)."""
    signed_reports = ReportVersion.objects.filter(signed_at__isnull=False).values("report_id")
    rows = (
        ReportVersion.objects.filter(report_id__in=signed_reports)
        .order_by("report_id", "number")
        .values_list(
            "report_id",
            "origin",
            "signed_at",
            "findings",
            "impression",
            "source_job__model_version_id",
        )
    )
    first_generated: dict[int, tuple] = {}
    first_signed: dict[int, tuple] = {}
    for report_id, origin, signed_at, findings, impression, model_id in rows:
        if origin == ReportVersion.Origin.GENERATED and report_id not in first_generated:
            first_generated[report_id] = (findings, impression, model_id)
        if signed_at is not None and report_id not in first_signed:
            first_signed[report_id] = (findings, impression)
    overall = [0, 0]
    by_model: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for report_id, (findings, impression) in first_signed.items():
        generated = first_generated.get(report_id)
        if generated is None:
            continue  # written by hand from the start: no AI text to compare with
        edited = int((findings, impression) != generated[:2])
        buckets = [overall] if generated[2] is None else [overall, by_model[generated[2]]]
        for bucket in buckets:
            bucket[0] += 1
            bucket[1] += edited
    names = dict(
        ModelVersion.objects.filter(pk__in=list(model_version_ids)).values_list("pk", "name")
    )
    rows = [("All signed AI reports", overall)]
    rows += [(names[mid], by_model.get(mid, [0, 0])) for mid in model_version_ids if mid in names]
    return [
        EditShare(label=label, signed=signed, edited=edited, share=proportion(edited, signed))
        for label, (signed, edited) in rows
    ]


# --- the dashboard ----------------------------------------------------------------


@dataclass
class ModelBlock:
    id: int
    name: str
    colour: str
    predicted_levels: int
    compared_levels: int
    detectors: dict[str, BinaryAgreement]
    canal: MulticlassAgreement
    grades: dict[str, GradeAgreement]
    levels: dict[str, list[LevelCounts]]
    curves: list[StageCurves]
    canal_svg: str = ""
    curve_svgs: list[tuple[str, str, str]] = field(default_factory=list)

    def detector_rows(self) -> list[tuple[str, str, BinaryAgreement]]:
        return [(key, DETECTOR_LABELS[key], self.detectors[key]) for key, _ in DETECTOR_ROWS]


@dataclass
class DashboardData:
    reference: str
    reference_label: str
    reference_name: str
    reference_levels: int
    models: list[ModelBlock]
    metric_svgs: list[tuple[str, str]]
    level_svgs: list[tuple[str, str, list[str]]]
    nlp_vs_gold: list[dict[str, Any]]
    inter_annotator: list[dict[str, Any]]
    agreement_svgs: list[tuple[str, str]]
    edits: list[EditShare]
    edits_svg: str
    gold_levels: int
    nlp_levels: int

    def level_rows(self, key: str) -> list[tuple[str, list[LevelCounts]]]:
        """(level, that level's counts for each model) for one detector."""
        return [(level, [m.levels[key][i] for m in self.models]) for i, level in enumerate(LEVELS)]


def _model_block(
    version: ModelVersion, reference: Labels, predicted: Labels, index: int
) -> ModelBlock:
    pairs = align(reference, predicted)
    seed = 2020 + version.pk  # stable per version, so cached and fresh results agree
    block = ModelBlock(
        id=version.pk,
        name=version.name,
        colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
        predicted_levels=len(predicted),
        compared_levels=len(pairs),
        detectors=detector_agreement(pairs, seed=seed),
        canal=canal_class_agreement(pairs, seed=seed),
        grades=grade_agreement(pairs, seed=seed),
        levels=per_level(pairs),
        curves=training_curves(version.history),
    )
    block.canal_svg = heat_map(
        chart_id=f"canal-{version.pk}",
        title=f"canal_class confusion matrix, {version.name}",
        labels=[str(c) for c in CANAL_CLASSES],
        matrix=block.canal.matrix,
        row_title="reference",
        column_title="model",
    )
    for stage in block.curves:
        svgs = []
        for kind, label in (("loss", "loss"), ("acc", "accuracy")):
            series = stage.of(kind)
            svgs.append(
                line_chart(
                    chart_id=f"curve-{version.pk}-{stage.stage}-{kind}",
                    title=f"{version.name}: {stage.stage} {label} per epoch",
                    series=list(series.items()),
                    y_label=label,
                    domain=(0.0, 1.0) if kind == "acc" else None,
                    dashed=[name.startswith("val") for name in series],
                )
                if series
                else ""
            )
        block.curve_svgs.append((stage.stage, svgs[0], svgs[1]))
    return block


def _metric_svgs(models: list[ModelBlock]) -> list[tuple[str, str]]:
    out = []
    for metric in CHART_METRICS:
        out.append(
            (
                metric,
                grouped_bar_chart(
                    chart_id=f"metric-{metric}",
                    title=f"{METRIC_LABELS[metric]} per detector with 95% CI",
                    categories=[SHORT_DETECTOR[key] for key, _ in DETECTOR_ROWS],
                    series=[m.name for m in models],
                    values=[
                        [m.detectors[key].metric(metric) for m in models]
                        for key, _ in DETECTOR_ROWS
                    ],
                    colours=[m.colour for m in models],
                ),
            )
        )
    return out


def _level_svgs(models: list[ModelBlock]) -> list[tuple[str, str, list[str]]]:
    """The paper's Figure 2 per detector: reference positives and negatives per level on
    each model's compared levels, and each model's predicted positives."""
    out = []
    for key, label in DETECTOR_ROWS:
        charts = []
        for m in models:
            rows = m.levels[key]
            charts.append(
                grouped_bar_chart(
                    chart_id=f"levels-{key}-{m.id}",
                    title=f"{label} per level, {m.name}: reference +/−, model +",
                    categories=list(LEVELS),
                    series=["reference +", "reference −", "model +"],
                    values=[[r.positives, r.negatives, r.predicted_positives] for r in rows],
                    colours=[POSITIVE_COLOUR, NEGATIVE_COLOUR, m.colour],
                    counts=True,
                )
            )
        out.append((key, label, charts))
    return out


def _agreement_svgs(nlp_vs_gold: list[dict], inter: list[dict]) -> list[tuple[str, str]]:
    fields = list(FIELDS)
    by_field = [{row["field"]: row["kappa"] for row in table} for table in (nlp_vs_gold, inter)]
    return [
        (
            "kappa",
            grouped_bar_chart(
                chart_id="reference-kappa",
                title="Cohen's kappa per field: NLP labeller against gold, and between annotators",
                categories=[f.replace("_", " ") for f in fields],
                series=["NLP vs gold", "annotator vs annotator"],
                values=[[by_field[0].get(f), by_field[1].get(f)] for f in fields],
                colours=["#7b3fb5", "#1d7a46"],
            ),
        )
    ]


def _edits_svg(edits: list[EditShare]) -> str:
    return grouped_bar_chart(
        chart_id="edited-share",
        title="Share of signed AI reports whose text was edited before signing, with 95% CI",
        categories=[e.label for e in edits],
        series=["edited before signing"],
        values=[[e.share] for e in edits],
        colours=["#a15c00"],
    )


T = TypeVar("T")

# The source tables each part of the dashboard is computed from, so a cache can keep a
# part until one of its own sources changes (reports/dashboard_cache.py).
PREDICTIONS = "predictions"  # predictions and finished jobs
NLP_LABELS = "nlp_labels"
ANNOTATIONS = "annotations"
REPORTS = "reports"  # radiologist reports: which study a label belongs to
MODELS = "models"
REPORT_VERSIONS = "report_versions"
SOURCES: tuple[str, ...] = (PREDICTIONS, NLP_LABELS, ANNOTATIONS, REPORTS, MODELS, REPORT_VERSIONS)


class Memo(Protocol):
    def __call__(self, name: str, depends: tuple[str, ...], compute: Callable[[], T]) -> T: ...


def no_memo(name: str, depends: tuple[str, ...], compute: Callable[[], T]) -> T:
    return compute()


def dashboard_data(
    *, model_version_ids: Sequence[int], reference: str, memo: Memo = no_memo
) -> DashboardData:
    """Everything the dashboard shows for up to three model versions against one reference.

    ``memo`` may return a part computed earlier from the same state of its sources.
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}")
    gold, gold_ref = memo("gold", (ANNOTATIONS, REPORTS), _gold_parts)
    nlp_ref = memo("nlp_reference", (NLP_LABELS, REPORTS), nlp_reference)
    ref = gold_ref if reference == GOLD else nlp_ref
    ref_sources = (ANNOTATIONS, REPORTS) if reference == GOLD else (NLP_LABELS, REPORTS)
    versions = {v.pk: v for v in ModelVersion.objects.filter(pk__in=list(model_version_ids))}
    chosen = [versions[i] for i in model_version_ids if i in versions][:MAX_MODELS]
    models = []
    for i, version in enumerate(chosen):

        def block(version: ModelVersion = version, i: int = i) -> ModelBlock:
            predicted = memo(
                f"predictions:{version.pk}",
                (PREDICTIONS,),
                lambda: latest_predictions(model_version_id=version.pk),
            )
            return _model_block(version, ref, predicted, i)

        models.append(
            memo(f"block:{version.pk}:{reference}:{i}", (PREDICTIONS, MODELS, *ref_sources), block)
        )
    nlp_vs_gold = memo(
        "nlp_vs_gold", (ANNOTATIONS, NLP_LABELS), lambda: nlp_gold_agreement(gold) if gold else []
    )
    inter = memo("inter_annotator", (ANNOTATIONS,), inter_annotator_agreement)
    ids = [m.id for m in models]
    edits = memo(
        f"edits:{'-'.join(map(str, ids))}",
        (REPORT_VERSIONS, MODELS),
        lambda: edit_shares(model_version_ids=ids),
    )
    return DashboardData(
        reference=reference,
        reference_label=REFERENCES[reference],
        reference_name=REFERENCE_NAMES[reference],
        reference_levels=len(ref),
        models=models,
        metric_svgs=_metric_svgs(models) if models else [],
        level_svgs=_level_svgs(models) if models else [],
        nlp_vs_gold=nlp_vs_gold,
        inter_annotator=inter,
        agreement_svgs=_agreement_svgs(nlp_vs_gold, inter),
        edits=edits,
        edits_svg=_edits_svg(edits),
        gold_levels=len(gold_ref),
        nlp_levels=len(nlp_ref),
    )


def _gold_parts() -> tuple[list[dict], Labels]:
    rows = gold_rows()
    return rows, gold_reference(rows)


# --- CSV ---------------------------------------------------------------------------

CSV_HEADER: tuple[str, ...] = (
    "section",
    "model_version",
    "reference",
    "item",
    "level",
    "epoch",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def csv_rows(data: DashboardData) -> list[tuple[str, ...]]:
    """The dashboard as one long table: a row per number, with its 95% CI where it has one."""
    out: list[tuple[str, ...]] = [CSV_HEADER]

    def add(section: str, metric: str, value: object, **cells: object) -> None:
        row = {"reference": data.reference, **cells, "section": section, "metric": metric}
        if isinstance(value, Estimate):
            row.update(value=_num(value.value), ci_low=_num(value.low), ci_high=_num(value.high))
        else:
            row["value"] = value if isinstance(value, str) else _num(value)
        out.append(tuple(str(row.get(name, "")) for name in CSV_HEADER))

    for m in data.models:
        for key, _, agreement in m.detector_rows():
            at = {"model_version": m.name, "item": key, "n": agreement.n}
            for name in ("tp", "fp", "fn", "tn"):
                add("detector", name, str(getattr(agreement, name)), **at)
            for metric in BINARY_METRICS:
                add("detector", metric, agreement.metric(metric), **at)
        canal = m.canal
        at = {"model_version": m.name, "n": canal.n}
        for i, row in enumerate(canal.matrix):
            for j, cell in enumerate(row):
                item = f"reference={canal.labels[i]} model={canal.labels[j]}"
                add("canal_class", "count", str(cell), item=item, **at)
        add("canal_class", "accuracy", canal.accuracy, item="canal_class", **at)
        add("canal_class", "kappa", canal.kappa, item="canal_class", **at)
        metric = f"weighted_kappa_{canal.weights}"
        add("canal_class", metric, canal.weighted_kappa, item="canal_class", **at)
        for name, grades in m.grades.items():
            g = grades.agreement
            at = {"model_version": m.name, "item": name, "n": g.n}
            add("grades", "accuracy", g.accuracy, **at)
            add("grades", f"weighted_kappa_{g.weights}", g.weighted_kappa, **at)
            add("grades", "left_out_unspecified", str(grades.left_out), **at)
        for key, _ in DETECTOR_ROWS:
            for counts in m.levels[key]:
                at = {
                    "model_version": m.name,
                    "item": key,
                    "level": counts.level,
                    "n": counts.positives + counts.negatives,
                }
                add("per_level", "reference_positives", str(counts.positives), **at)
                add("per_level", "reference_negatives", str(counts.negatives), **at)
                add("per_level", "model_positives", str(counts.predicted_positives), **at)
                for metric in ("accuracy", "sensitivity", "specificity"):
                    add("per_level", metric, getattr(counts, metric), **at)
        for stage in m.curves:
            for series, points in stage.series.items():
                for epoch, value in points:
                    at = {"model_version": m.name, "reference": "", "item": stage.stage}
                    add("training", series, value, epoch=epoch, **at)
    for section, reference, table in (
        ("nlp_vs_gold", "gold", data.nlp_vs_gold),
        ("inter_annotator", "annotators", data.inter_annotator),
    ):
        for row in table:
            at = {"reference": reference, "item": row["field"], "n": row["n"]}
            percent = row["percent"]
            add(section, "agreement", None if percent is None else percent / 100, **at)
            add(section, "kappa", row["kappa"], **at)
    for share in data.edits:
        model = "" if share is data.edits[0] else share.label
        at = {"model_version": model, "reference": "", "item": "signed AI reports"}
        add("edited_before_signing", "share", share.share, n=share.signed, **at)
    return out
