"""Reports with NLP proposals for the curation tests."""

from __future__ import annotations

from labeling.models import LabellerVersion, NlpLabel
from spine.labels import FIELDS, LEVELS
from tests.factories import ReportFactory, StudyFactory

NORMAL = {
    "disc": "none",
    "canal_stenosis": "none",
    "left_foraminal": "none",
    "right_foraminal": "none",
    "left_subarticular": "none",
    "right_subarticular": "none",
    "uncertain": False,
}
TEXT = "FINDINGS:\nL4-5: Broad-based disc bulge with mild canal stenosis.\nThe remaining levels are normal."


def version(name: str = "rules-test") -> LabellerVersion:
    return LabellerVersion.objects.get_or_create(version=name)[0]


def labelled_report(*, confidence: float = 0.9, site: str = "SITE-A", text: str = TEXT, **levels):
    """A report with one NLP label per level: `L4_L5={"disc": "bulge"}` overrides a level."""
    report = ReportFactory(study=StudyFactory(site=site), text=text, text_sha256=str(id(text)))
    labeller = version()
    for level in report.study.levels.all():
        values = {**NORMAL, **levels.get(level.level.replace("-", "_"), {})}
        evidence = [{"start": 10, "end": 40, "field": "disc"}] if values["disc"] != "none" else []
        NlpLabel.objects.create(
            report=report,
            level=level,
            labeller=labeller,
            confidence={f: confidence for f in FIELDS},
            min_confidence=confidence,
            evidence=evidence,
            **values,
        )
    return report


def decisions(**levels) -> dict[str, dict]:
    return {level: {**NORMAL, **levels.get(level.replace("-", "_"), {})} for level in LEVELS}


def form(report_id: int, token: int, **levels) -> dict[str, str]:
    data = {"report": str(report_id), "token": str(token), "seconds_spent": "12.5"}
    for level, values in decisions(**levels).items():
        for name, value in values.items():
            data[f"{level}__{name}"] = (
                ("true" if value else "false") if name == "uncertain" else value
            )
    return data
