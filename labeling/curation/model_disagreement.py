"""Model-vs-NLP disagreement on one level: the active-learning order of the curation queue.

Pure Python. The score adds, per detector, how far the model's probability is from the
NLP label's 0/1 answer, so a confident contradiction counts more than a hesitant one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spine.findings import DETECTORS


def disagreement(
    nlp_label: Mapping[str, Any], probabilities: Mapping[str, float]
) -> tuple[float, list[str]]:
    """(score 0..5, detectors on which model and NLP disagree at the 0.5 threshold)."""
    score = 0.0
    disagreeing = []
    for finding in DETECTORS:
        detector = finding.key
        if detector not in probabilities:
            continue
        probability = min(max(float(probabilities[detector]), 0.0), 1.0)
        target = 1.0 if finding.present(nlp_label) else 0.0
        score += abs(probability - target)
        if (probability >= 0.5) != bool(target):
            disagreeing.append(detector)
    return round(score, 4), disagreeing
