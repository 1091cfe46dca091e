"""The agreement dashboard's numbers: every model version's agreement with one reference.

Computed with reports.stats from the pairs that queries.py reads; numbers only (charts.py
draws them, csv_export.py lists them), and small enough to cache whole (cache.py), part
by part through ``memo``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from inference.models import ModelVersion
from labeling.models import NlpLabel
from labeling.selectors import current_version_id
from reports.agreement.gold_counts import GoldCounts
from reports.agreement.queries import (
    GOLD,
    REFERENCE_NAMES,
    REFERENCES,
    EditShare,
    Labels,
    align,
    edit_shares,
    latest_predictions,
    nlp_reference,
)
from reports.agreement.sources import (
    ANNOTATIONS,
    MODELS,
    NLP_LABELS,
    PREDICTIONS,
    REPORT_VERSIONS,
    REPORTS,
    SOURCES,
)
from reports.stats import (
    DETECTOR_LABELS,
    DETECTOR_ROWS,
    BinaryAgreement,
    Estimate,
    GradeAgreement,
    LevelCounts,
    MulticlassAgreement,
    StageCurves,
    canal_class_agreement,
    counts_of,
    detector_agreement,
    grade_agreement,
    per_level,
    training_curves,
)
from reports.stats.tables import AgreementCounts, field_agreement
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
    # The compared levels when the bootstrap intervals (F1, kappa) were last drawn: they
    # lag behind a growing gold set by at most INTERVALS_LAG of its size.
    intervals_levels: int
    # Fingerprints of the other sources (predictions, reports) when they were drawn: new
    # predictions draw them again.
    intervals_basis: tuple[str, ...] = ()

    @property
    def intervals_lag(self) -> bool:
        return self.intervals_levels != self.compared_levels

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
    # Set when the figures are served as computed at that time, newer rows having arrived
    # since (the NLP reference lags: cache.NLP_REFERENCE_LAG_S).
    as_of: datetime | None = None

    def level_rows(self, key: str) -> list[tuple[str, list[LevelCounts]]]:
        """(level, that level's counts for each model) for one detector."""
        return [(level, [m.levels[key][i] for m in self.models]) for i, level in enumerate(LEVELS)]


# Bootstrap intervals are drawn again once the compared levels moved by this share since
# they were drawn; until then a block recomputed after new gold labels keeps them. Drawing
# them costs more than everything else in a block (2,000 resamples of 20 tables), and a
# few more labels in thousands hardly move them.
INTERVALS_LAG = 0.01


def _model_block(
    version: ModelVersion,
    counts: AgreementCounts,
    predicted_levels: int,
    *,
    basis: tuple[str, ...] = (),
    previous: ModelBlock | None = None,
) -> ModelBlock:
    seed = 2020 + version.pk  # stable per version, so cached and fresh results agree
    lagging = (
        previous is not None
        and previous.intervals_basis == basis
        and abs(counts.n - previous.intervals_levels)
        <= INTERVALS_LAG * max(counts.n, previous.intervals_levels)
    )
    boot = {"seed": seed, "with_bootstrap": not lagging}
    detectors = detector_agreement(counts, **boot)
    canal = canal_class_agreement(counts, **boot)
    grades = grade_agreement(counts, **boot)
    if lagging and previous is not None:
        detectors = {
            key: replace(
                row,
                f1=_keep_interval(row.f1, previous.detectors[key].f1),
                kappa=_keep_interval(row.kappa, previous.detectors[key].kappa),
            )
            for key, row in detectors.items()
        }
        canal = _keep_kappa_intervals(canal, previous.canal)
        grades = {
            name: replace(
                grade,
                agreement=_keep_kappa_intervals(grade.agreement, previous.grades[name].agreement),
            )
            for name, grade in grades.items()
        }
    return ModelBlock(
        id=version.pk,
        name=version.name,
        predicted_levels=predicted_levels,
        compared_levels=counts.n,
        detectors=detectors,
        canal=canal,
        grades=grades,
        levels=per_level(counts),
        curves=training_curves(version.history),
        intervals_levels=previous.intervals_levels if lagging and previous else counts.n,
        intervals_basis=basis,
    )


def _after_new_gold(compute: Callable[..., ModelBlock], previous: ModelBlock) -> ModelBlock:
    return compute(previous=previous)  # the intervals may lag (INTERVALS_LAG)


def _keep_interval(now: Estimate, before: Estimate) -> Estimate:
    """Today's value with the interval drawn before (none where either is undefined)."""
    if now.value is None or before.low is None:
        return now
    return Estimate(now.value, before.low, before.high)


def _keep_kappa_intervals(
    now: MulticlassAgreement, before: MulticlassAgreement
) -> MulticlassAgreement:
    return replace(
        now,
        kappa=_keep_interval(now.kappa, before.kappa),
        weighted_kappa=_keep_interval(now.weighted_kappa, before.weighted_kappa),
    )


T = TypeVar("T")


class Memo(Protocol):
    """A part computed earlier from the same state of its sources, else ``compute()``;
    or, given ``update``, what it makes of the part computed from an earlier state."""

    def __call__(
        self,
        name: str,
        depends: tuple[str, ...],
        compute: Callable[[], T],
        update: Callable[[T], T] | None = None,
    ) -> T: ...


def no_memo(
    name: str,
    depends: tuple[str, ...],
    compute: Callable[[], T],
    update: Callable[[T], T] | None = None,
) -> T:
    return compute()


def fresh_gold_counts(sources: dict[str, str] | None = None) -> GoldCounts:
    """Counts against gold built from the tables (no cache to follow from)."""
    return GoldCounts.build(digests=sources or {name: "" for name in SOURCES})


def dashboard_data(
    *,
    model_version_ids: Sequence[int],
    reference: str,
    memo: Memo = no_memo,
    gold_counts: Callable[[], GoldCounts] = fresh_gold_counts,
) -> DashboardData:
    """Everything the dashboard shows for up to three model versions against one reference.

    ``memo`` may return a part computed earlier from the same state of its sources;
    ``gold_counts`` gives the comparisons with gold, up to date (gold_counts.py).
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}")
    gold = gold_counts()
    nlp_ref = (
        memo("nlp_reference", (NLP_LABELS, REPORTS), nlp_reference) if reference != GOLD else {}
    )
    versions = {v.pk: v for v in ModelVersion.objects.filter(pk__in=list(model_version_ids))}
    chosen = [versions[i] for i in model_version_ids if i in versions][:MAX_MODELS]

    def predictions(version: ModelVersion) -> Labels:
        return memo(
            f"predictions:{version.pk}",
            (PREDICTIONS,),
            lambda: latest_predictions(model_version_id=version.pk),
        )

    basis = (gold.digests[PREDICTIONS], gold.digests[MODELS], gold.digests[REPORTS])
    models = []
    for version in chosen:
        if reference == GOLD:
            counts = gold.models.get(version.pk) or gold.add_model(version.pk)
            compute = partial(
                _model_block, version, counts, gold.predicted_levels[version.pk], basis=basis
            )
            block = memo(
                f"block:{version.pk}:gold",
                (PREDICTIONS, MODELS, ANNOTATIONS, REPORTS),
                compute,
                partial(_after_new_gold, compute),
            )
        else:

            def against_nlp(version: ModelVersion = version) -> ModelBlock:
                predicted = predictions(version)
                return _model_block(version, counts_of(align(nlp_ref, predicted)), len(predicted))

            block = memo(
                f"block:{version.pk}:nlp", (PREDICTIONS, MODELS, NLP_LABELS, REPORTS), against_nlp
            )
        models.append(block)
    ids = [m.id for m in models]
    edits = memo(
        f"edits:{'-'.join(map(str, ids))}",
        (REPORT_VERSIONS, MODELS),
        lambda: edit_shares(model_version_ids=ids),
    )
    nlp_levels = (
        len(nlp_ref) if reference != GOLD else memo("nlp_levels", (NLP_LABELS,), _nlp_levels)
    )
    gold_levels = gold.gold_levels
    return DashboardData(
        reference=reference,
        reference_label=REFERENCES[reference],
        reference_name=REFERENCE_NAMES[reference],
        reference_levels=gold_levels if reference == GOLD else len(nlp_ref),
        models=models,
        nlp_vs_gold=field_agreement(gold.nlp_vs_gold) if gold.gold else [],
        inter_annotator=field_agreement(gold.inter),
        edits=edits,
        gold_levels=gold_levels,
        nlp_levels=nlp_levels,
    )


def _nlp_levels() -> int:
    """The study levels the NLP reference holds (nlp_reference() keys, counted by the database)."""
    version = current_version_id()
    if version is None:
        return 0
    return NlpLabel.objects.filter(labeller_id=version).values("level_id").distinct().count()
