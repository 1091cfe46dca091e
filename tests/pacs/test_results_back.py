"""Results back into a real PACS: Orthanc sends a synthetic study to the listener, the
shipped model reads it (the after-ingest AI run, tasks in-process as in the embedded
mode), its draft is signed, and Orthanc then holds the SR (sent by C-STORE) and the SEG of
the model's segmentation (sent by STOW-RS to its DICOMweb plugin) inside the ORIGINAL
study. With Orthanc stopped, an amendment's results wait and are retried; once Orthanc is
back, the sweep sends them.
"""

from __future__ import annotations

from datetime import timedelta

import pydicom
import pytest
import requests
from django.utils import timezone

from inference.models import InferenceJob
from inference.selectors import job_mask_path
from inference.services.default_model import register_default_model
from reports.models import ReportVersion, ResultDelivery
from reports.outbox import dispatch
from reports.services import save_draft, sign_report
from studies.models import Study
from studies.services.receiving import complete_stable_studies
from tests.factories import PASSWORD
from tests.pacs.orthanc import Orthanc

pytestmark = pytest.mark.slow


def _modalities(orthanc: Orthanc, study_id: str) -> list[str]:
    return sorted(
        s["MainDicomTags"].get("Modality", "") for s in orthanc.get(f"/studies/{study_id}/series")
    )


def test_signed_results_file_into_the_original_study_and_survive_an_outage(
    settings,
    orthanc,
    study_files,
    radiologist,
    django_capture_on_commit_callbacks,
):
    for path in study_files:
        assert requests.post(f"{orthanc.url}/instances", data=path.read_bytes(), timeout=30).ok
    (orthanc_study,) = orthanc.get("/studies")
    shipped = register_default_model()
    settings.RADBOT_INFER_AFTER_INGEST = True  # the AI reads every stored study
    sent = requests.post(
        f"{orthanc.url}/modalities/radbot/store",
        json={"Resources": [orthanc_study], "Synchronous": True},
        timeout=300,
    )
    assert sent.ok and sent.json().get("FailedInstancesCount", 0) == 0, sent.text
    (completion,) = complete_stable_studies(stable_s=0)
    assert len(completion.summary.stored) == 45
    study = Study.objects.get()
    original_uid = str(pydicom.dcmread(study_files[0], stop_before_pixels=True).StudyInstanceUID)
    assert study.study_instance_uid != original_uid  # stored under a keyed UID

    settings.RADBOT_RESULT_DESTINATIONS = [
        {
            "name": "pacs",
            "kind": "dicom",
            "host": "127.0.0.1",
            "port": orthanc.dicom_port,
            "ae_title": "ORTHANC",
            "send": ["sr"],
        },
        {
            "name": "pacs-web",
            "kind": "dicomweb",
            "url": f"{orthanc.url}/dicom-web",
            "send": ["seg"],
        },
    ]
    (job,) = InferenceJob.objects.filter(study=study)
    assert job.status == InferenceJob.Status.DONE and job.model_version == shipped, job.error
    assert job_mask_path(job.pk).exists()  # the segmentation the SEG is made from
    draft = ReportVersion.objects.filter(report__study=study).latest("number")  # the AI's
    with django_capture_on_commit_callbacks(execute=True):
        signed = sign_report(
            report=draft.report, user=radiologist, password=PASSWORD, version_number=draft.number
        )

    rows = list(ResultDelivery.objects.filter(version=signed))
    assert {(r.kind, r.status) for r in rows} == {("sr", "sent"), ("seg", "sent")}, [
        r.last_error for r in rows
    ]
    assert orthanc.get("/studies") == [orthanc_study]  # no second study: filed into the first
    assert _modalities(orthanc, orthanc_study).count("SR") == 1
    assert _modalities(orthanc, orthanc_study).count("SEG") == 1
    found = requests.post(
        f"{orthanc.url}/tools/find",
        json={"Level": "Series", "Query": {"StudyInstanceUID": original_uid, "Modality": "SEG"}},
        timeout=30,
    ).json()
    assert len(found) == 1
    qido = orthanc.get(f"/dicom-web/studies/{original_uid}/series?Modality=SR")
    assert len(qido) == 1 and qido[0]["0020000D"]["Value"] == [original_uid]

    # Orthanc goes down; an amendment is signed; its results wait.
    orthanc.stop()
    findings = [{"level": f["level"], "text": f["text"]} for f in signed.findings]
    amended_draft = save_draft(
        report=signed.report,
        user=radiologist,
        findings=findings,
        impression=signed.impression + " Clinical correlation advised.",
        base_version_number=signed.number,
        reason="Added advice.",
    )
    settings.RADBOT_RESULT_DESTINATIONS = settings.RADBOT_RESULT_DESTINATIONS[:1]
    with django_capture_on_commit_callbacks(execute=True):
        amended = sign_report(
            report=signed.report,
            user=radiologist,
            password=PASSWORD,
            version_number=amended_draft.number,
        )
    row = ResultDelivery.objects.get(version=amended)
    assert row.status == "pending" and row.attempts == 1, row.last_error
    assert "could not be reached" in row.last_error
    assert row.next_attempt_at > timezone.now()

    orthanc.start()
    ResultDelivery.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )  # its back-off has passed
    assert dispatch.send_due_results() == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2, row.last_error
    sr_series = [
        s
        for s in orthanc.get(f"/studies/{orthanc_study}/series")
        if s["MainDicomTags"].get("Modality") == "SR"
    ]
    assert len(sr_series) == 1 and len(sr_series[0]["Instances"]) == 2  # v1 and the amendment
