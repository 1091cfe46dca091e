"""The agreement dashboard's charts: SVG markup drawn from the numbers in DashboardData.

The view draws them once per state of the sources; cache.cached_dashboard_page keeps the
markup beside the numbers. The drawing itself is
in reports.stats.charts (pure, escaped markup); here each chart gets its id, title,
categories and colours. A model's colour follows its position among the chosen versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.agreement.queries import EditShare
from reports.agreement.summary import ModelBlock
from reports.stats import DETECTOR_ROWS, METRIC_LABELS
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

# Shown as bar charts across detectors, one bar per model version.
CHART_METRICS: tuple[str, ...] = ("sensitivity", "specificity", "f1", "kappa")
SHORT_DETECTOR: dict[str, str] = {
    finding.key: finding.short_label for finding in AGREEMENT_DETECTORS
}


def model_colour(index: int) -> str:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


def canal_svg(model: ModelBlock) -> str:
    return heat_map(
        chart_id=f"canal-{model.id}",
        title=f"canal_class confusion matrix, {model.name}",
        labels=[str(c) for c in CANAL_CLASSES],
        matrix=model.canal.matrix,
        row_title="reference",
        column_title="model",
    )


def curve_svgs(model: ModelBlock) -> list[tuple[str, str, str]]:
    """(stage, loss chart, accuracy chart) per training stage; "" for a curve not recorded."""
    out = []
    for stage in model.curves:
        svgs = []
        for kind, label in (("loss", "loss"), ("acc", "accuracy")):
            series = stage.of(kind)
            svgs.append(
                line_chart(
                    chart_id=f"curve-{model.id}-{stage.stage}-{kind}",
                    title=f"{model.name}: {stage.stage} {label} per epoch",
                    series=list(series.items()),
                    y_label=label,
                    domain=(0.0, 1.0) if kind == "acc" else None,
                    dashed=[name.startswith("val") for name in series],
                )
                if series
                else ""
            )
        out.append((stage.stage, svgs[0], svgs[1]))
    return out


def metric_svgs(models: Sequence[ModelBlock]) -> list[tuple[str, str]]:
    if not models:
        return []
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
                    colours=[model_colour(i) for i in range(len(models))],
                ),
            )
        )
    return out


def level_svgs(models: Sequence[ModelBlock]) -> list[tuple[str, str, list[str]]]:
    """The paper's Figure 2 per detector: reference positives and negatives per level on
    each model's compared levels, and each model's predicted positives."""
    if not models:
        return []
    out = []
    for key, label in DETECTOR_ROWS:
        charts = []
        for i, m in enumerate(models):
            rows = m.levels[key]
            charts.append(
                grouped_bar_chart(
                    chart_id=f"levels-{key}-{m.id}",
                    title=f"{label} per level, {m.name}: reference +/−, model +",
                    categories=list(LEVELS),
                    series=["reference +", "reference −", "model +"],
                    values=[[r.positives, r.negatives, r.predicted_positives] for r in rows],
                    colours=[POSITIVE_COLOUR, NEGATIVE_COLOUR, model_colour(i)],
                    counts=True,
                )
            )
        out.append((key, label, charts))
    return out


def agreement_svgs(
    nlp_vs_gold: Sequence[dict[str, Any]], inter: Sequence[dict[str, Any]]
) -> list[tuple[str, str]]:
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


def edits_svg(edits: Sequence[EditShare]) -> str:
    return grouped_bar_chart(
        chart_id="edited-share",
        title="Share of signed AI reports whose text was edited before signing, with 95% CI",
        categories=[e.label for e in edits],
        series=["edited before signing"],
        values=[[e.share] for e in edits],
        colours=["#a15c00"],
    )
