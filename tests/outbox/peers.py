"""A real DICOM peer for the outbox's tests: a pynetdicom Storage SCP on a free loopback
port that keeps what it is sent and answers the C-STORE status the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ComprehensiveSRStorage,
    EncapsulatedPDFStorage,
    SegmentationStorage,
)

from inference.ml.classes import CANAL, DISC, VERTEBRA
from inference.selectors import job_mask_path
from studies.models import Series


@dataclass
class Peer:
    port: int
    status: int = 0x0000
    received: list[pydicom.Dataset] = field(default_factory=list)

    def destination(self, name: str = "pacs", **extra) -> dict:
        return {
            "name": name,
            "kind": "dicom",
            "host": "127.0.0.1",
            "port": self.port,
            "ae_title": "PEER",
            **extra,
        }


@contextmanager
def storage_peer() -> Iterator[Peer]:
    ae = AE(ae_title="PEER")
    for sop_class in (ComprehensiveSRStorage, SegmentationStorage, EncapsulatedPDFStorage):
        ae.add_supported_context(sop_class, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
    peer = Peer(port=0)

    def on_store(event):
        if peer.status in (0x0000, 0xB000):
            peer.received.append(event.dataset)
        return peer.status

    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    peer.port = server.server_address[1]
    try:
        yield peer
    finally:
        server.shutdown()


def write_job_mask(job, series: Series) -> None:
    """The segment stage's output for ``job``: a class mask over ``series``' images."""
    numbers = sorted(series.instances.values_list("instance_number", flat=True))
    classes = np.zeros((len(numbers), series.rows, series.columns), dtype=np.uint8)
    classes[:, 4:10, 4:12] = VERTEBRA
    classes[:, 10:12, 4:12] = DISC
    classes[:, 4:12, 14:16] = CANAL
    path = job_mask_path(job.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        classes=classes,
        instance_numbers=np.asarray(numbers),
        series_id=np.int64(series.pk),
        series_uid=np.str_(series.series_instance_uid),
    )
