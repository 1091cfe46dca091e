"""Inference jobs: one per study and model version, run stage by stage, stored all at once.

The stages (segment, localise, measure, classify, store) are described once, in
``inference.stages.STAGES`` (order, progress, whether each runs a network); each stage's
runner here is the function ``_<name>``. They run as a chain of Celery tasks generated from that table
(inference/tasks.py; :func:`inference.dispatch.request_inference` queues it) or, for
the command line and the embedded mode, one after the other in this process
(:func:`execute_inference_job`); both call :func:`run_stage`. This module never
imports the tasks: they import it.

Each stage reads the previous stage's output from the job's folder
(``selectors.job_dir``) and writes its own with an atomic rename, so a stage can be
repeated (a retry, or a message redelivered after a worker died) and overwrites the
same file. The store stage replaces the job's predictions in one transaction: a job
has a prediction for every level it assessed, or none.

Partial results: the localiser may name only some of the five levels (e.g. the top
disc is outside the field of view). Only the named levels get a prediction; each other
level is recorded on the job (``InferenceJob.not_assessed``: level -> reason) and gets
no label at all. When not even one level can be named, the whole study is refused: the
job fails in the localise stage with the reason and stores no prediction. A canal AP
diameter outside the physiological range is stored as "not measured" (null) with the
reason (``Prediction.ap_note``).

Files in the job folder (inputs -> output):
  segment:  sagittal T2 series -> ``sag_t2_classes.npz`` (classes, instance_numbers,
            positions, series_id, series_uid; kept, the review page overlays it),
            ``canal_prob.npz``, the naming check's ``naming_check_classes.npz`` and,
            where the kept mask is a weighed disc outline, the unweighed
            ``naming_classes.npz`` (the last three deleted once the job is done)
  localise: classes -> ``discs.json`` (``LevelAssessment.to_json()``: disc locations
            of the named levels, a confidence each, the reason for each other level)
  measure:  canal probability + discs -> ``ap_mm.json`` (``Measurements.to_json()``:
            AP per level, 0.0 where not measured, and why not)
  classify: series + discs + AP -> ``prediction.json`` (a prediction per named level,
            with its confidence and AP note, and ``not_assessed``)
  store:    prediction.json -> Prediction rows and the job's ``not_assessed``
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache, partial
from pathlib import Path
from typing import NoReturn

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference import selectors
from inference.ml.artefacts import load_json, save_json_atomic, save_npz_atomic
from inference.models import InferenceJob, ModelVersion, Prediction
from inference.signals import inference_job_done, inference_job_refused
from inference.stages import STAGE_BY_NAME, STAGE_NAMES
from radbot_web.tasks import NotQueued, gave_up_reason, max_attempts, stale_work
from spine.labels import LEVELS
from studies.models import DiscLevel, Series, Study
from studies.storage import media_path

log = logging.getLogger(__name__)


CANAL_FILE = "canal_prob.npz"
# The second reading's classes (pipeline.segment), for the localise stage's naming check.
NAMING_CHECK_FILE = "naming_check_classes.npz"
# The unweighed classes the levels are named on, where the kept mask is a model's weighed
# disc outline (pipeline.Segmentation.naming_classes); absent: named on the kept mask.
NAMING_FILE = "naming_classes.npz"
DISCS_FILE = "discs.json"
AP_FILE = "ap_mm.json"
PREDICTION_FILE = "prediction.json"
ACTIVE = (InferenceJob.Status.QUEUED, InferenceJob.Status.RUNNING)
# A job refused whole (no level can be named) fails with this and the localiser's reason.
REFUSED_PREFIX = "cannot assign disc levels: "


class InferenceRefused(RuntimeError):
    """A job cannot be queued now; the message says why (shown to users)."""


class NoModel(InferenceRefused):
    """No trained model version exists yet."""


class JobNotQueued(InferenceRefused, NotQueued):
    """The broker could not be reached: the job is failed with the reason, never left queued."""


class JobActive(InferenceRefused):
    """A job for the study is already queued or running (one at a time, review #26)."""

    def __init__(self, job: InferenceJob):
        self.job = job
        super().__init__(
            f"AI job #{job.pk} for this study is still {job.status}; wait for it to finish before running the AI again."
        )


class StageFailed(RuntimeError):
    """A stage cannot succeed however often it runs; the message is shown to users."""


def require_model() -> ModelVersion:
    version = selectors.latest_model_version()
    if version is None:
        raise NoModel("no trained image model: run `python manage.py train_models` first")
    return version


@transaction.atomic
def create_inference_job(
    *, study: Study, user=None, model_version: ModelVersion | None = None
) -> InferenceJob:
    """A queued job for the study, not yet published to the broker
    (:func:`inference.dispatch.request_inference` does both).

    Raises :class:`JobActive` while another job for the study is queued or running (a
    stale one is failed first), :class:`NoModel` when nothing is trained.
    """
    version = model_version or require_model()
    reap_stale_jobs(study=study)
    # The study row lock makes concurrent requests for one study wait for each other;
    # the partial unique constraint job_one_active_per_study is the backstop.
    list(Study.objects.select_for_update().filter(pk=study.pk).values_list("pk", flat=True))
    active = InferenceJob.objects.filter(study=study, status__in=ACTIVE).first()
    if active is not None:
        raise JobActive(active)
    try:
        with transaction.atomic():
            job = InferenceJob.objects.create(study=study, model_version=version, requested_by=user)
    except IntegrityError:
        active = InferenceJob.objects.filter(study=study, status__in=ACTIVE).first()
        if active is None:
            raise
        raise JobActive(active) from None
    return job


def execute_inference_job(*, job_id: int) -> InferenceJob:
    """Every stage of the job in this process (command line, embedded mode).

    A done job is returned as it is; a failed one is run again from the start.
    """
    job = InferenceJob.objects.get(pk=job_id)
    if job.status == InferenceJob.Status.DONE:
        return job
    if job.status == InferenceJob.Status.FAILED:
        InferenceJob.objects.filter(pk=job_id).update(
            status=InferenceJob.Status.QUEUED, stage="", error="", heartbeat_at=timezone.now()
        )
    for stage in STAGE_NAMES:
        try:
            job = run_stage(job_id=job_id, stage=stage)
        except Exception as exc:
            fail_job(job_id=job_id, reason=f"{stage} stage failed: {type(exc).__name__}: {exc}")
            raise
        if job.status == InferenceJob.Status.FAILED:
            break
    return job


def fail_job(*, job_id: int, reason: str) -> None:
    """Mark the job failed with a readable reason (never a job already done)."""
    now = timezone.now()
    InferenceJob.objects.filter(pk=job_id).exclude(status=InferenceJob.Status.DONE).update(
        status=InferenceJob.Status.FAILED,
        error=reason[:2000],
        progress=100,
        finished_at=now,
        heartbeat_at=now,
    )


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def reap_stale_jobs(*, study: Study | None = None, limit: int = 200) -> int:
    """Fail jobs that stopped moving: queued for ``RADBOT_JOB_QUEUED_STALE_S`` with no
    worker taking them, or running with no stage starting or ending for
    ``RADBOT_JOB_STALE_S`` (a worker died between retries, a message was lost, or
    ``fail_job`` could not write while the database was down). Returns how many.

    Cheap enough for a page load: an indexed look-up of the active jobs (of one study
    when given), and an UPDATE only for a stale one, re-checked so a job that moved
    meanwhile is left alone.
    """
    now = timezone.now()
    running_s, queued_s = settings.RADBOT_JOB_STALE_S, settings.RADBOT_JOB_QUEUED_STALE_S
    stale, cutoff = stale_work(InferenceJob.objects.all(), now=now)
    if study is not None:
        stale = stale.filter(study=study)
    reaped = 0
    for pk, status, stage in stale.order_by("heartbeat_at").values_list("pk", "status", "stage")[
        :limit
    ]:
        if status == InferenceJob.Status.QUEUED:
            reason = (
                f"stopped: no worker took the job within {_minutes(queued_s)} "
                "(is a Celery worker running for its queue?); run the AI again"
            )
        else:
            reason = (
                f"stopped: no progress for {_minutes(running_s)} in the {stage or 'first'} stage "
                "(its worker probably died); run the AI again"
            )
        reaped += InferenceJob.objects.filter(
            pk=pk, status=status, heartbeat_at__lt=cutoff[status]
        ).update(
            status=InferenceJob.Status.FAILED,
            error=reason,
            progress=100,
            finished_at=now,
            heartbeat_at=now,
        )
    if reaped:
        log.warning("failed %s stale inference job(s)", reaped)
    return reaped


def run_stage(*, job_id: int, stage: str, worker: str = "", retries: int = 0) -> InferenceJob:
    """Run one stage of the job; a job already done or failed is left as it is.

    ``worker`` names the Celery worker running it (recorded per stage, so an operator
    sees which machine ran the networks); empty means in this process. ``retries`` is
    the task's retry number: a stage started more often than retries explain was
    redelivered after its worker died, and more than ``RADBOT_TASK_MAX_ATTEMPTS`` such
    starts fail the job.

    A :class:`StageFailed` (e.g. the disc levels cannot be assigned) marks the job
    failed with its message; other exceptions propagate, for the task to retry.
    """
    job = _begin(job_id, stage, worker or IN_PROCESS, retries)
    if job is not None:
        started = time.perf_counter()
        try:
            _RUNNERS[stage](job)
        except StageFailed as exc:
            fail_job(job_id=job_id, reason=str(exc))
            if str(exc).startswith(REFUSED_PREFIX):
                transaction.on_commit(
                    partial(inference_job_refused.send, sender=InferenceJob, job_id=job_id),
                    robust=True,
                )
        else:
            if stage != "store":
                _record_seconds(job_id, stage, time.perf_counter() - started)
    return InferenceJob.objects.get(pk=job_id)


IN_PROCESS = "in-process"


def _begin(job_id: int, stage: str, worker: str, retries: int = 0) -> InferenceJob | None:
    """Mark the stage as running; None when the job is finished (or was just failed).

    A stage starting while the job already shows it (it was interrupted, or ran but
    its message was delivered again) counts as another attempt. Starts of a stage that
    its retries do not explain are deliveries after the worker died: over the cap, the
    job fails instead of killing the next worker too.
    """
    with transaction.atomic():
        job = InferenceJob.objects.select_for_update().get(pk=job_id)
        if job.status in {InferenceJob.Status.DONE, InferenceJob.Status.FAILED}:
            return None
        first = job.status == InferenceJob.Status.QUEUED
        now = timezone.now()
        starts = {**({} if first else job.stage_attempts)}
        starts[stage] = starts.get(stage, 0) + 1
        cap = max_attempts()
        if starts[stage] - retries > cap:
            InferenceJob.objects.filter(pk=job_id).update(
                status=InferenceJob.Status.FAILED,
                stage=stage,
                stage_attempts=starts,
                progress=100,
                error=gave_up_reason(cap, f"the {stage} stage"),
                finished_at=now,
                heartbeat_at=now,
            )
            log.error(
                "inference job %s: %s stage started %s times; failed", job_id, stage, starts[stage]
            )
            return None
        fields = {
            "status": InferenceJob.Status.RUNNING,
            "stage": stage,
            "progress": STAGE_BY_NAME[stage].start_percent,
            "attempts": job.attempts + (1 if first or job.stage == stage else 0),
            "stage_attempts": starts,
            "heartbeat_at": now,
        }
        if first:
            fields["started_at"] = now
            fields["stage_seconds"] = {}
        fields["stage_workers"] = {**({} if first else job.stage_workers), stage: worker}
        InferenceJob.objects.filter(pk=job_id).update(**fields)
    return InferenceJob.objects.select_related("study", "model_version").get(pk=job_id)


def _record_seconds(job_id: int, stage: str, seconds: float) -> dict:
    with transaction.atomic():
        job = InferenceJob.objects.select_for_update().get(pk=job_id)
        timings = {**job.stage_seconds, stage: round(seconds, 4)}
        InferenceJob.objects.filter(pk=job_id).update(
            stage_seconds=timings, heartbeat_at=timezone.now()
        )
    return timings


def _loaded(weights_dir: str):
    """The networks of the model version stored in ``weights_dir``, each weight file checked
    against the sha256 the database recorded for it (not only the config.json beside it)."""
    recorded = {
        (json.dumps(v.weight_files, sort_keys=True), json.dumps(v.config, sort_keys=True))
        for v in ModelVersion.objects.filter(weights_dir=weights_dir)
    }
    if len(recorded) != 1:
        raise StageFailed(
            f"{len(recorded)} different model versions are recorded for {weights_dir}"
        )
    return _verified_models(weights_dir, *recorded.pop())


@lru_cache(maxsize=2)
def _verified_models(weights_dir: str, weight_files: str, config: str):
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.bundle import WeightsRefused, load_models

    try:
        return load_models(
            media_path(weights_dir),
            expected_sha256=json.loads(weight_files),
            expected_config=json.loads(config),
        )
    except WeightsRefused as exc:
        raise StageFailed(f"model weights refused: {exc}") from exc


@lru_cache(maxsize=8)
def _cached_volume(files: tuple[tuple[str, int], ...]):
    from inference.ml.volume import load_series  # scipy (0.3 s to import): in the worker only

    return load_series([name for name, _ in files])


def _volume(series: Series):
    """The series as a Volume; the stages of one job on one worker read it once."""
    files = selectors.series_files(series)
    return _cached_volume(tuple((str(f), f.stat().st_mtime_ns) for f in files))


def _artefact(job: InferenceJob, name: str) -> Path:
    path = selectors.job_dir(job.pk) / name
    if not path.is_file():
        raise StageFailed(
            f"{job.stage}: the previous stage's output {name} is missing; run the job again"
        )
    return path


def _sag_t2(job: InferenceJob) -> tuple[Series, object]:
    """The sagittal T2 series the segment stage used (its id is in the mask file)."""
    with np.load(_artefact(job, selectors.JOB_MASK_FILE)) as stored:
        series_id = int(stored["series_id"])
    series = Series.objects.filter(pk=series_id).first()
    if series is None:
        raise StageFailed(f"{job.stage}: the segmented series no longer exists")
    return series, _volume(series)


def _segment(job: InferenceJob) -> None:
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.pipeline import LevelAssignmentError, segment

    series = selectors.study_series(job.study)["sag_t2"]
    if series is None:
        raise StageFailed("the study has no sagittal T2 series")
    sag = _volume(series)
    try:
        result = segment(_loaded(job.model_version.weights_dir), sag)
    except LevelAssignmentError as exc:
        _refuse(job, exc)
    folder = selectors.job_dir(job.pk)
    # Uncompressed: on a real 77-slice, 381 x 381 volume zlib took about 2 s to shrink the
    # float32 map by 8% (45 MB, written in 0.1 s plain); the file is deleted once the job ends.
    save_npz_atomic(folder / CANAL_FILE, compress=False, canal_prob=result.canal_prob)
    if result.check_classes is not None:
        save_npz_atomic(folder / NAMING_CHECK_FILE, compress=False, classes=result.check_classes)
    if result.naming_classes is not None:
        save_npz_atomic(folder / NAMING_FILE, compress=False, classes=result.naming_classes)
    save_npz_atomic(
        folder / selectors.JOB_MASK_FILE,
        classes=result.classes,
        instance_numbers=np.asarray(sag.instance_numbers),
        positions=sag.positions,
        series_id=np.int64(series.pk),
        series_uid=np.str_(series.series_instance_uid),
    )


def _localise(job: InferenceJob) -> None:
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.pipeline import LevelAssignmentError, assess_levels

    _, sag = _sag_t2(job)
    # The segment stage writes the check and the naming classes before the mask file, so
    # with the mask file here a missing check means a segmentation without a second
    # reading (reference masks), and missing naming classes a mask that is not weighed.
    folder = selectors.job_dir(job.pk)
    named_on = folder / NAMING_FILE
    if not named_on.is_file():
        named_on = _artefact(job, selectors.JOB_MASK_FILE)
    with np.load(named_on) as stored:
        classes = stored["classes"]
    check = None
    if (folder / NAMING_CHECK_FILE).is_file():
        with np.load(folder / NAMING_CHECK_FILE) as stored:
            check = stored["classes"]
    try:
        assessment = assess_levels(sag, classes, check)
    except LevelAssignmentError as exc:
        _refuse(job, exc)
    save_json_atomic(folder / DISCS_FILE, assessment.to_json())


def _refuse(job: InferenceJob, exc: Exception) -> NoReturn:
    """No level can be named: the whole study is refused, none of its levels is labelled;
    the reason per level lets the report say why there is no AI reading."""
    reason = _reason(exc)
    InferenceJob.objects.filter(pk=job.pk).update(not_assessed={lv: reason for lv in LEVELS})
    raise StageFailed(f"{REFUSED_PREFIX}{reason}") from exc


def _reason(exc: Exception) -> str:
    """The localiser's reason without its own "cannot assign levels: " prefix."""
    text = str(exc)
    for prefix in ("cannot assign levels: ", REFUSED_PREFIX):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _assessment(job: InferenceJob):
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.pipeline import LevelAssessment

    return LevelAssessment.from_json(load_json(_artefact(job, DISCS_FILE)))


def _measure(job: InferenceJob) -> None:
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.pipeline import measure

    _, sag = _sag_t2(job)
    discs = _assessment(job).discs
    with np.load(_artefact(job, CANAL_FILE)) as stored:
        canal_prob = stored["canal_prob"]
    measured = measure(_loaded(job.model_version.weights_dir).config, sag, canal_prob, discs)
    save_json_atomic(selectors.job_dir(job.pk) / AP_FILE, measured.to_json())


def _classify(job: InferenceJob) -> None:
    # torch (seconds to import): loaded by a worker's first job, not with the views.
    from inference.ml.pipeline import Measurements, classify

    _, sag = _sag_t2(job)
    assessment = _assessment(job)
    measured = Measurements.from_json(load_json(_artefact(job, AP_FILE)))
    chosen = selectors.study_series(job.study)
    sag_t1 = _volume(chosen["sag_t1"]) if chosen["sag_t1"] else None
    axials = [_volume(s) for s in chosen["axials"]]
    levels = classify(
        _loaded(job.model_version.weights_dir),
        sag,
        sag_t1,
        axials,
        assessment.discs,
        measured,
        assessment.confidence,
    )
    save_json_atomic(
        selectors.job_dir(job.pk) / PREDICTION_FILE,
        {
            "sag_series_uid": sag.series_uid,
            "levels": [asdict(lp) for lp in levels],
            "not_assessed": dict(assessment.not_assessed),
        },
    )


def _ap_mm(row: dict) -> float | None:
    """The stored AP diameter: None where it was not measured (0.0, or a note says why)."""
    value = row.get("ap_diameter_mm")
    if row.get("ap_note") or not value or value <= 0:
        return None
    return float(value)


def _confidence(row: dict) -> float | None:
    value = row.get("confidence")
    if value is None:
        return None
    if not 0.0 <= float(value) <= 1.0:
        raise StageFailed(f"{row['level']}: the level confidence {value!r} is not between 0 and 1")
    return float(value)


def _store(job: InferenceJob) -> None:
    started = time.perf_counter()
    predicted = load_json(_artefact(job, PREDICTION_FILE))
    rows = predicted["levels"]
    # A level with a prediction is assessed, whatever else the file says about it.
    not_assessed = {
        str(level): str(reason)
        for level, reason in (predicted.get("not_assessed") or {}).items()
        if level not in {row["level"] for row in rows}
    }
    if not rows:
        raise StageFailed(
            f"{REFUSED_PREFIX}no level could be named"
            + (
                f" ({'; '.join(f'{lv}: {why}' for lv, why in sorted(not_assessed.items()))})"
                if not_assessed
                else ""
            )
        )
    levels = dict(DiscLevel.objects.filter(study=job.study).values_list("level", "pk"))
    missing = sorted({row["level"] for row in rows} - set(levels))
    if missing:
        raise StageFailed(f"the study has no disc level rows for {', '.join(missing)}")
    with transaction.atomic():
        locked = InferenceJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != InferenceJob.Status.RUNNING:
            return  # a duplicate delivery finished (or failed) it meanwhile
        Prediction.objects.filter(job=job).delete()
        Prediction.objects.bulk_create(
            [
                Prediction(
                    job=job,
                    level_id=levels[row["level"]],
                    model_version=job.model_version,
                    disc=row["disc"],
                    canal_stenosis=row["canal_stenosis"],
                    left_foraminal=row["left_foraminal"],
                    right_foraminal=row["right_foraminal"],
                    canal_class=row["canal_class"],
                    probabilities=row["probabilities"],
                    ap_diameter_mm=_ap_mm(row),
                    ap_note=(row.get("ap_note") or "")[:300],
                    confidence=_confidence(row),
                    best_slice=row["best_slice"],
                    centre_mm=[float(v) for v in row["disc_centre_mm"]],
                )
                for row in rows
            ]
        )
        finished = timezone.now()
        timings = {**locked.stage_seconds, "store": round(time.perf_counter() - started, 4)}
        timings["total"] = round(sum(v for k, v in timings.items() if k in STAGE_NAMES), 4)
        if locked.started_at:
            # Includes any wait in the queues between stages: the time a user waits.
            timings["wall"] = round((finished - locked.started_at).total_seconds(), 4)
        InferenceJob.objects.filter(pk=job.pk).update(
            status=InferenceJob.Status.DONE,
            stage="",
            progress=100,
            stage_seconds=timings,
            finished_at=finished,
            heartbeat_at=finished,
            not_assessed=not_assessed,
        )
        # robust: a listener's error is logged and must not turn a stored job into a failed task
        transaction.on_commit(
            partial(inference_job_done.send, sender=InferenceJob, job_id=job.pk), robust=True
        )
    # The canal probability and the naming classes are only intermediates (large);
    # the classes stay for review. Temporary files are what a stage killed mid-write left;
    # nothing writes to a done job.
    folder = selectors.job_dir(job.pk)
    intermediates = [folder / CANAL_FILE, folder / NAMING_CHECK_FILE, folder / NAMING_FILE]
    for leftover in [*intermediates, *folder.glob(".*.tmp")]:
        leftover.unlink(missing_ok=True)


# What run_stage calls for each stage; a test swaps one runner here.
_RUNNERS: dict[str, Callable[[InferenceJob], None]] = {
    name: globals()[f"_{name}"] for name in STAGE_NAMES
}
