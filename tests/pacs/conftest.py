"""A real PACS (Orthanc) next to the listener; the listener's fixtures are the receiver
tests' own."""

from __future__ import annotations

import pytest

from tests.pacs.orthanc import Orthanc
from tests.receiver.conftest import (  # noqa: F401 - fixtures shared with the receiver tests
    dicom_port,
    dicom_server,
    listener_globals,
    spool_dir,
    study_files,
)
from tests.receiver.senders import LISTENER_AE


@pytest.fixture
def orthanc(tmp_path, dicom_port):  # noqa: F811 - the fixture imported above
    """Orthanc with its DICOMweb plugin; the listener is its modality "radbot"."""
    pacs = Orthanc(tmp_path, {"radbot": [LISTENER_AE, "127.0.0.1", dicom_port]}, dicomweb=True)
    pacs.start()
    try:
        yield pacs
    finally:
        pacs.stop()
