"""The agreement dashboard's numbers: every model version's agreement with one reference.

Computed with reports.stats from the pairs that queries.py reads; numbers only (charts.py
draws them, csv_export.py lists them), and small enough to cache whole (cache.py), part
by part through ``memo``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from inference.models import ModelVersion
from labeling.curation.progress import inter_annotator_agreement, nlp_gold_agreement
from labeling.selectors import gold_rows
from reports.agreement.queries import (
    GOLD,
    REFERENCE_NAMES,
    REFERENCES,
    EditShare,
    Labels,
    align,
    edit_shares,
    gold_reference,
    latest_predictions,
    nlp_reference,
)
from reports.stats import (
    DETECTOR_LABELS,
    DETECTOR_ROWS,
    BinaryAgreement,
    GradeAgreement,
    LevelCounts,
    MulticlassAgreement,
    StageCurves,
    canal_class_agreement,
    detector_agreement,
    grade_agreement,
    per_level,
    training_curves,
)
from spine.labels import LEVELS

MAX_MODELS = 3


@dataclass
class ModelBlock:
    id: int
    name: str
    predicted_levels: int
    compared_levels: int
    detectors: dict[str, BinaryAgreement]
    canal: MulticlassAgreement
    grades: dict[str, GradeAgreement]
    levels: dict[str, list[LevelCounts]]
    curves: list[StageCurves]

    def detector_rows(self) -> list[tuple[str, str, BinaryAgreement]]:
        return [(key, DETECTOR_LABELS[key], self.detectors[key]) for key, _ in DETECTOR_ROWS]


@dataclass
class DashboardData:
    reference: str
    reference_label: str
    reference_name: str
    reference_levels: int
    models: list[ModelBlock]
    nlp_vs_gold: list[dict[str, Any]]
    inter_annotator: list[dict[str, Any]]
    edits: list[EditShare]
    gold_levels: int
    nlp_levels: int

    def level_rows(self, key: str) -> list[tuple[str, list[LevelCounts]]]:
        """(level, that level's counts for each model) for one detector."""
        return [(level, [m.levels[key][i] for m in self.models]) for i, level in enumerate(LEVELS)]


def _model_block(version: ModelVersion, reference: Labels, predicted: Labels) -> ModelBlock:
    pairs = align(reference, predicted)
    seed = 2020 + version.pk  # stable per version, so cached and fresh results agree
    return ModelBlock(
        id=version.pk,
        name=version.name,
        predicted_levels=len(predicted),
        compared_levels=len(pairs),
        detectors=detector_agreement(pairs, seed=seed),
        canal=canal_class_agreement(pairs, seed=seed),
        grades=grade_agreement(pairs, seed=seed),
        levels=per_level(pairs),
        curves=training_curves(version.history),
    )


T = TypeVar("T")

# The source tables each part of the dashboard is computed from, so a cache can keep a
# part until one of its own sources changes (cache.py).
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
    for version in chosen:

        def block(version: ModelVersion = version) -> ModelBlock:
            predicted = memo(
                f"predictions:{version.pk}",
                (PREDICTIONS,),
                lambda: latest_predictions(model_version_id=version.pk),
            )
            return _model_block(version, ref, predicted)

        models.append(
            memo(f"block:{version.pk}:{reference}", (PREDICTIONS, MODELS, *ref_sources), block)
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
        nlp_vs_gold=nlp_vs_gold,
        inter_annotator=inter,
        edits=edits,
        gold_levels=len(gold_ref),
        nlp_levels=len(nlp_ref),
    )


def _gold_parts() -> tuple[list[dict], Labels]:
    rows = gold_rows()
    return rows, gold_reference(rows)
