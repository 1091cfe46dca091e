"""Agreement statistics for the researchers' dashboard. Pure: no Django.

Inputs are label arrays; outputs are small frozen dataclasses holding each estimate
with its 95% confidence interval, and SVG markup for the charts.
"""

from reports.stats.agreement import (
    BINARY_METRICS,
    METRIC_LABELS,
    BinaryAgreement,
    Estimate,
    MulticlassAgreement,
    binary_agreement,
    multiclass_agreement,
    proportion,
    proportions,
)
from reports.stats.curves import StageCurves, training_curves
from reports.stats.detectors import (
    COMPARED_FIELDS,
    DETECTOR_LABELS,
    DETECTOR_ROWS,
    GRADE_SCALE,
    GRADED_COMPARED,
    GradeAgreement,
    LabelPairs,
    LevelCounts,
    canal_class_agreement,
    canal_classes,
    counts_of,
    detector_agreement,
    detector_samples,
    grade_agreement,
    per_level,
)

__all__ = [
    "BINARY_METRICS",
    "COMPARED_FIELDS",
    "DETECTOR_LABELS",
    "DETECTOR_ROWS",
    "GRADED_COMPARED",
    "GRADE_SCALE",
    "METRIC_LABELS",
    "BinaryAgreement",
    "Estimate",
    "GradeAgreement",
    "LabelPairs",
    "LevelCounts",
    "MulticlassAgreement",
    "StageCurves",
    "binary_agreement",
    "canal_class_agreement",
    "canal_classes",
    "counts_of",
    "detector_agreement",
    "detector_samples",
    "grade_agreement",
    "multiclass_agreement",
    "per_level",
    "proportion",
    "proportions",
    "training_curves",
]
