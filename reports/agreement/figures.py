"""The agreement dashboard's numbers as plain data (dicts and lists), for the API: every
figure the page shows and the CSV lists, bar the training curves (the model versions'
``history`` has those)."""

from __future__ import annotations

from typing import Any

from reports.agreement.summary import DashboardData, ModelBlock
from reports.stats import BINARY_METRICS, BinaryAgreement, Estimate, MulticlassAgreement


def estimate(value: Estimate) -> dict[str, float | None]:
    return {"value": value.value, "low": value.low, "high": value.high}


def _detector(key: str, label: str, agreement: BinaryAgreement) -> dict[str, Any]:
    return {
        "detector": key,
        "label": label,
        "n": agreement.n,
        "tp": agreement.tp,
        "fp": agreement.fp,
        "fn": agreement.fn,
        "tn": agreement.tn,
        **{name: estimate(agreement.metric(name)) for name in BINARY_METRICS},
    }


def _table(agreement: MulticlassAgreement) -> dict[str, Any]:
    return {
        "labels": list(agreement.labels),
        "matrix": [list(row) for row in agreement.matrix],
        "n": agreement.n,
        "accuracy": estimate(agreement.accuracy),
        "kappa": estimate(agreement.kappa),
        "weighted_kappa": estimate(agreement.weighted_kappa),
        "weights": agreement.weights,
    }


def _model(block: ModelBlock) -> dict[str, Any]:
    return {
        "id": block.id,
        "name": block.name,
        "predicted_levels": block.predicted_levels,
        "compared_levels": block.compared_levels,
        "detectors": [_detector(*row) for row in block.detector_rows()],
        "canal_class": _table(block.canal),
        "grades": [
            {
                "field": name,
                "left_out_unspecified": grades.left_out,
                "model_grades": grades.model_grades,
                **_table(grades.agreement),
            }
            for name, grades in block.grades.items()
        ],
        "levels": [
            {
                "detector": key,
                "level": counts.level,
                "reference_positives": counts.positives,
                "reference_negatives": counts.negatives,
                "model_positives": counts.predicted_positives,
                "tp": counts.tp,
                "tn": counts.tn,
                "accuracy": estimate(counts.accuracy),
                "sensitivity": estimate(counts.sensitivity),
                "specificity": estimate(counts.specificity),
            }
            for key, _, _ in block.detector_rows()
            for counts in block.levels[key]
        ],
    }


def agreement_figures(data: DashboardData) -> dict[str, Any]:
    """``data`` (reports.agreement.summary) as the API answers it."""
    return {
        "reference": data.reference,
        "reference_label": data.reference_label,
        "reference_levels": data.reference_levels,
        "gold_levels": data.gold_levels,
        "nlp_levels": data.nlp_levels,
        "as_of": data.as_of,
        "models": [_model(block) for block in data.models],
        "nlp_vs_gold": list(data.nlp_vs_gold),
        "inter_annotator": list(data.inter_annotator),
        "edited_before_signing": [
            {
                "label": share.label,
                "signed": share.signed,
                "edited": share.edited,
                "share": estimate(share.share),
            }
            for share in data.edits
        ],
    }
