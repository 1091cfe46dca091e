"""Writes for labels: labeller versions, labelling runs and the NLP label rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.curation.services import close_filled_reports, refresh_model_disagreement
from labeling.models import LabellerVersion, LabellingRun, NlpLabel
from radbot_web.tasks import stale_work
from spine.labels import FIELDS, LevelLabels
from studies.models import DiscLevel, RadiologistReport
from studies.storage import media_path

if TYPE_CHECKING:
    from labeling.nlp.labeller import Labeller, ReportLabels

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _labeller_for(learned_model_path: str) -> Labeller:
    # The labeller imports spaCy (seconds): loaded when a labeller is first built, not with the views.
    from labeling.nlp.labeller import Labeller

    if not learned_model_path:
        return Labeller()
    from labeling.nlp.learned import LearnedModel  # scikit-learn: only for a trained labeller

    return Labeller(learned=LearnedModel.load(Path(learned_model_path)))


def newest_labeller() -> Labeller:
    """The labeller the app runs now, without recording its version: the newest trained
    one, or the rules alone when nothing was trained (or when the newest trained model is
    refused, e.g. an old pickle: that is logged as an error)."""
    from labeling.nlp.learned import UnsafeModelFile  # scikit-learn, loaded on first use

    trained = LabellerVersion.objects.exclude(learned_model_path="").first()
    try:
        return _labeller_for(trained.learned_model_path if trained else "")
    except UnsafeModelFile as exc:
        log.error("labeller %s not loaded, using the rules alone: %s", trained.version, exc)
        return _labeller_for("")


def current_labeller() -> tuple[Labeller, LabellerVersion]:
    """newest_labeller() and its version row (created on first use)."""
    labeller = newest_labeller()
    version, _ = LabellerVersion.objects.get_or_create(version=labeller.version)
    return labeller, version


def pending_reports(version: LabellerVersion):
    return RadiologistReport.objects.exclude(nlp_labels__labeller=version).order_by("pk")


def fail_run(*, run_id: int, reason: str) -> None:
    """Mark the run failed with a readable reason (never a run already done)."""
    now = timezone.now()
    LabellingRun.objects.filter(pk=run_id).exclude(status=LabellingRun.Status.DONE).update(
        status=LabellingRun.Status.FAILED, error=reason[:2000], finished_at=now, heartbeat_at=now
    )


def reap_stale_runs(*, limit: int = 200) -> int:
    """Fail runs queued for ``RADBOT_JOB_QUEUED_STALE_S`` or running without a committed
    batch for ``RADBOT_JOB_STALE_S`` (see inference.services.jobs.reap_stale_jobs)."""
    now = timezone.now()
    running_s, queued_s = settings.RADBOT_JOB_STALE_S, settings.RADBOT_JOB_QUEUED_STALE_S
    stale, cutoff = stale_work(LabellingRun.objects.all(), now=now)
    reaped = 0
    for pk, status in stale.order_by("heartbeat_at").values_list("pk", "status")[:limit]:
        minutes = max(
            1, round((queued_s if status == LabellingRun.Status.QUEUED else running_s) / 60)
        )
        if status == LabellingRun.Status.QUEUED:
            reason = f"stopped: no worker took the run within {minutes} min (is a Celery worker running?); start it again"
        else:
            reason = (
                f"stopped: no progress for {minutes} min (its worker probably died); start it again"
            )
        reaped += LabellingRun.objects.filter(
            pk=pk, status=status, heartbeat_at__lt=cutoff[status]
        ).update(status=LabellingRun.Status.FAILED, error=reason, finished_at=now, heartbeat_at=now)
    if reaped:
        log.warning("failed %s stale labelling run(s)", reaped)
    return reaped


def _label_rows(
    result: ReportLabels, report: RadiologistReport, levels: dict[str, int], version
) -> list[NlpLabel]:
    rows = []
    for labels, evidence, confidence in zip(
        result.levels, result.evidence, result.confidence, strict=True
    ):
        rows.append(
            NlpLabel(
                report=report,
                level_id=levels[labels.level],
                labeller=version,
                confidence=dict(confidence),
                min_confidence=min(confidence.values(), default=None),
                evidence=[dict(span) for span in evidence],
                **{name: getattr(labels, name) for name in FIELDS},
            )
        )
    return rows


# Errors after which the result holds no reading of the text, only the "none" placeholders
# of ``empty_result``: storing them would be a false "all normal" label (training and
# curation would learn it), so such a report is skipped and shown as not labelled.
_NOT_READ = ("empty report", "binary data", "labeller failed", ", not str")


def _unreadable(result: ReportLabels) -> bool:
    """The labeller could not read this text (or failed on it): no labels are stored for it."""
    return any(marker in error for error in result.errors for marker in _NOT_READ)


def label_reports(
    *, reports: Iterable[RadiologistReport], labeller: Labeller, version: LabellerVersion
) -> list[dict]:
    """Label a batch in one transaction; returns the per-report problems (never raises for one report)."""
    reports = list(reports)
    levels_by_study: dict[int, dict[str, int]] = {}
    for level_id, study_id, name in DiscLevel.objects.filter(
        study_id__in={r.study_id for r in reports}
    ).values_list("pk", "study_id", "level"):
        levels_by_study.setdefault(study_id, {})[name] = level_id
    by_id = {str(r.pk): r for r in reports}
    problems: list[dict] = []
    rows: list[NlpLabel] = []
    for result in labeller.label_many((str(r.pk), r.text) for r in reports):
        report = by_id[str(result.report_id)]
        unreadable = _unreadable(result)
        if result.errors:
            problems.append(
                {
                    "report": report.pk,
                    "study": report.study.study_instance_uid,
                    "errors": result.errors,
                    "labelled": not unreadable,
                }
            )
        if not unreadable:
            # A report naming no level is a normal report: all five levels are "none".
            rows += _label_rows(result, report, levels_by_study.get(report.study_id, {}), version)
    with transaction.atomic():
        # A retried batch after a killed worker finds its rows already there.
        NlpLabel.objects.bulk_create(rows, ignore_conflicts=True)
        # A new version's rows of reports curated already start out of the queue.
        close_filled_reports(report_ids=[r.pk for r in reports])
    # New labels on studies the models have read get their queue order at once.
    refresh_model_disagreement(study_ids={r.study_id for r in reports})
    return problems


def _failed(problems: list[dict]) -> int:
    return sum(1 for p in problems if not p.get("labelled", False))


def execute_labelling_run(*, run_id: int, batch_size: int | None = None) -> LabellingRun:
    """Work through the run's reports in batches, committing progress after each batch."""
    batch_size = batch_size or settings.RADBOT_LABELLING_BATCH
    run = LabellingRun.objects.select_related("labeller").get(pk=run_id)
    if run.status == LabellingRun.Status.DONE:
        return run
    labeller, _ = current_labeller()
    if labeller.version != run.labeller.version:
        labeller = _labeller_for(run.labeller.learned_model_path)
    # A retry (or a late redelivery) of a run marked failed picks it up again.
    LabellingRun.objects.filter(pk=run.pk).update(
        status=LabellingRun.Status.RUNNING, error="", finished_at=None, heartbeat_at=timezone.now()
    )
    problems = list(run.problems)
    try:
        while True:
            skipped = {p["report"] for p in problems if not p.get("labelled", False)}
            batch = list(
                pending_reports(run.labeller)
                .exclude(pk__in=skipped)
                .select_related("study")[:batch_size]
            )
            if not batch:
                break
            new_problems = label_reports(reports=batch, labeller=labeller, version=run.labeller)
            problems += new_problems
            done = min(
                run.total,
                NlpLabel.objects.filter(labeller=run.labeller).values("report").distinct().count(),
            )
            LabellingRun.objects.filter(pk=run.pk).update(
                done=done,
                failed=_failed(problems),
                problems=problems[-200:],
                heartbeat_at=timezone.now(),
            )
    except Exception as exc:
        log.exception("labelling run %s failed", run.pk)
        fail_run(run_id=run.pk, reason=f"labelling run failed: {type(exc).__name__}: {exc}")
        raise
    LabellingRun.objects.filter(pk=run.pk).update(
        status=LabellingRun.Status.DONE,
        finished_at=timezone.now(),
        failed=_failed(problems),
        problems=problems[-200:],
    )
    run.refresh_from_db()
    return run


