"""The study page's labels panel: what the labeller read from the report, and its evidence
highlighted in the report text (registered with ``studies.panels`` in LabelingConfig.ready)."""

from __future__ import annotations

from typing import Any

from labeling.evidence import highlighted_segments
from labeling.selectors import newest_nlp_labels
from studies.models import RadiologistReport, Study
from studies.panels import StudyPanel


def study_labels_context(study: Study, report: RadiologistReport | None) -> dict[str, Any]:
    if report is None:
        return {"nlp_labels": []}
    labels = newest_nlp_labels(report=report)
    return {"nlp_labels": labels, "report_segments": highlighted_segments(report.text, labels)}


PANEL = StudyPanel(
    name="labels", order=20, context=study_labels_context, template="labeling/_study_labels.html"
)
