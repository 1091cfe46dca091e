"""Scoring of predicted exchange rows against gold rows (pure; scikit-learn metrics).

Rows are joined on (report_id, level). Gold rows without a prediction count
as predicted all-``none`` (and are reported in ``missing``).

Besides per-field accuracy, the four binary detectors of the guide's seed schema
(``LevelLabels.detectors``: bulging, herniation, canal stenosis, and foraminal
stenosis as one sample per side) are scored by sensitivity and specificity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from spine.findings import PAPER_DETECTORS
from spine.labels import FIELD_VALUES, FIELDS, LevelLabels, canal_class


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row["report_id"]), row["level"])


def evaluate(
    predicted_rows: Iterable[Mapping[str, Any]], gold_rows: Iterable[Mapping[str, Any]]
) -> dict:
    pred = {_key(r): r for r in predicted_rows}
    gold = {_key(r): r for r in gold_rows}
    keys = sorted(gold)
    missing = [k for k in keys if k not in pred]
    extra = sorted(k for k in pred if k not in gold)
    out: dict[str, Any] = {"n": len(keys), "missing": missing, "extra": extra, "fields": {}}
    P = {
        k: pred[k] if k in pred else LevelLabels(level=k[1]).to_exchange(report_id=k[0])
        for k in keys
    }
    for f in FIELDS:
        labels = list(FIELD_VALUES[f])
        y_true = [gold[k].get(f, False if f == "uncertain" else "none") for k in keys]
        y_pred = [P[k].get(f, False if f == "uncertain" else "none") for k in keys]
        names = [str(v) for v in labels]
        yt = [str(v) for v in y_true]
        yp = [str(v) for v in y_pred]
        if keys:
            p, r, f1, sup = precision_recall_fscore_support(yt, yp, labels=names, zero_division=0)
        else:  # nothing to score (scikit-learn refuses empty input)
            p = r = f1 = sup = [0] * len(names)
        out["fields"][f] = {
            "accuracy": accuracy_score(yt, yp) if keys else 0.0,
            "per_value": {
                n: {
                    "precision": float(p[i]),
                    "recall": float(r[i]),
                    "f1": float(f1[i]),
                    "support": int(sup[i]),
                }
                for i, n in enumerate(names)
            },
            "labels": names,
            "confusion": confusion_matrix(yt, yp, labels=names).tolist() if keys else [],
            "errors": [
                {"report_id": k[0], "level": k[1], "gold": t, "pred": q}
                for k, t, q in zip(keys, y_true, y_pred, strict=True)
                if t != q
            ],
        }

    def cc(row: Mapping[str, Any]) -> int:
        return canal_class(row.get("disc", "none"), row.get("canal_stenosis", "none"))

    ct = [cc(gold[k]) for k in keys]
    cp = [cc(P[k]) for k in keys]
    out["canal_class"] = {
        "accuracy": accuracy_score(ct, cp) if keys else 0.0,
        "confusion": confusion_matrix(ct, cp, labels=[0, 1, 2, 3]).tolist() if keys else [],
    }
    out["detectors"] = detector_agreement([P[k] for k in keys], [gold[k] for k in keys])
    out["mean_field_accuracy"] = sum(v["accuracy"] for v in out["fields"].values()) / len(FIELDS)
    out["exact_level_match"] = (
        sum(all(gold[k].get(f) == P[k].get(f) for f in FIELDS) for k in keys) / len(keys)
        if keys
        else 0.0
    )
    return out


def _samples(row: Mapping[str, Any]) -> dict[str, list[bool]]:
    """The row's detector targets, each as a list of samples (two for the foramina)."""
    level = LevelLabels.from_exchange(row)
    return {finding.key: finding.samples(level) for finding in PAPER_DETECTORS}


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def detector_agreement(
    predicted_rows: Iterable[Mapping[str, Any]], gold_rows: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per detector: counts, sensitivity and specificity (None where undefined).

    The two lists are paired row by row (same report and level).
    """
    counts = {finding.key: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for finding in PAPER_DETECTORS}
    for pred, gold in zip(predicted_rows, gold_rows, strict=True):
        got, want = _samples(pred), _samples(gold)
        for name in counts:
            for p, g in zip(got[name], want[name], strict=True):
                counts[name][("t" if p == g else "f") + ("p" if p else "n")] += 1
    out = {}
    for name, c in counts.items():
        out[name] = {
            **c,
            "n": sum(c.values()),
            "sensitivity": _ratio(c["tp"], c["tp"] + c["fn"]),
            "specificity": _ratio(c["tn"], c["tn"] + c["fp"]),
            "accuracy": _ratio(c["tp"] + c["tn"], sum(c.values())),
        }
    return out


def _pct(value: float | None) -> str:
    return "   —  " if value is None else f"{value:.3f}"


def summary(result: dict) -> str:
    lines = [f"rows: {result['n']}  missing: {len(result['missing'])}"]
    for f, v in result["fields"].items():
        lines.append(f"  {f:20s} accuracy {v['accuracy']:.3f}")
    lines.append(f"  {'canal_class':20s} accuracy {result['canal_class']['accuracy']:.3f}")
    if result.get("detectors"):
        lines.append(
            "  detector             sensitivity specificity  (positives gold/labeller, samples)"
        )
        for name, d in result["detectors"].items():
            lines.append(
                f"  {name:20s} {_pct(d['sensitivity']):>11s} {_pct(d['specificity']):>11s}"
                f"  ({d['tp'] + d['fn']}/{d['tp'] + d['fp']}, {d['n']})"
            )
    lines.append(f"  exact level match {result['exact_level_match']:.3f}")
    return "\n".join(lines)