@transaction.atomic
def train_labeller(
    *, gold_rows: list[dict], report_rows: list[dict], force: bool = False
) -> LabellerVersion:
    """Fit the learned layer on gold labels; it becomes the labeller the app runs only if it earns it.

    Before activating, the layer is cross-validated on the gold reports (5 folds by report):
    rules alone against rules plus the layer. With no fewer errors than the rules it is saved
    and recorded (metrics say why) but not used, unless ``force``.
    """
    # spaCy and scikit-learn (seconds to import): loaded to train, not with the views.
    from labeling.nlp import learned
    from labeling.nlp.labeller import Labeller

    texts = {str(r["report_id"]): r.get("text", "") for r in report_rows}
    gold_by_report: dict[str, list[LevelLabels]] = {}
    for row in gold_rows:
        gold_by_report.setdefault(str(row["report_id"]), []).append(LevelLabels.from_exchange(row))
    pairs = [(texts[rid], levels) for rid, levels in gold_by_report.items() if rid in texts]
    if not pairs:
        raise ValueError("no gold label matches a report: check the report_id values")
    comparison = (
        learned.compare_by_folds(pairs)
        if len(pairs) >= 2
        else {"helps": False, "reports": len(pairs)}
    )
    active = comparison["helps"] or force
    model = learned.train(pairs)
    labeller = Labeller(learned=model)
    folder = media_path("labellers", labeller.version.replace("/", "_"))
    model.save(folder)
    version, _ = LabellerVersion.objects.update_or_create(
        version=labeller.version,
        defaults={
            "learned_model_path": str(folder) if active else "",
            "learned_from_gold": sum(len(levels) for _, levels in pairs),
            "metrics": {
                "cross_validation": comparison,
                "active": active,
                "forced": force and not comparison["helps"],
                "saved_in": str(folder),
            },
        },
    )
    _labeller_for.cache_clear()
    return version
