"""Agreement of a prediction with a reference, with 95% confidence intervals.

Proportions (accuracy, sensitivity, specificity, PPV, NPV) have Wilson score intervals,
computed here in closed form (the tests hold them to statsmodels' proportion_confint, which
costs about 0.7 s of imports, pandas and scipy.stats, on a web process's first figure); F1 and Cohen's kappa (plain and weighted) are
computed on the confusion table, with seeded percentile-bootstrap intervals. An
undefined statistic (no reference positives, say) is None, never a crash or a 0.

The table formulas (reports/stats/bootstrap.py) are scikit-learn's definitions, and the
tests hold them to cohen_kappa_score and f1_score; calling scikit-learn itself costs
about 3 ms a call in input checks, and a recompute of the dashboard makes dozens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from statistics import NormalDist
from typing import Any

import numpy as np

from reports.stats.bootstrap import (
    CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    f1_of_tables,
    kappa_of_tables,
    percentile_interval,
)

BINARY_METRICS: tuple[str, ...] = (
    "accuracy",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "kappa",
)
METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1",
    "kappa": "Cohen's kappa",
    "weighted_kappa": "Weighted kappa",
}


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval; all None where undefined."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None

    @property
    def text(self) -> str:
        return "—" if self.value is None else f"{self.value:.3f}"

    @property
    def interval(self) -> str:
        """The 95% CI as "low–high", or "" when there is none."""
        if self.low is None or self.high is None:
            return ""
        return f"{self.low:.3f}–{self.high:.3f}"

    def __str__(self) -> str:
        if self.value is None:
            return "—"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} ({self.low:.3f} to {self.high:.3f})"


UNDEFINED = Estimate(None)


def _clean(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _wilson(
    counts: np.ndarray, nobs: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval bounds for counts / nobs (every nobs > 0)."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    share = counts / nobs
    shrink = 1 + z**2 / nobs
    centre = (share + z**2 / (2 * nobs)) / shrink
    half = z * np.sqrt(share * (1 - share) / nobs + z**2 / (4 * nobs**2)) / shrink
    return centre - half, centre + half


def proportion(count: int, nobs: int, *, confidence: float = CONFIDENCE) -> Estimate:
    """count / nobs with its Wilson score interval."""
    if nobs <= 0:
        return UNDEFINED
    low, high = _wilson(np.asarray(float(count)), np.asarray(float(nobs)), confidence)
    return Estimate(count / nobs, float(low), float(high))


def proportions(
    counts: np.ndarray, nobs: np.ndarray, *, confidence: float = CONFIDENCE
) -> list[Estimate]:
    """proportion() over arrays, in one vectorised computation."""
    counts, nobs = np.asarray(counts, dtype=float), np.asarray(nobs, dtype=float)
    defined = nobs > 0
    safe = np.where(defined, nobs, 1)
    low, high = _wilson(counts, safe, confidence)
    return [
        Estimate(float(c / m), float(lo), float(hi)) if ok else UNDEFINED
        for c, m, lo, hi, ok in zip(
            counts, safe, np.atleast_1d(low), np.atleast_1d(high), defined, strict=True
        )
    ]


@dataclass(frozen=True)
class BinaryAgreement:
    n: int
    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: Estimate
    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate
    f1: Estimate
    kappa: Estimate

    @property
    def positives(self) -> int:
        """Reference positives."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp

    @property
    def predicted_positives(self) -> int:
        return self.tp + self.fp

    def metric(self, name: str) -> Estimate:
        if name not in BINARY_METRICS:
            raise KeyError(name)
        return getattr(self, name)


def _as_bool(values: Sequence[bool] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=bool)


