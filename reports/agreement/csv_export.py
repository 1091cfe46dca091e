"""The agreement dashboard as one long CSV table: a row per number, with its 95% CI where
it has one."""

from __future__ import annotations

from reports.agreement.summary import DashboardData
from reports.stats import BINARY_METRICS, DETECTOR_ROWS, Estimate

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
