"""A seeded, vectorised bootstrap over confusion tables.

Resampling n (reference, prediction) pairs with replacement is the same as drawing the
cell counts of their confusion table from a multinomial with the observed cell shares,
so a resample costs K*K numbers instead of n. The statistic on each resampled table is
evaluated for all resamples at once: calling scikit-learn once per resample costs about
2 ms, which over 2,000 resamples and a dozen statistics per model would make a cold
dashboard wait a minute. ``kappa_of_tables`` and ``f1_of_tables`` follow scikit-learn's
definitions and the tests check them against ``cohen_kappa_score`` / ``f1_score`` on
random tables; the reported point estimates come from scikit-learn itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 2020
# Reported confidence intervals are 95% everywhere on the dashboard.
CONFIDENCE = 0.95


def weight_matrix(k: int, weights: str | None) -> np.ndarray:
    """Disagreement weights as scikit-learn's cohen_kappa_score uses them."""
    i, j = np.indices((k, k))
    if weights is None:
        return (i != j).astype(float)
    if weights == "linear":
        return np.abs(i - j).astype(float)
    if weights == "quadratic":
        return ((i - j) ** 2).astype(float)
    raise ValueError(f"unknown weights {weights!r}")


def resample_tables(table: np.ndarray, *, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, K, K) tables drawn as the pair bootstrap would draw them."""
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    if n == 0:
        return np.zeros((n_resamples, *table.shape), dtype=np.int64)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, table.ravel() / n, size=n_resamples)
    return draws.reshape(n_resamples, *table.shape)


def kappa_of_tables(tables: np.ndarray, weights: str | None = None) -> np.ndarray:
    """Cohen's kappa of each (K, K) table (rows reference, columns prediction); NaN if undefined."""
    tables = np.asarray(tables, dtype=float)
    k = tables.shape[-1]
    w = weight_matrix(k, weights)
    n = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[..., :, None] * cols[..., None, :] / n[..., None, None]
        observed_disagreement = (w * tables).sum(axis=(-2, -1))
        expected_disagreement = (w * expected).sum(axis=(-2, -1))
        kappa = 1 - observed_disagreement / expected_disagreement
    kappa[~np.isfinite(kappa)] = np.nan
    return kappa


def f1_of_tables(tables: np.ndarray) -> np.ndarray:
    """F1 of the positive class (index 1) of each 2x2 table; NaN where no positive exists."""
    tables = np.asarray(tables, dtype=float)
    tp, fp, fn = tables[..., 1, 1], tables[..., 0, 1], tables[..., 1, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = 2 * tp / (2 * tp + fp + fn)
    f1[~np.isfinite(f1)] = np.nan
    return f1


def percentile_interval(
    table: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic``; None when no resample defines it.

    Resamples where the statistic is undefined (e.g. no positives drawn) are left out,
    as scipy.stats.bootstrap would propagate them as NaN otherwise.
    """
    values = statistic(resample_tables(table, n_resamples=n_resamples, seed=seed))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
