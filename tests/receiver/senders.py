"""Real DICOM senders for the listener's tests: dcmtk's echoscu and storescu, and pynetdicom's
SCU (for the exact status codes and Error Comments)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage, MRImageStorage, Verification

from tests.conftest import require_service

LISTENER_AE = "RADBOT"
ALLOWED_AES = ("STORESCU", "ECHOSCU", "RADBOT_TEST", "ORTHANC")

_RESPONSE = re.compile(r"Received Store Response \(([^)]*)\)")


def dcmtk(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        require_service(f"dcmtk's {tool} (apt-get install dcmtk)")
    return str(path)


def echoscu(port: int, *, calling: str = "ECHOSCU", called: str = LISTENER_AE) -> tuple[int, str]:
    """echoscu's exit status and output."""
    done = subprocess.run(
        [dcmtk("echoscu"), "-v", "-aet", calling, "-aec", called, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def storescu(
    port: int, files: Iterable[Path], *, calling: str = "STORESCU", called: str = LISTENER_AE
) -> list[str]:
    """Send ``files`` in one association (not stopping at a failure); the status storescu
    reports for each file, in order ("Success", "Error: CannotUnderstand", ...)."""
    paths = [str(f) for f in files]
    done = subprocess.run(
        [
            dcmtk("storescu"),
            "-v",
            "-nh",
            "-aet",
            calling,
            "-aec",
            called,
            "127.0.0.1",
            str(port),
            *paths,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert output.count("Requesting Association") == 1, output  # one association for all
    statuses = _RESPONSE.findall(output)
    assert len(statuses) == len(paths), output
    return statuses


@contextmanager
def association(
    port: int,
    *,
    calling: str = "RADBOT_TEST",
    called: str = LISTENER_AE,
    contexts: Iterable[str] = (MRImageStorage, CTImageStorage, Verification),
) -> Iterator[Association]:
    """An association from pynetdicom's SCU; released (or aborted) at the end."""
    ae = AE(ae_title=calling)
    for context in contexts:
        ae.add_requested_context(context)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()
