"""Training curves from ModelVersion.history (inference/ml/training.py).

Each history record is one epoch of one stage ("segmentation", "canal", "foramen")
with train_loss / train_acc and, when a validation set existed, val_loss / val_acc.
Records without a loss (the "ap_calibration" note) are not curves and are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CURVE_KEYS: tuple[str, ...] = ("train_loss", "val_loss", "train_acc", "val_acc")


@dataclass(frozen=True)
class StageCurves:
    stage: str
    # key -> [(epoch, value)] in epoch order; only keys the history has.
    series: dict[str, list[tuple[int, float]]]

    def of(self, kind: str) -> dict[str, list[tuple[int, float]]]:
        """ "loss" or "acc" series."""
        return {k: v for k, v in self.series.items() if k.endswith(kind)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def training_curves(history: Iterable[Mapping[str, Any]] | None) -> list[StageCurves]:
    """Stages in the order training met them."""
    stages: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for record in history or []:
        if not isinstance(record, Mapping) or _number(record.get("train_loss")) is None:
            continue
        stage = str(record.get("stage", "model"))
        epoch = record.get("epoch")
        if not isinstance(epoch, int):
            continue
        series = stages.setdefault(stage, {})
        for key in CURVE_KEYS:
            value = _number(record.get(key))
            if value is not None:
                series.setdefault(key, []).append((epoch, value))
    return [
        StageCurves(stage=name, series={k: sorted(v) for k, v in series.items()})
        for name, series in stages.items()
    ]
