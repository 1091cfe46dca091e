"""How raw MR intensities become network input: numbers a model bundle records.

MR intensities have no physical unit: scanners and coils differ in gain. Each image
(a sagittal slice for the segmentation network, a whole series for the classifiers'
crops) is scaled so that two of its percentiles map to 0 and 1 (percentiles, not
min/max, ignore a few hot pixels), and the result is clipped, so a bright artefact
cannot dominate. A network only reads images well when they are scaled as in its
training, so the numbers are part of the model's config (``ModelConfig.preprocessing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntensityScaling:
    percentiles: tuple[float, float] = (1.0, 99.5)  # these map to 0 and 1
    clip: tuple[float, float] = (-0.5, 2.0)  # scaled values are clipped to this range

    def to_json(self) -> dict[str, list[float]]:
        return {"intensity_percentiles": list(self.percentiles), "intensity_clip": list(self.clip)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IntensityScaling:
        """Inverse of :meth:`to_json`. A key that is missing takes the default: bundles
        saved before the numbers were recorded described them in words, and were
        trained with the defaults."""
        default = cls()
        return cls(
            percentiles=_pair(data.get("intensity_percentiles", default.percentiles)),
            clip=_pair(data.get("intensity_clip", default.clip)),
        )


def _pair(values: Any) -> tuple[float, float]:
    low, high = (float(v) for v in values)
    return low, high


# The scaling of every model trained so far, and the default of a new one.
DEFAULT_INTENSITY = IntensityScaling()
