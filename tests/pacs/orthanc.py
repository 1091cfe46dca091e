"""Orthanc as a real PACS for tests: its own JSON configuration, free loopback ports,
storage in the test's folder, the DICOMweb plugin when Debian's orthanc-dicomweb is
installed; stopped and started again on the same ports and storage. Shared by the
receiver tests (a PACS sends to the listener) and the PACS tests (results go back)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import require_service
from tests.processes import free_port, wait_until

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def orthanc_binary() -> str:
    found = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin:/usr/bin")
    if found is None:
        require_service("Orthanc (apt-get install orthanc)")
    return str(found)


class Orthanc:
    def __init__(self, folder: Path, modalities: dict[str, list], *, dicomweb: bool = False):
        self.binary = orthanc_binary()
        if dicomweb and not DICOMWEB_PLUGIN.is_file():
            require_service("Orthanc's DICOMweb plugin (apt-get install orthanc-dicomweb)")
        self.http_port, self.dicom_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log = folder / "orthanc.log"
        self.config = folder / "orthanc.json"
        storage = folder / "orthanc-storage"
        self.config.write_text(
            json.dumps(
                {
                    "Name": "radbot-test-pacs",
                    "StorageDirectory": str(storage),
                    "IndexDirectory": str(storage),
                    "HttpPort": self.http_port,
                    "DicomPort": self.dicom_port,
                    "DicomAet": "ORTHANC",
                    "RemoteAccessAllowed": False,
                    "AuthenticationEnabled": False,
                    "HttpsCACertificates": "",
                    "Plugins": [str(DICOMWEB_PLUGIN)] if dicomweb else [],
                    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
                    "SaveJobs": False,
                    "DicomAssociationCloseDelay": 0,
                    "DicomModalities": modalities,
                }
            )
        )
        self.process: subprocess.Popen | None = None

    def up(self) -> bool:
        try:
            return requests.get(f"{self.url}/system", timeout=2).ok
        except requests.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, str(self.config)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = self.process
        wait_until(lambda: self.up() or process.poll() is not None, 60, "Orthanc's REST API")
        if process.poll() is not None:
            pytest.fail(f"Orthanc did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def get(self, path: str):
        answer = requests.get(f"{self.url}{path}", timeout=30)
        assert answer.ok, answer.text
        return answer.json()
