"""Active learning: the curation queue can show first where the image models contradict
the NLP labels most; scores follow new predictions and new labels."""

from __future__ import annotations

import pytest
from django.utils import timezone

from inference.models import InferenceJob, ModelVersion, Prediction
from inference.signals import inference_job_done
from labeling.curation.model_disagreement import disagreement
from labeling.curation.queue import QueueFilters, next_report_id, queue_report_ids
from labeling.curation.services import refresh_model_disagreement
from labeling.models import ModelDisagreement
from tests.labeling.curation_helpers import NORMAL, labelled_report

pytestmark = pytest.mark.django_db

AGREE = {
    "bulging": 0.1,
    "herniation": 0.05,
    "canal_stenosis": 0.1,
    "foraminal_stenosis_left": 0.1,
    "foraminal_stenosis_right": 0.2,
}


def test_score_counts_how_far_each_probability_is_from_the_label():
    herniated = {**NORMAL, "disc": "herniation", "right_foraminal": "mild"}
    score, detectors = disagreement(herniated, AGREE)
    # herniation 1-0.05, right foramen 1-0.2, others their probabilities.
    assert score == pytest.approx(0.1 + 0.95 + 0.1 + 0.1 + 0.8)
    assert detectors == ["herniation", "foraminal_stenosis_right"]
    assert disagreement(NORMAL, AGREE) == (pytest.approx(0.55), [])
    assert disagreement(NORMAL, {}) == (0.0, [])


def _predict(
    report, probabilities_by_level: dict[str, dict], *, finished_minutes_ago: int = 0
) -> InferenceJob:
    version, _ = ModelVersion.objects.get_or_create(
        name="tiny",
        defaults={
            "weights_dir": "x",
            "weight_files": {},
            "config": {},
            "data_split": {},
            "seed": 1,
        },
    )
    job = InferenceJob.objects.create(
        study=report.study,
        model_version=version,
        status="done",
        finished_at=timezone.now() - timezone.timedelta(minutes=finished_minutes_ago),
    )
    Prediction.objects.bulk_create(
        Prediction(
            job=job,
            level=level,
            model_version=version,
            disc="none",
            canal_stenosis="none",
            left_foraminal="none",
            right_foraminal="none",
            canal_class=0,
            probabilities=probabilities_by_level.get(level.level, AGREE),
            centre_mm=[0, 0, 0],
        )
        for level in report.study.levels.all()
    )
    return job


def test_the_disagreement_order_puts_contradicted_reports_first_then_falls_back(
    settings, annotator
):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0
    unsure_agreed = labelled_report(confidence=0.3)
    sure_contradicted = labelled_report(confidence=0.95)
    slightly = labelled_report(confidence=0.9)
    unread = labelled_report(confidence=0.5)
    _predict(unsure_agreed, {})
    _predict(sure_contradicted, {"L4-L5": {**AGREE, "herniation": 0.97}})
    _predict(slightly, {"L1-L2": {**AGREE, "canal_stenosis": 0.6}})
    assert (
        refresh_model_disagreement(
            study_ids=[r.study_id for r in (unsure_agreed, sure_contradicted, slightly)]
        )
        == 15
    )
    queue = QueueFilters(order="disagreement")
    assert queue_report_ids(user=annotator, filters=queue) == [
        sure_contradicted.pk,
        slightly.pk,
        unsure_agreed.pk,
        unread.pk,
    ]
    assert next_report_id(user=annotator, filters=queue) == sure_contradicted.pk
    # Uncertainty order is unchanged by the scores.
    assert queue_report_ids(user=annotator, filters=QueueFilters())[0] == unsure_agreed.pk
    assert ModelDisagreement.objects.get(
        nlp_label__report=sure_contradicted, nlp_label__level__level="L4-L5"
    ).detectors == ["herniation"]


def test_the_newest_finished_job_sets_the_score_and_the_signal_refreshes_it(
    settings, annotator, eager_celery
):
    report = labelled_report()
    _predict(report, {"L3-L4": {**AGREE, "bulging": 0.9}}, finished_minutes_ago=10)
    newer = _predict(report, {})
    inference_job_done.send(sender=InferenceJob, job_id=newer.pk)
    scores = ModelDisagreement.objects.filter(nlp_label__report=report)
    assert scores.count() == 5
    assert all(s.prediction.job_id == newer.pk and s.detectors == [] for s in scores)


def test_new_nlp_labels_on_a_read_study_are_scored_when_written(settings, annotator):
    from labeling.services import current_labeller, label_reports

    report = labelled_report(text="FINDINGS:\nL4-5: Large disc herniation.\n")
    _predict(report, {})
    labeller, version = current_labeller()
    label_reports(reports=[report], labeller=labeller, version=version)
    scored = ModelDisagreement.objects.filter(
        nlp_label__labeller=version, nlp_label__level__level="L4-L5"
    ).get()
    assert scored.detectors == ["herniation"]
