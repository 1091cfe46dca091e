"""Reads for image models: studies from the archive as arrays, models, jobs, predictions."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from django.db.models import QuerySet

from inference.models import InferenceJob, ModelVersion, Prediction, SegmentationMask
from labeling.selectors import gold_rows, newest_nlp_labels
from spine.labels import FIELDS, LEVELS, LevelLabels
from studies.models import Instance, Series, Study
from studies.storage import media_path

# How much an NLP-derived label counts against a gold one in training.
NLP_LABEL_WEIGHT = 0.5

# The predicted sagittal T2 classes of a job (written by its segment stage).
JOB_MASK_FILE = "sag_t2_classes.npz"


def latest_model_version() -> ModelVersion | None:
    return ModelVersion.objects.first()


def series_files(series: Series) -> list[Path]:
    return [media_path(f) for f in series.instances.values_list("file", flat=True)]


def study_series(study: Study) -> dict:
    """The sagittal T2 and T1 and the axial T2 series a model reads."""
    chosen: dict = {"sag_t2": None, "sag_t1": None, "axials": []}
    for series in study.series.all():
        if series.plane == "sagittal" and series.weighting == "T2" and chosen["sag_t2"] is None:
            chosen["sag_t2"] = series
        elif series.plane == "sagittal" and series.weighting == "T1" and chosen["sag_t1"] is None:
            chosen["sag_t1"] = series
        elif series.plane == "axial" and series.weighting == "T2":
            chosen["axials"].append(series)
    return chosen


def _labels_for(
    study: Study, gold: dict[str, dict[str, dict]]
) -> tuple[dict[str, LevelLabels], float, bool]:
    """Labels, their training weight, and whether they come from the NLP labeller."""
    report = study.reports.first()
    if report is None:
        return {}, 0.0, False
    if str(report.pk) in gold:
        return (
            {lv: LevelLabels.from_exchange(row) for lv, row in gold[str(report.pk)].items()},
            1.0,
            False,
        )
    rows = newest_nlp_labels(report=report)
    if not rows:
        return {}, 0.0, False
    labels = {
        row.level.level: LevelLabels(level=row.level.level, **{f: getattr(row, f) for f in FIELDS})
        for row in rows
    }
    return labels, NLP_LABEL_WEIGHT, True


def training_studies() -> list:
    """Every study with a sagittal T2, its reference mask and labels (gold, else NLP), as StudyData."""
    # scipy, through inference.ml.volume (0.3 s to import): for training, not with the views.
    from inference.ml.data import StudyData, reorder_to_volume
    from inference.ml.volume import load_series

    gold: dict[str, dict[str, dict]] = {}
    for row in gold_rows():
        gold.setdefault(row["report_id"], {})[row["level"]] = row
    studies = []
    masks = {m.series_id: m for m in SegmentationMask.objects.all()}
    for study in Study.objects.select_related("patient").prefetch_related("series", "reports"):
        chosen = study_series(study)
        sag_t2 = chosen["sag_t2"]
        if sag_t2 is None or sag_t2.pk not in masks:
            continue
        labels, weight, from_nlp = _labels_for(study, gold)
        if not labels:
            continue
        volume = load_series(series_files(sag_t2))
        with np.load(media_path(masks[sag_t2.pk].file)) as stored:
            by_number = dict(
                zip(stored["instance_numbers"].tolist(), stored["classes"], strict=True)
            )
        ordered = np.stack([by_number[n] for n in sorted(by_number)])
        studies.append(
            StudyData(
                key=study.study_instance_uid,
                patient_id=study.patient.pseudonym,
                sag_t2=volume,
                sag_t1=load_series(series_files(chosen["sag_t1"])) if chosen["sag_t1"] else None,
                # matched to levels by position during training, as inference matches them
                axial_series=[load_series(series_files(s)) for s in chosen["axials"]],
                sag_mask=reorder_to_volume(ordered, volume),
                labels=labels,
                weight=weight,
                nlp_labels=from_nlp,
            )
        )
    return studies


def model_version_list() -> QuerySet[ModelVersion]:
    """Every trained model version, newest first."""
    return ModelVersion.objects.order_by("-created_at", "-id")


def jobs_for(study: Study) -> QuerySet[InferenceJob]:
    return study.inference_jobs.select_related("model_version")


def job_with_study(job_id: int) -> InferenceJob:
    """One job with its study, model version and requester; raises InferenceJob.DoesNotExist."""
    return InferenceJob.objects.select_related("study", "model_version", "requested_by").get(
        pk=job_id
    )


def prediction_list(
    *,
    study_uid: str = "",
    model_version_id: int | None = None,
    job_id: int | None = None,
    level: str = "",
) -> QuerySet[Prediction]:
    """Predictions (filtered by study, model version, job and level): by study, newest
    job first, then level."""
    found = Prediction.objects.select_related("job__study", "model_version", "level")
    if study_uid:
        found = found.filter(job__study__study_instance_uid=study_uid)
    if model_version_id is not None:
        found = found.filter(model_version_id=model_version_id)
    if job_id is not None:
        found = found.filter(job_id=job_id)
    if level:
        found = found.filter(level__level=level)
    return found.order_by("job__study_id", "-job__created_at", "-job_id", "level__level")


def job_is_active(job: InferenceJob | None) -> bool:
    """Queued or running: the page polls and offers no new run meanwhile."""
    return job is not None and job.status in {
        InferenceJob.Status.QUEUED,
        InferenceJob.Status.RUNNING,
    }


def newest_done_job(study: Study) -> InferenceJob | None:
    """The study's newest finished inference job: the one whose reading the study page shows
    and a new AI draft is written from.

    Newest by creation, ties by id: InferenceJob's Meta ordering, spelled out so that
    which job this is cannot change with the model's default order.
    """
    return (
        study.inference_jobs.filter(status=InferenceJob.Status.DONE)
        .select_related("model_version")
        .order_by("-created_at", "-id")
        .first()
    )


def latest_predictions(study: Study) -> tuple[InferenceJob | None, list[Prediction]]:
    job = newest_done_job(study)
    if job is None:
        return None, []
    return job, list(job.predictions.select_related("level").order_by("level__level"))


def not_assessed_levels(job: InferenceJob | None) -> list[tuple[str, str]]:
    """(level, reason) for each level the job gave no reading, in level order."""
    reasons = (job.not_assessed or {}) if job is not None else {}
    return [(lv, reasons[lv]) for lv in LEVELS if lv in reasons]


def job_dir(job_id: int) -> Path:
    """A job's stage outputs, under MEDIA_ROOT."""
    return media_path("inference", "jobs", str(int(job_id)))


