"""A PACS sends a study to the listener: Orthanc, started for the test from a configuration
of its own, is given a synthetic study through its REST API and told to send it to the
listener (`/modalities/<name>/store`), as an operator or a routing rule would."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
import requests

from audit.models import AccessEvent
from studies.models import Instance, Study
from studies.services.receiving import complete_stable_studies
from tests.dicom.factory import stored_uid
from tests.pacs.orthanc import Orthanc
from tests.receiver.senders import LISTENER_AE

pytestmark = pytest.mark.slow


@pytest.fixture
def orthanc(tmp_path, dicom_port):
    """Orthanc on free loopback ports, its storage in tmp, the listener as modality "radbot":
    its REST API's URL."""
    pacs = Orthanc(tmp_path, {"radbot": [LISTENER_AE, "127.0.0.1", dicom_port]})
    pacs.start()
    try:
        yield pacs.url
    finally:
        pacs.stop()


def test_orthanc_sends_a_study_to_the_listener_through_its_rest_api(
    orthanc, study_files: list[Path]
):
    for path in study_files:
        answer = requests.post(f"{orthanc}/instances", data=path.read_bytes(), timeout=30)
        assert answer.ok, answer.text
    (orthanc_study,) = requests.get(f"{orthanc}/studies", timeout=10).json()
    assert requests.post(f"{orthanc}/modalities/radbot/echo", data="{}", timeout=30).ok

    sent = requests.post(
        f"{orthanc}/modalities/radbot/store",
        json={"Resources": [orthanc_study], "Synchronous": True},
        timeout=300,
    )

    assert sent.ok, sent.text
    job = sent.json()
    assert job.get("FailedInstancesCount", 0) == 0 and job["InstancesCount"] == 45, job
    (completion,) = complete_stable_studies(stable_s=0)
    assert len(completion.summary.stored) == 45 and not completion.summary.rejected
    original = pydicom.dcmread(study_files[0])
    study = Study.objects.get()
    assert study.study_instance_uid == stored_uid(original.StudyInstanceUID)
    assert Instance.objects.count() == 45
    assert AccessEvent.objects.get(action="upload").username == "dicom:ORTHANC"

    # Sent again by the PACS: acknowledged, nothing stored twice.
    again = requests.post(
        f"{orthanc}/modalities/radbot/store",
        json={"Resources": [orthanc_study], "Synchronous": True},
        timeout=300,
    )
    assert again.ok and again.json().get("FailedInstancesCount", 0) == 0, again.text
    assert complete_stable_studies(stable_s=0) == []
    assert Instance.objects.count() == 45
