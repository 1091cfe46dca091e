"""AI drafts from finished inference jobs: content, idempotency, what a new reading may replace."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from inference.models import InferenceJob
from inference.signals import inference_job_done
from reports.models import AuditEvent, Report, ReportVersion
from reports.services import (
    DraftNotApplied,
    DraftNotPossible,
    create_ai_draft,
    save_draft,
    sign_report,
)
from reports.tasks import generate_ai_draft_task
from spine.labels import LEVELS
from tests.factories import PASSWORD, StudyFactory
from tests.reports.review_helpers import done_job, imaged_study, study_with_reading

pytestmark = pytest.mark.django_db


def _texts(version: ReportVersion) -> dict[str, str]:
    return {f["level"]: f["text"] for f in version.findings}


def test_a_done_job_becomes_a_preliminary_generated_version():
    _study, job = study_with_reading(L4_L5={"disc": "herniation", "canal_stenosis": "moderate"})
    version = create_ai_draft(job_id=job.pk)

    assert (version.number, version.status, version.origin) == (1, "preliminary", "generated")
    assert version.source_job == job and version.created_by is None and not version.is_signed
    texts = _texts(version)
    assert list(texts) == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert "herniation" in texts["L4-L5"].lower() and "moderate" in texts["L4-L5"].lower()
    assert texts["L2-L3"].lower().startswith("no disc herniation")
    assert "11.5 mm" in texts["L4-L5"]  # the measured AP diameter is written
    assert "L4-L5" in version.impression
    assert version.labels["L4-L5"]["disc"] == "herniation"
    assert version.labels["L4-L5"]["canal_stenosis"] == "moderate"
    assert version.labels["L1-L2"]["disc"] == "none"
    event = AuditEvent.objects.get(report=version.report)
    assert (event.action, event.user, event.version) == ("generate", None, version)
    assert event.detail["job"] == job.pk


def test_the_best_image_is_named_from_the_predicted_slice(tmp_path):
    study, sagittal, _ = imaged_study(tmp_path)
    job = done_job(study, series=sagittal, best_instance=4, L4_L5={"disc": "bulge"})
    texts = _texts(create_ai_draft(job_id=job.pk))
    assert "T2 sagittal image 4" in texts["L4-L5"]


def test_drafting_is_idempotent_per_job():
    _study, job = study_with_reading(L4_L5={"disc": "bulge"})
    first = create_ai_draft(job_id=job.pk)
    again = create_ai_draft(job_id=job.pk)
    assert again.pk == first.pk
    assert ReportVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="generate").count() == 1
    # A retried task does the same.
    assert generate_ai_draft_task.run(job.pk) == first.pk
    assert ReportVersion.objects.count() == 1


def test_a_job_that_is_not_done_gives_no_draft():
    _study, job = study_with_reading()
    InferenceJob.objects.filter(pk=job.pk).update(status="running")
    with pytest.raises(DraftNotPossible, match="running"):
        create_ai_draft(job_id=job.pk)
    assert not Report.objects.exists()
    assert generate_ai_draft_task.run(job.pk) is None


def test_a_newer_job_replaces_an_unedited_draft_but_an_older_one_does_not():
    study, old = study_with_reading()
    new = done_job(study, model="newer-model", L4_L5={"disc": "herniation"})
    create_ai_draft(job_id=old.pk)
    v2 = create_ai_draft(job_id=new.pk)
    assert (v2.number, v2.origin, v2.source_job) == (2, "generated", new)
    assert "herniation" in _texts(v2)["L4-L5"].lower()
    assert _texts(v2.based_on)["L4-L5"].lower().startswith("no disc herniation")


def test_a_late_task_for_an_older_job_does_not_cover_a_newer_draft():
    study, old = study_with_reading()
    new = done_job(study, model="newer-model")
    current = create_ai_draft(job_id=new.pk)
    with pytest.raises(DraftNotApplied, match="newer job"):
        create_ai_draft(job_id=old.pk)
    assert Report.objects.get().versions.get().pk == current.pk


def test_a_persons_edit_is_never_replaced_by_a_new_reading(radiologist):
    study, job = study_with_reading()
    v1 = create_ai_draft(job_id=job.pk)
    findings = [dict(f) for f in v1.findings]
    findings[3]["text"] = "Edited by the radiologist."
    v2 = save_draft(
        report=v1.report,
        user=radiologist,
        findings=findings,
        impression=v1.impression,
        base_version_number=1,
    )
    newer = done_job(study, model="newer-model", L4_L5={"disc": "herniation"})
    with pytest.raises(DraftNotApplied, match="edits") as refused:
        create_ai_draft(job_id=newer.pk)
    assert refused.value.current.pk == v2.pk
    assert v1.report.versions.count() == 2


def test_a_signed_report_is_left_alone_by_a_new_reading(radiologist):
    study, job = study_with_reading()
    v1 = create_ai_draft(job_id=job.pk)
    sign_report(report=v1.report, user=radiologist, password=PASSWORD, version_number=1)
    newer = done_job(study, model="newer-model", L4_L5={"disc": "herniation"})
    with pytest.raises(DraftNotApplied, match="signed"):
        create_ai_draft(job_id=newer.pk)
    assert generate_ai_draft_task.run(newer.pk) is None
    assert list(v1.report.versions.values_list("number", "status")) == [(1, "final")]


def test_the_job_done_signal_queues_a_draft(eager_celery, django_capture_on_commit_callbacks):
    study, job = study_with_reading(L5_S1={"disc": "bulge"})
    with django_capture_on_commit_callbacks(execute=True):
        inference_job_done.send(sender=InferenceJob, job_id=job.pk)
    version = Report.objects.get(study=study).versions.get()
    assert version.source_job == job and version.labels["L5-S1"]["disc"] == "bulge"


def test_generate_reports_command_drafts_each_study_once(capsys):
    a, _job_a = study_with_reading(L4_L5={"disc": "bulge"})
    b, _job_b = study_with_reading()
    StudyFactory()  # never read by the AI: not drafted
    call_command("generate_reports", all=True)
    assert "2 drafts written" in capsys.readouterr().out
    assert ReportVersion.objects.count() == 2
    call_command("generate_reports", all=True)
    assert "0 drafts written" in capsys.readouterr().out
    assert ReportVersion.objects.count() == 2
    # A newer job for one study gets its draft with --study.
    newer = done_job(a, model="newer-model", L4_L5={"disc": "herniation"})
    call_command("generate_reports", study=a.study_instance_uid)
    assert Report.objects.get(study=a).versions.order_by("-number").first().source_job == newer
    # --study also takes the original (PACS) UID: the command runs with admin rights.
    from studies.models import StudyIdentity

    StudyIdentity.objects.create(study=b, original_study_uid="1.2.840.10008.999.1")
    newest = done_job(b, model="newer-model", L4_L5={"disc": "herniation"})
    call_command("generate_reports", study="1.2.840.10008.999.1")
    assert Report.objects.get(study=b).versions.order_by("-number").first().source_job == newest


def test_generate_reports_names_an_unknown_study():
    with pytest.raises(CommandError, match="no study"):
        call_command("generate_reports", study="1.2.3.4")
    plain = StudyFactory()
    with pytest.raises(CommandError, match="run the models"):
        call_command("generate_reports", study=plain.study_instance_uid)


TOP_DISC_MISSING = "no disc found above L2-L3 (outside the field of view or not segmented)"


def _partial_reading() -> tuple:
    """A done job that named L2-L3 to L5-S1 only; its L4-L5 AP diameter was not measured."""
    study, job = study_with_reading(L4_L5={"disc": "herniation"})
    job.predictions.filter(level__level="L1-L2").delete()
    job.predictions.update(confidence=0.8)
    job.predictions.filter(level__level="L4-L5").update(
        ap_diameter_mm=None, ap_note="not measured: no spinal canal found behind the disc"
    )
    InferenceJob.objects.filter(pk=job.pk).update(not_assessed={"L1-L2": TOP_DISC_MISSING})
    return study, job


def test_a_partial_reading_drafts_why_a_level_is_not_assessed_and_labels_only_the_others():
    _study, job = _partial_reading()
    version = create_ai_draft(job_id=job.pk)
    texts = _texts(version)
    assert list(texts) == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert texts["L1-L2"] == f"Not assessed: {TOP_DISC_MISSING}."
    assert "herniation" in texts["L4-L5"] and "AP diameter" not in texts["L4-L5"]
    assert "11.5 mm" in texts["L3-L4"]
    assert set(version.labels) == {"L2-L3", "L3-L4", "L4-L5", "L5-S1"}
    assert version.impression.splitlines()[-1] == "Not assessed: L1-L2."


def test_the_review_page_shows_why_a_level_is_not_assessed(client, annotator):
    study, job = _partial_reading()
    create_ai_draft(job_id=job.pk)
    client.force_login(annotator)
    page = client.get(f"/reports/{study.study_instance_uid}/").content.decode()
    assert f"L1-L2 not assessed: {TOP_DISC_MISSING}" in page
    assert "level confidence 80%" in page
    assert "Not measured: no spinal canal found behind the disc" in page


def test_a_refused_study_gets_a_draft_that_says_why_and_labels_nothing():
    """The whole study refused: the job failed with the reason and stored no prediction;
    its draft says, at every level, why there is no AI reading, and carries no label."""
    _study, job = study_with_reading()
    job.predictions.all().delete()
    reason = "the sacrum is not in the field of view (no sacrum found), so the levels cannot be counted from it"
    InferenceJob.objects.filter(pk=job.pk).update(
        status="failed",
        error=f"cannot assign disc levels: {reason}",
        not_assessed={lv: reason for lv in LEVELS},
    )
    version = create_ai_draft(job_id=job.pk)
    assert version.labels == {}
    assert [f["level"] for f in version.findings] == list(LEVELS)
    assert all(f["text"] == f"Not assessed: {reason}." for f in version.findings)
    assert version.impression.startswith(f"No AI reading: {reason}.")
    assert create_ai_draft(job_id=job.pk) == version  # once per job


def test_a_job_failed_for_another_reason_gets_no_draft():
    _study, job = study_with_reading()
    job.predictions.all().delete()
    InferenceJob.objects.filter(pk=job.pk).update(
        status="failed", error="model weights refused: sha256 mismatch"
    )
    with pytest.raises(DraftNotPossible, match="failed"):
        create_ai_draft(job_id=job.pk)
    assert not Report.objects.exists()
