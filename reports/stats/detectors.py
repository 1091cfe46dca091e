"""From aligned label pairs to the paper's detectors, canal classes and levels.

A sample is one study x disc level seen by both the model and the reference. The
detectors are spine.findings.AGREEMENT_DETECTORS: foraminal stenosis is one sample per
side, reported per side and with both sides pooled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reports.stats.agreement import (
    BinaryAgreement,
    Estimate,
    MulticlassAgreement,
    binary_agreement_of_table,
    multiclass_agreement_of_table,
    proportions,
)
from reports.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from reports.stats.tables import AgreementCounts, canal_classes, presence_tables
from spine.findings import AGREEMENT_DETECTORS
from spine.labels import CANAL_CLASSES, GRADES, LEVELS

# The label fields a model predicts, and so the ones compared.
COMPARED_FIELDS: tuple[str, ...] = ("disc", "canal_stenosis", "left_foraminal", "right_foraminal")

# (key, label) of each detector's row, in the paper's order.
DETECTOR_ROWS: tuple[tuple[str, str], ...] = tuple(
    (finding.key, finding.long_label) for finding in AGREEMENT_DETECTORS
)
DETECTOR_LABELS: dict[str, str] = dict(DETECTOR_ROWS)


@dataclass(frozen=True)
class LabelPairs:
    """Column arrays of one comparison: ``levels[i]`` with reference and predicted fields."""

    levels: np.ndarray
    reference: Mapping[str, np.ndarray]
    predicted: Mapping[str, np.ndarray]
    keys: tuple = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Fixed-width strings compare in C; object arrays compare one Python str at a time.
        n = len(self.levels)
        object.__setattr__(self, "levels", np.asarray(self.levels, dtype=str).reshape(n))
        for side in ("reference", "predicted"):
            fields = getattr(self, side)
            for name in COMPARED_FIELDS:
                if len(fields[name]) != n:
                    raise ValueError(f"{name} has {len(fields[name])} values for {n} levels")
            object.__setattr__(
                self,
                side,
                {name: np.asarray(fields[name], dtype=str).reshape(n) for name in COMPARED_FIELDS},
            )

    def __len__(self) -> int:
        return len(self.levels)

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[str, Mapping, Mapping]], keys: Sequence = ()
    ) -> LabelPairs:
        """Rows of (level, reference fields, predicted fields)."""
        return cls(
            levels=np.array([r[0] for r in rows], dtype=str),
            reference={f: np.array([r[1][f] for r in rows], dtype=str) for f in COMPARED_FIELDS},
            predicted={f: np.array([r[2][f] for r in rows], dtype=str) for f in COMPARED_FIELDS},
            keys=tuple(keys),
        )


def detector_samples(
    fields: Mapping[str, np.ndarray], levels: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """detector -> (boolean samples, the level of each sample)."""
    out = {}
    for finding in AGREEMENT_DETECTORS:
        present = [np.isin(fields[name], sorted(finding.present_values)) for name in finding.fields]
        out[finding.key] = (np.concatenate(present), np.concatenate([levels] * len(present)))
    return out


def counts_of(comparison: LabelPairs | AgreementCounts) -> AgreementCounts:
    """The confusion counts of a comparison given as aligned pairs or as counts already."""
    if isinstance(comparison, AgreementCounts):
        return comparison
    return AgreementCounts.of_columns(
        comparison.levels, comparison.reference, comparison.predicted, COMPARED_FIELDS
    )


def _presence(counts: AgreementCounts) -> dict[str, np.ndarray]:
    """detector -> (level, reference present, predicted present) counts."""
    return {
        finding.key: presence_tables(
            counts, {name: finding.present_values for name in finding.fields}
        )
        for finding in AGREEMENT_DETECTORS
    }


def detector_agreement(
    comparison: LabelPairs | AgreementCounts,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    with_bootstrap: bool = True,
) -> dict[str, BinaryAgreement]:
    """Table 2: one row per detector."""
    tables = _presence(counts_of(comparison))
    return {
        key: binary_agreement_of_table(
            tables[key].sum(axis=0),
            n_resamples=n_resamples,
            seed=seed + 10 * i,
            with_bootstrap=with_bootstrap,
        )
        for i, (key, _) in enumerate(DETECTOR_ROWS)
    }


# Graded fields on their ordinal scale; "unspecified" (present, grade not stated) has no
# place on it, so a level where either side says so is left out of that field's table.
GRADE_SCALE: tuple[str, ...] = ("none", "mild", "moderate", "severe")
GRADED_COMPARED: tuple[str, ...] = ("canal_stenosis", "left_foraminal", "right_foraminal")


@dataclass(frozen=True)
class GradeAgreement:
    """One graded field on the ordinal scale, and what could not be placed on it."""

    agreement: MulticlassAgreement
    left_out: int  # levels where either side says "unspecified"
    model_grades: bool  # False: the model only says present ("unspecified") or absent


def grade_agreement(
    comparison: LabelPairs | AgreementCounts,
    *,
    weights: str = "linear",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    with_bootstrap: bool = True,
) -> dict[str, GradeAgreement]:
    """Per graded field: the grade confusion matrix and weighted kappa (a model that calls
    moderate stenosis mild is closer than one that calls it absent)."""
    counts = counts_of(comparison)
    on_scale = [GRADES.index(grade) for grade in GRADE_SCALE]
    stated = [GRADES.index(grade) for grade in GRADE_SCALE[1:]]
    out = {}
    for i, name in enumerate(GRADED_COMPARED):
        table = counts.tables[name].sum(axis=0)  # (reference, predicted) in GRADES order
        graded = table[np.ix_(on_scale, on_scale)]
        agreement = multiclass_agreement_of_table(
            graded,
            labels=GRADE_SCALE,
            weights=weights,
            n_resamples=n_resamples,
            seed=seed + 100 + i,
            plain_interval=False,  # the dashboard shows the weighted one for grades
            with_bootstrap=with_bootstrap,
        )
        predicted = table.sum(axis=0)
        model_grades = bool(
            predicted[stated].sum() > 0 or predicted[GRADES.index("unspecified")] == 0
        )
        out[name] = GradeAgreement(agreement, int(table.sum() - graded.sum()), model_grades)
    return out


def canal_class_agreement(
    comparison: LabelPairs | AgreementCounts,
    *,
    weights: str = "linear",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    with_bootstrap: bool = True,
) -> MulticlassAgreement:
    counts = counts_of(comparison)
    if counts.canal is None:
        raise ValueError("canal classes need both disc and canal_stenosis")
    return multiclass_agreement_of_table(
        counts.canal.sum(axis=0),
        labels=CANAL_CLASSES,
        weights=weights,
        n_resamples=n_resamples,
        seed=seed,
        with_bootstrap=with_bootstrap,
    )


@dataclass(frozen=True)
class LevelCounts:
    """One detector at one disc level: the paper's Figure 2 counts and how the model did."""

    level: str
    positives: int
    negatives: int
    predicted_positives: int
    tp: int
    tn: int
    accuracy: Estimate
    sensitivity: Estimate
    specificity: Estimate