def confusion_table(reference: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """K x K counts of class indices 0..k-1: rows reference, columns prediction."""
    cells = reference.astype(np.int64) * k + predicted.astype(np.int64)
    return np.bincount(cells, minlength=k * k).reshape(k, k)


def _table_estimate(
    table: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    with_interval: bool,
    confidence: float,
    n_resamples: int,
    seed: int,
) -> Estimate:
    """A statistic of one confusion table, with its percentile-bootstrap interval where
    asked; UNDEFINED for an empty table or where the statistic is undefined."""
    value = _clean(float(statistic(table[None])[0])) if table.sum() else None
    if value is None:
        return UNDEFINED
    interval = (
        percentile_interval(
            table, statistic, confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        if with_interval
        else None
    )
    return Estimate(value, *(interval or (None, None)))


def binary_agreement(
    reference: Sequence[bool] | np.ndarray,
    predicted: Sequence[bool] | np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    with_bootstrap: bool = True,
) -> BinaryAgreement:
    """The paper's Table 2 row for one detector: reference positives are the truth."""
    ref, pred = _as_bool(reference), _as_bool(predicted)
    if ref.shape != pred.shape:
        raise ValueError(f"reference has {ref.size} samples, prediction {pred.size}")
    return binary_agreement_of_table(
        confusion_table(ref, pred, 2),
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        with_bootstrap=with_bootstrap,
    )


def binary_agreement_of_table(
    table: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    with_bootstrap: bool = True,
) -> BinaryAgreement:
    """binary_agreement() of a 2 x 2 table (rows reference absent/present, columns
    prediction absent/present): every figure is a function of the four counts."""
    table = np.asarray(table, dtype=np.int64)
    (tn, fp), (fn, tp) = (int(x) for x in table[0]), (int(x) for x in table[1])
    n = tn + fp + fn + tp
    boot: dict[str, Any] = {
        "with_interval": with_bootstrap,
        "confidence": confidence,
        "n_resamples": n_resamples,
    }
    f1 = _table_estimate(table, f1_of_tables, seed=seed, **boot)
    kappa = _table_estimate(table, kappa_of_tables, seed=seed + 1, **boot)
    return BinaryAgreement(
        n=n,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        accuracy=proportion(tp + tn, n, confidence=confidence),
        sensitivity=proportion(tp, tp + fn, confidence=confidence),
        specificity=proportion(tn, tn + fp, confidence=confidence),
        ppv=proportion(tp, tp + fp, confidence=confidence),
        npv=proportion(tn, tn + fn, confidence=confidence),
        f1=f1,
        kappa=kappa,
    )


@dataclass(frozen=True)
class MulticlassAgreement:
    """A K x K confusion matrix (rows reference, columns prediction) and weighted kappa."""

    labels: tuple[int | str, ...]  # ordinal classes (canal class) or grade names
    matrix: tuple[tuple[int, ...], ...]
    n: int
    accuracy: Estimate
    kappa: Estimate
    weighted_kappa: Estimate
    weights: str

    @property
    def max_cell(self) -> int:
        return max((max(row) for row in self.matrix), default=0)


def multiclass_agreement(
    reference: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    *,
    labels: Sequence[int | str],
    weights: str = "linear",
    confidence: float = CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    plain_interval: bool = True,
) -> MulticlassAgreement:
    """Ordinal classes such as canal_class: unweighted and weighted Cohen's kappa (the
    unweighted one without its bootstrap interval where ``plain_interval`` is False)."""
    ref, pred = np.asarray(reference), np.asarray(predicted)
    if ref.shape != pred.shape:
        raise ValueError(f"reference has {ref.size} samples, prediction {pred.size}")
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    try:
        table = confusion_table(
            np.array([index[x] for x in ref.tolist()], dtype=np.int64),
            np.array([index[x] for x in pred.tolist()], dtype=np.int64),
            len(labels),
        )
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not one of the labels {labels}") from None
    return multiclass_agreement_of_table(
        table,
        labels=labels,
        weights=weights,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        plain_interval=plain_interval,
    )


def multiclass_agreement_of_table(
    table: np.ndarray,
    *,
    labels: Sequence[int | str],
    weights: str = "linear",
    confidence: float = CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    plain_interval: bool = True,
    with_bootstrap: bool = True,
) -> MulticlassAgreement:
    """multiclass_agreement() of a K x K table (rows reference, columns prediction, in
    ``labels`` order); without ``with_bootstrap``, the kappas have no intervals."""
    table = np.asarray(table, dtype=np.int64)
    if table.shape != (len(labels), len(labels)):
        raise ValueError(f"a {table.shape} table for {len(labels)} labels")
    n = int(table.sum())
    boot: dict[str, Any] = {"confidence": confidence, "n_resamples": n_resamples}
    kappa = _table_estimate(
        table,
        kappa_of_tables,
        with_interval=plain_interval and with_bootstrap,
        seed=seed,
        **boot,
    )
    weighted = _table_estimate(
        table,
        partial(kappa_of_tables, weights=weights),
        with_interval=with_bootstrap,
        seed=seed + 1,
        **boot,
    )
    return MulticlassAgreement(
        labels=tuple(labels),
        matrix=tuple(tuple(int(x) for x in row) for row in table),
        n=n,
        accuracy=proportion(int(np.trace(table)), n, confidence=confidence),
        kappa=kappa,
        weighted_kappa=weighted,
        weights=weights,
    )
