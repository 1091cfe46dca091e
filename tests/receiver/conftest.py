"""The listener's test fixtures: a synthetic study on disk, and the DICOM server running in
this process against the test database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydicom import config as pydicom_config
from pynetdicom import _config

from studies.receiver import ae
from studies.synth.generator import generate_study
from tests.receiver.senders import ALLOWED_AES, LISTENER_AE

SEED = 1414


@pytest.fixture(scope="module")
def study_files(tmp_path_factory) -> list[Path]:
    """The DICOM files of one synthetic lumbar spine study (7 series, 45 images)."""
    out = tmp_path_factory.mktemp("synth")
    generate_study(SEED, 0, out)
    return sorted(out.rglob("*.dcm"))


@pytest.fixture
def spool_dir(settings, tmp_path) -> Path:
    settings.RADBOT_DICOM_SPOOL_DIR = tmp_path / "spool"
    return settings.RADBOT_DICOM_SPOOL_DIR


@pytest.fixture
def listener_globals():
    """``ae.start`` sets pynetdicom's receiving (into memory) and logging, and pydicom's
    validation (process-wide, as a listener process wants them): put them back after the
    test."""
    saved = (
        _config.STORE_RECV_CHUNKED_DATASET,
        _config.LOG_HANDLER_LEVEL,
        pydicom_config.settings.reading_validation_mode,
    )
    yield
    (
        _config.STORE_RECV_CHUNKED_DATASET,
        _config.LOG_HANDLER_LEVEL,
        pydicom_config.settings.reading_validation_mode,
    ) = saved


@pytest.fixture
def dicom_server(spool_dir, listener_globals):
    """The listener's DICOM server alone (no completion loop), on a free port."""
    server = ae.start(
        ae_title=LISTENER_AE,
        allowed_aes=ALLOWED_AES,
        bind="127.0.0.1",
        port=0,
        spool_root=spool_dir,
    )
    yield server
    server.shutdown()
    deadline = time.monotonic() + 10
    while server.active_associations and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def dicom_port(transactional_db, eager_celery, dicom_server) -> int:
    """The server's port, for tests that store: the test stores the received studies
    itself, so that no two threads write at once. Tasks run in-process, as in the
    embedded mode: the thumbnails are drawn from this test's files."""
    return dicom_server.server_address[1]
