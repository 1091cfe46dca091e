"""Labelling runs in the app: every report labelled once per labeller version, nothing overwritten."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from labeling.dispatch import start_labelling_run
from labeling.models import Annotation, LabellerVersion, LabellingRun, NlpLabel
from labeling.services import (
    current_labeller,
    label_reports,
    train_labeller,
)
from spine.labels import FIELDS
from tests.factories import ReportFactory, StudyFactory, make_user
from tests.inference.test_jobs import broker_down  # noqa: F401 (a fixture)

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def reports(db):
    texts = [
        "FINDINGS: L4-5: Broad-based disc bulge with mild central canal stenosis. L5-S1: normal.",
        "FINDINGS: L3-L4: right paracentral protrusion compressing the thecal sac. Remaining levels normal.",
        bytes(range(1, 256)).decode("latin-1") * 4,  # binary garbage
    ]
    return [
        ReportFactory(study=StudyFactory(), text=t, text_sha256=str(i)) for i, t in enumerate(texts)
    ]


@pytest.mark.django_db
def test_a_run_labels_every_report_at_every_level(
    reports, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_labelling_run()
    run.refresh_from_db()
    assert run.status == "done" and run.total == 3
    labelled = NlpLabel.objects.values("report").distinct().count()
    assert (labelled, run.failed, run.done) == (2, 1, 2)
    assert run.problems[0]["report"] == reports[2].pk and not run.problems[0]["labelled"]
    bulge = NlpLabel.objects.get(report=reports[0], level__level="L4-L5")
    assert (bulge.disc, bulge.canal_stenosis) == ("bulge", "mild")
    assert bulge.evidence and 0 < bulge.confidence["disc"] <= 1
    herniation = NlpLabel.objects.get(report=reports[1], level__level="L3-L4")
    assert (herniation.disc, herniation.canal_stenosis) == ("herniation", "unspecified")
    assert NlpLabel.objects.filter(report=reports[1]).count() == 5


@pytest.mark.django_db
def test_a_bad_report_is_reported_and_does_not_fail_its_batch(reports):
    labeller, version = current_labeller()
    problems = label_reports(reports=reports, labeller=labeller, version=version)
    assert NlpLabel.objects.filter(report__in=reports[:2]).count() == 10
    assert all(p["errors"] for p in problems)


@pytest.mark.django_db
def test_repeating_a_batch_after_a_crash_adds_no_duplicates(reports):
    labeller, version = current_labeller()
    label_reports(reports=reports[:2], labeller=labeller, version=version)
    label_reports(reports=reports[:2], labeller=labeller, version=version)
    assert NlpLabel.objects.count() == 10


@pytest.mark.django_db
def test_second_run_with_same_version_has_nothing_to_do(
    reports, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start_labelling_run()
    before = NlpLabel.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        again = start_labelling_run()
    assert NlpLabel.objects.count() == before
    assert again.total == 1  # only the garbage report, which cannot be labelled


@pytest.mark.django_db
def test_a_new_labeller_version_adds_rows_and_keeps_the_old_ones(
    reports, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start_labelling_run()
    old = set(NlpLabel.objects.values_list("pk", flat=True))
    gold = [json.loads(x) for x in (DATA / "dev_gold.jsonl").read_text().splitlines() if x.strip()]
    texts = [
        json.loads(x) for x in (DATA / "dev_reports.jsonl").read_text().splitlines() if x.strip()
    ]
    version = train_labeller(gold_rows=gold, report_rows=texts, force=True)
    assert "learned" in version.version and version.learned_from_gold == len(gold)
    assert current_labeller()[1] == version
    with django_capture_on_commit_callbacks(execute=True):
        run = start_labelling_run()
    assert run.labeller == version
    assert old <= set(NlpLabel.objects.values_list("pk", flat=True))
    assert (
        NlpLabel.objects.filter(labeller=version).count()
        == NlpLabel.objects.exclude(labeller=version).count()
    )
    assert LabellerVersion.objects.count() == 2
    assert LabellingRun.objects.count() == 2


@pytest.mark.django_db
def test_a_report_naming_no_level_is_labelled_normal_with_a_note(db):
    report = ReportFactory(
        study=StudyFactory(),
        text="FINDINGS: Normal alignment. IMPRESSION: No stenosis.",
        text_sha256="n",
    )
    labeller, version = current_labeller()
    problems = label_reports(reports=[report], labeller=labeller, version=version)
    assert problems and problems[0]["labelled"]
    assert set(NlpLabel.objects.filter(report=report).values_list("disc", flat=True)) == {"none"}
    assert NlpLabel.objects.filter(report=report).count() == 5


# --- Faults: stale runs and publish failures (review #12), the redelivery cap (#7d) ---


def _run(**fields) -> LabellingRun:
    _, version = current_labeller()
    return LabellingRun.objects.create(labeller=version, total=3, **fields)


def _age(run: LabellingRun, seconds: float) -> None:
    from datetime import timedelta

    from django.utils import timezone

    LabellingRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db
def test_the_labeller_page_fails_a_stale_run_with_the_reason_and_stops_polling(client, settings):
    from labeling.services import reap_stale_runs
    from tests.factories import make_user

    settings.RADBOT_JOB_STALE_S, settings.RADBOT_JOB_QUEUED_STALE_S = 1800, 7200
    run = _run(status="running", done=1)
    client.force_login(make_user("researcher"))
    page = client.get("/labeling/").content.decode()
    assert 'hx-trigger="every 1s"' in page

    waiting = _run()
    _age(waiting, 1800 + 60)  # queued, but not for long enough to count as lost
    _age(run, 1800 + 60)
    page = client.get("/labeling/").content.decode()
    run.refresh_from_db()
    waiting.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == "stopped: no progress for 30 min (its worker probably died); start it again"
    assert run.error in page
    assert waiting.status == "queued"
    _age(waiting, 7200 + 60)
    assert reap_stale_runs() == 1
    waiting.refresh_from_db()
    assert waiting.status == "failed" and waiting.error.startswith(
        "stopped: no worker took the run within 120 min"
    )
    page = client.get("/labeling/").content.decode()
    assert 'hx-trigger="every 1s"' not in page  # nothing runs: the page stops polling


@pytest.mark.django_db(transaction=True)  # on_commit runs at the real commit
@pytest.mark.usefixtures("broker_down")
def test_a_run_that_cannot_be_queued_fails_with_the_reason(reports, client):
    from tests.factories import make_user

    client.force_login(make_user("researcher"))
    page = client.post("/labeling/runs/", follow=True).content.decode()
    run = LabellingRun.objects.get()
    assert run.status == "failed" and run.error.startswith("could not queue: broker unavailable")
    assert "The labelling run failed: could not queue: broker unavailable" in page
    assert NlpLabel.objects.count() == 0


@pytest.mark.django_db
def test_a_labelling_task_delivered_past_the_cap_fails_the_run(reports, settings):
    from labeling.tasks import execute_labelling_run_task
    from radbot_web.tasks import count_delivery

    settings.RADBOT_TASK_MAX_ATTEMPTS = 3
    run = _run()
    message = f"run-{uuid.uuid4()}"
    for _ in range(3):  # three deliveries whose worker died
        count_delivery(f"{message}:0")
    result = execute_labelling_run_task.apply(args=(run.pk,), task_id=message, throw=False)
    assert result.state == "FAILURE"
    run.refresh_from_db()
    assert run.status == "failed" and run.done == 0 and NlpLabel.objects.count() == 0
    assert run.error.startswith(
        "stopped after 3 attempts: the worker died each time during the labelling run"
    )


@pytest.mark.django_db
def test_a_new_versions_labels_of_a_curated_report_start_out_of_the_queue(reports, settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0
    labeller, version = current_labeller()
    label_reports(reports=reports[:2], labeller=labeller, version=version)
    for label in NlpLabel.objects.filter(report=reports[0]):
        Annotation.objects.create(
            report=reports[0],
            level=label.level,
            author=make_user("annotator"),
            **{name: getattr(label, name) for name in FIELDS},
        )
    newer = LabellerVersion.objects.create(version="rules-newer")
    label_reports(reports=reports[:2], labeller=labeller, version=newer)
    open_rows = NlpLabel.objects.filter(labeller=newer, report_needs_annotator=True)
    assert set(open_rows.values_list("report_id", flat=True)) == {reports[1].pk}
    assert not NlpLabel.objects.filter(report=reports[0], report_needs_annotator=True).exists()
