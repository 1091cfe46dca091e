"""Model-vs-NLP disagreement on one level: the active-learning order of the curation queue.

Pure Python. The score adds, per detector, how far the model's probability is from the
NLP label's 0/1 answer, so a confident contradiction counts more than a hesitant one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Detector name in the model's probabilities -> whether an NLP label says it is present.
DETECTOR_TARGETS: Mapping[str, Any] = {
    "bulging": lambda label: label["disc"] == "bulge",
    "herniation": lambda label: label["disc"] == "herniation",
    "canal_stenosis": lambda label: label["canal_stenosis"] != "none",
    "foraminal_stenosis_left": lambda label: label["left_foraminal"] != "none",
    "foraminal_stenosis_right": lambda label: label["right_foraminal"] != "none",
}


def disagreement(nlp_label: Mapping[str, Any], probabilities: Mapping[str, float]) -> tuple[float, list[str]]:
    """(score 0..5, detectors on which model and NLP disagree at the 0.5 threshold)."""
    score = 0.0
    disagreeing = []
    for detector, present in DETECTOR_TARGETS.items():
        if detector not in probabilities:
            continue
        probability = min(max(float(probabilities[detector]), 0.0), 1.0)
        target = 1.0 if present(nlp_label) else 0.0
        score += abs(probability - target)
        if (probability >= 0.5) != bool(target):
            disagreeing.append(detector)
    return round(score, 4), disagreeing
