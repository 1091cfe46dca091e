"""Reads for image models: which job is a study's newest finished one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inference.models import InferenceJob, ModelVersion
from inference.selectors import newest_done_job
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db
DONE, RUNNING, FAILED = (
    InferenceJob.Status.DONE,
    InferenceJob.Status.RUNNING,
    InferenceJob.Status.FAILED,
)


def test_the_newest_done_job_is_the_newest_created_finished_job_of_the_study():
    study, elsewhere = StudyFactory(), StudyFactory()
    version = ModelVersion.objects.create(
        name="m", weights_dir="x", weight_files={}, config={}, data_split={}, seed=0
    )
    now = timezone.now()

    def job(status, *, age_h: float, finished_h: float | None = None, on=study) -> InferenceJob:
        made = InferenceJob.objects.create(study=on, model_version=version, status=status)
        finished = now - timedelta(hours=finished_h) if finished_h is not None else None
        InferenceJob.objects.filter(pk=made.pk).update(
            created_at=now - timedelta(hours=age_h), finished_at=finished
        )
        return made

    assert newest_done_job(study) is None
    job(DONE, age_h=3, finished_h=0)  # created first, though it finished last
    newer = job(DONE, age_h=2, finished_h=1)
    job(FAILED, age_h=1)
    job(RUNNING, age_h=0)
    job(DONE, age_h=0, finished_h=0, on=elsewhere)
    assert newest_done_job(study) == newer
    same_time = job(DONE, age_h=2, finished_h=1)  # created at the same instant: the later id
    found = newest_done_job(study)
    assert found == same_time
    assert found.model_version.name == "m"