def per_level(comparison: LabelPairs | AgreementCounts) -> dict[str, list[LevelCounts]]:
    """detector -> one LevelCounts per disc level, in LEVELS order."""
    tables = _presence(counts_of(comparison))
    out: dict[str, list[LevelCounts]] = {}
    for key, _ in DETECTOR_ROWS:
        table = tables[key]  # (level, reference present, predicted present)
        n = table.sum(axis=(1, 2))
        positives = table[:, 1, :].sum(axis=1)
        predicted = table[:, :, 1].sum(axis=1)
        tp, tn = table[:, 1, 1], table[:, 0, 0]
        accuracy = proportions(tp + tn, n)
        sensitivity = proportions(tp, positives)
        specificity = proportions(tn, n - positives)
        out[key] = [
            LevelCounts(
                level=level,
                positives=int(positives[i]),
                negatives=int(n[i] - positives[i]),
                predicted_positives=int(predicted[i]),
                tp=int(tp[i]),
                tn=int(tn[i]),
                accuracy=accuracy[i],
                sensitivity=sensitivity[i],
                specificity=specificity[i],
            )
            for i, level in enumerate(LEVELS)
        ]
    return out


__all__ = [
    "COMPARED_FIELDS",
    "DETECTOR_LABELS",
    "DETECTOR_ROWS",
    "GRADED_COMPARED",
    "GRADE_SCALE",
    "GradeAgreement",
    "LabelPairs",
    "LevelCounts",
    "canal_class_agreement",
    "canal_classes",
    "counts_of",
    "detector_agreement",
    "detector_samples",
    "grade_agreement",
    "per_level",
]
