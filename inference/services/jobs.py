"""Inference jobs: one per study and model version, run by a Celery task, stored all at once."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inference import selectors
from inference.models import InferenceJob, ModelVersion, Prediction
from studies.models import DiscLevel, Study

log = logging.getLogger(__name__)


class NoModel(RuntimeError):
    """No trained model version exists yet."""


def require_model() -> ModelVersion:
    version = selectors.latest_model_version()
    if version is None:
        raise NoModel("no trained image model: run `python manage.py train_models` first")
    return version


@lru_cache(maxsize=2)
def _loaded(weights_dir: str):
    from inference.ml.pipeline import load_models

    return load_models(Path(settings.MEDIA_ROOT) / weights_dir)


@transaction.atomic
def request_inference(
    *, study: Study, user=None, model_version: ModelVersion | None = None, queue: str | None = None
) -> InferenceJob:
    """Queue a job for the study; `queue` lets GPU work go to its own workers."""
    version = model_version or require_model()
    job = InferenceJob.objects.create(study=study, model_version=version, requested_by=user)
    from inference.tasks import run_inference_job_task

    transaction.on_commit(lambda: run_inference_job_task.apply_async((job.pk,), queue=queue))
    return job


# Progress shown while each stage runs (the percentage reached when it starts).
STAGE_PROGRESS = {"segment": 20, "localise": 55, "measure": 65, "classify": 75}


def _mark(job_id: int, **fields) -> None:
    InferenceJob.objects.filter(pk=job_id).update(**fields)


def execute_inference_job(*, job_id: int) -> InferenceJob:
    """Run the pipeline for one study and store its five predictions in one transaction.

    Safe to repeat: a retried job replaces whatever an earlier attempt stored, so a
    worker killed mid-job leaves either nothing or a complete set.
    """
    from inference.ml.pipeline import LevelAssignmentError, run_study
    from inference.ml.volume import load_series

    job = InferenceJob.objects.select_related("study", "model_version").get(pk=job_id)
    if job.status == InferenceJob.Status.DONE:
        return job
    _mark(job.pk, status=InferenceJob.Status.RUNNING, stage="load", progress=5, attempts=job.attempts + 1, error="")
    chosen = selectors.study_series(job.study)
    if chosen["sag_t2"] is None:
        _mark(job.pk, status=InferenceJob.Status.FAILED, error="the study has no sagittal T2 series",
              finished_at=timezone.now())
        return InferenceJob.objects.get(pk=job.pk)
    started = time.perf_counter()
    models = _loaded(job.model_version.weights_dir)
    sag_t2 = load_series(selectors.series_files(chosen["sag_t2"]))
    sag_t1 = load_series(selectors.series_files(chosen["sag_t1"])) if chosen["sag_t1"] else None
    axials = [load_series(selectors.series_files(s)) for s in chosen["axials"]]
    try:
        prediction = run_study(
            models, sag_t2, sag_t1, axials,
            on_stage=lambda stage: _mark(job.pk, stage=stage, progress=STAGE_PROGRESS[stage]),
        )
    except LevelAssignmentError as exc:
        _mark(job.pk, status=InferenceJob.Status.FAILED, error=f"cannot assign disc levels: {exc}",
              finished_at=timezone.now(), progress=100)
        return InferenceJob.objects.get(pk=job.pk)
    _mark(job.pk, stage="store", progress=90)
    levels = dict(DiscLevel.objects.filter(study=job.study).values_list("level", "pk"))
    timings = dict(prediction.timings_s)
    store_started = time.perf_counter()
    with transaction.atomic():
        Prediction.objects.filter(job=job).delete()
        Prediction.objects.bulk_create(
            [
                Prediction(
                    job=job,
                    level_id=levels[lp.level],
                    model_version=job.model_version,
                    disc=lp.disc,
                    canal_stenosis=lp.canal_stenosis,
                    left_foraminal=lp.left_foraminal,
                    right_foraminal=lp.right_foraminal,
                    canal_class=lp.canal_class,
                    probabilities=lp.probabilities,
                    ap_diameter_mm=lp.ap_diameter_mm if lp.ap_diameter_mm and lp.ap_diameter_mm > 0 else None,
                    best_slice=lp.best_slice,
                    centre_mm=[float(v) for v in lp.disc_centre_mm],
                )
                for lp in prediction.levels
            ]
        )
        timings["store"] = round(time.perf_counter() - store_started, 4)
        timings["wall"] = round(time.perf_counter() - started, 4)
        _mark(job.pk, status=InferenceJob.Status.DONE, stage="", progress=100, stage_seconds=timings,
              finished_at=timezone.now())
    return InferenceJob.objects.get(pk=job.pk)
