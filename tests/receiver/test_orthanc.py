"""A PACS sends a study to the listener: Orthanc, started for the test from a configuration
of its own, is given a synthetic study through its REST API and told to send it to the
listener (`/modalities/<name>/store`), as an operator or a routing rule would."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pydicom
import pytest
import requests

from audit.models import AccessEvent
from studies.models import Instance, Study
from studies.services.receiving import complete_stable_studies
from tests.conftest import require_service
from tests.dicom.factory import stored_uid
from tests.processes import free_port, wait_until
from tests.receiver.senders import LISTENER_AE

pytestmark = pytest.mark.slow


def _orthanc_binary() -> str:
    found = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin:/usr/bin")
    if found is None:
        require_service("Orthanc (apt-get install orthanc)")
    return str(found)


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/system", timeout=2).ok
    except requests.ConnectionError:
        return False


@pytest.fixture
def orthanc(tmp_path, dicom_port):
    """Orthanc on free loopback ports, its storage in tmp, the listener as modality "radbot"."""
    binary = _orthanc_binary()
    http_port, dicom_port_orthanc = free_port(), free_port()
    storage = tmp_path / "orthanc-storage"
    config = {
        "Name": "radbot-test-pacs",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port_orthanc,
        "DicomAet": "ORTHANC",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpsCACertificates": "",
        "Plugins": [],
        "SaveJobs": False,
        "DicomAssociationCloseDelay": 0,  # release at once: the test ends sooner
        "DicomModalities": {"radbot": [LISTENER_AE, "127.0.0.1", dicom_port]},
    }
    path = tmp_path / "orthanc.json"
    path.write_text(json.dumps(config))
    log = tmp_path / "orthanc.log"
    process = subprocess.Popen(
        [binary, str(path)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_until(lambda: _up(url) or process.poll() is not None, 60, "Orthanc's REST API")
        if process.poll() is not None:
            pytest.fail(f"Orthanc did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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
