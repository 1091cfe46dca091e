"""Model versions, predictions, NLP and gold labels and signed AI reports for dashboard tests."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta

from django.utils import timezone

from inference.models import InferenceJob, ModelVersion, Prediction
from labeling.models import Annotation, LabellerVersion, NlpLabel
from reports.models import Report, ReportVersion
from spine.labels import FIELDS, LEVELS, canal_class
from tests.factories import ReportFactory, StudyFactory, make_user

NORMAL = {
    "disc": "none",
    "canal_stenosis": "none",
    "left_foraminal": "none",
    "right_foraminal": "none",
    "left_subarticular": "none",
    "right_subarticular": "none",
    "uncertain": False,
}
_texts = itertools.count()
HISTORY = [
    {
        "stage": "segmentation",
        "epoch": 1,
        "train_loss": 0.9,
        "train_acc": 0.5,
        "val_loss": 1.0,
        "val_acc": 0.45,
    },
    {
        "stage": "segmentation",
        "epoch": 2,
        "train_loss": 0.5,
        "train_acc": 0.8,
        "val_loss": 0.6,
        "val_acc": 0.7,
    },
    {"stage": "ap_calibration", "epoch": 0, "a": 1.0, "b": 0.0},
    {"stage": "canal", "epoch": 1, "train_loss": 0.7, "train_acc": 0.6},
]


def levels_of(**levels: dict) -> dict[str, dict]:
    """Every level normal, except `L4_L5={"disc": "bulge"}` style overrides."""
    return {level: {**NORMAL, **levels.get(level.replace("-", "_"), {})} for level in LEVELS}


def model_version(name: str, history: list | None = None) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name,
        weights_dir=f"models/{name}",
        weight_files={},
        config={},
        data_split={},
        history=HISTORY if history is None else history,
        seed=0,
    )


def study_with_report():
    report = ReportFactory(study=StudyFactory(), text=f"FINDINGS: report {next(_texts)}.")
    return report.study, report


def predict(
    study, version: ModelVersion, labels: dict[str, dict], *, status: str = "done", age_s: int = 0
) -> InferenceJob:
    """A job of `version` on `study` with one prediction per level; `age_s` makes it older.
    A done job has its finish time, as the app sets it."""
    job = InferenceJob.objects.create(study=study, model_version=version, status=status)
    when = timezone.now() - timedelta(seconds=age_s)
    InferenceJob.objects.filter(pk=job.pk).update(
        created_at=when, finished_at=when if status == InferenceJob.Status.DONE else None
    )
    levels = dict(study.levels.values_list("level", "pk"))
    Prediction.objects.bulk_create(
        [
            Prediction(
                job=job,
                level_id=levels[level],
                model_version=version,
                disc=v["disc"],
                canal_stenosis=v["canal_stenosis"],
                left_foraminal=v["left_foraminal"],
                right_foraminal=v["right_foraminal"],
                canal_class=canal_class(v["disc"], v["canal_stenosis"]),
                probabilities={},
                centre_mm=[0.0, 0.0, 0.0],
            )
            for level, v in labels.items()
        ]
    )
    return job


def labeller(name: str = "rules-test") -> LabellerVersion:
    return LabellerVersion.objects.get_or_create(version=name)[0]


def nlp_label(report, labels: dict[str, dict], *, version: LabellerVersion | None = None) -> None:
    version = version or labeller()
    levels = dict(report.study.levels.values_list("level", "pk"))
    NlpLabel.objects.bulk_create(
        [
            NlpLabel(
                report=report,
                level_id=levels[level],
                labeller=version,
                confidence={f: 0.9 for f in FIELDS},
                min_confidence=0.9,
                evidence=[],
                **values,
            )
            for level, values in labels.items()
        ]
    )


def gold_label(report, labels: dict[str, dict], *, author=None) -> None:
    """One annotator's decisions on all five levels: gold, as nobody disagrees."""
    author = author or make_user("annotator")
    levels = dict(report.study.levels.values_list("level", "pk"))
    for level, values in labels.items():
        Annotation.objects.create(report=report, level_id=levels[level], author=author, **values)


def signed_ai_report(study, signer, *, edited: bool, job: InferenceJob | None = None) -> Report:
    """A generated version, optionally an edited one, and the last one signed."""
    report = Report.objects.create(study=study)
    text = {
        "findings": [{"level": "L4-L5", "text": "Disc bulge."}],
        "impression": "Disc bulge at L4-L5.",
    }
    last = ReportVersion.objects.create(
        report=report, number=1, origin="generated", source_job=job, **text
    )
    if edited:
        last = ReportVersion.objects.create(
            report=report,
            number=2,
            origin="edited",
            created_by=signer,
            based_on=last,
            findings=text["findings"],
            impression="Mild disc bulge at L4-L5.",
        )
    ReportVersion.objects.filter(pk=last.pk).update(
        status="final",
        signed_by=signer,
        signed_at=timezone.now(),
        content_sha256=hashlib.sha256(b"x").hexdigest(),
    )
    return report