def job_mask_path(job_id: int) -> Path:
    return job_dir(job_id) / JOB_MASK_FILE


def job_has_mask(job: InferenceJob) -> bool:
    """Whether the job's segment stage stored its predicted sagittal T2 classes."""
    return job_mask_path(job.pk).is_file()


def job_mask_series_id(job: InferenceJob) -> int | None:
    """The id of the series the job's mask belongs to (its sagittal T2), if it has one."""
    path = job_mask_path(job.pk)
    try:
        return _stored_mask(str(path), path.stat().st_mtime_ns)[2]
    except FileNotFoundError:
        return None


@lru_cache(maxsize=8)
def _stored_mask(path: str, mtime_ns: int) -> tuple[np.ndarray, np.ndarray, int]:
    # keyed by mtime: a re-run of the segment stage replaces the file
    with np.load(path) as stored:
        return stored["classes"], stored["positions"], int(stored["series_id"])


def job_mask_slice(job: InferenceJob, slice_index: int) -> np.ndarray | None:
    """Predicted classes (rows, cols) of one slice of the job's sagittal T2, the slice
    counted 0-based in the study viewer's order (studies.selectors.series_volume:
    slice location, then instance number). None when the job has no mask or there
    is no such slice.

    The stored mask is in the models' order (position along the slice normal); each
    stored image is matched to its mask slice by position, which holds whatever the
    instance numbers are.
    """
    path = job_mask_path(job.pk)
    try:
        classes, positions, series_id = _stored_mask(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None
    rows = list(
        Instance.objects.filter(series_id=series_id)
        .order_by("slice_location_mm", "instance_number")
        .values_list("position_x", "position_y", "position_z")
    )
    if not 0 <= slice_index < len(rows) or len(rows) != len(classes):
        return None
    distance = np.linalg.norm(positions - np.asarray(rows[slice_index], dtype=np.float64), axis=1)
    return classes[int(np.argmin(distance))]
