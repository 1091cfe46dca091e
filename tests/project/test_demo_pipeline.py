"""`make demo`'s pipeline, end to end on two studies (radbot_web's demo_pipeline command):
synthesise, ingest, import the reports, label them, import the masks, run the shipped
model and draft the AI reports. `make demo` then only creates the demo users and serves."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from inference.models import InferenceJob, Prediction
from labeling.models import NlpLabel
from reports.models import ReportVersion
from studies.models import RadiologistReport, Study

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_the_demo_pipeline_stores_labels_reads_and_drafts_every_study(tmp_path, eager_celery):
    out = io.StringIO()
    call_command("demo_pipeline", studies=2, seed=2020, data_dir=str(tmp_path / "demo"), stdout=out)

    assert Study.objects.count() == 2
    assert RadiologistReport.objects.count() == 2
    assert NlpLabel.objects.count() == 2 * 5  # every level of every report
    jobs = InferenceJob.objects.all()
    assert [job.status for job in jobs] == [InferenceJob.Status.DONE] * 2, [j.error for j in jobs]
    assert Prediction.objects.filter(job__in=jobs).count() > 0
    drafted = set(ReportVersion.objects.values_list("report__study_id", flat=True))
    assert drafted == set(Study.objects.values_list("pk", flat=True))
    assert "demo archive: 2 studies" in out.getvalue()

    # `make demo` re-runs it on the same folder: nothing is stored twice.
    call_command("demo_pipeline", studies=2, seed=2020, data_dir=str(tmp_path / "demo"), stdout=out)
    assert Study.objects.count() == 2 and RadiologistReport.objects.count() == 2
