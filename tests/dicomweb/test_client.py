"""dicomweb-client against a live server: what a viewer or a script does with /dicomweb/
(issue #14, parts 2 and 5): search, retrieve instances, metadata, frames and rendered
images, store with STOW-RS."""

from __future__ import annotations

import io
import threading
import time

import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient
from PIL import Image
from requests import HTTPError

from studies.models import Instance
from tests.dicom.factory import make_mr, stored_uid
from tests.dicomweb.conftest import store_study, token_for
from tests.studies.batch import sagittal_series


@pytest.fixture
def dicomweb(live_server, settings, no_ai_after_ingest, eager_celery):
    # Thumbnails are rendered in the server's thread (eager_celery), not by a CI worker
    # process: a worker's render still reading the test database when the test ends
    # deadlocked with the flush that empties it (seen once in CI).
    # dicomweb-client sends "Host: localhost" without the live server's port
    settings.RADBOT_DICOMWEB_URL = f"{live_server.url}/dicomweb"

    sessions: list[requests.Session] = []

    def client(role: str = "researcher", token: str | None = None) -> DICOMwebClient:
        key = token if token is not None else token_for(role)
        sessions.append(requests.Session())
        return DICOMwebClient(
            url=f"{live_server.url}/dicomweb",
            session=sessions[-1],
            headers={"Authorization": f"Token {key}", "Connection": "close"},
        )

    yield client
    # Each server thread closes its database connection (the in-memory SQLite one the
    # live server shares) when its client connection ends: "Connection: close" above,
    # and waiting here, end them while the live server still shares it.
    for session in sessions:
        session.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.01)


def test_search_and_retrieve(dicomweb):
    stored = store_study(3, patient_id="MRN-A", StudyDate="20240310")
    store_study(2, patient_id="MRN-B", StudyDate="20220101")
    client = dicomweb()

    studies = client.search_for_studies()
    assert len(studies) == 2
    found = client.search_for_studies(search_filters={"PatientID": stored.pseudonym})
    assert [pydicom.Dataset.from_json(s).StudyInstanceUID for s in found] == [stored.study]
    assert len(client.search_for_studies(limit=1, offset=1)) == 1
    assert client.search_for_studies(search_filters={"ModalitiesInStudy": "CT"}) == []

    series = client.search_for_series(stored.study)
    assert [pydicom.Dataset.from_json(s).SeriesInstanceUID for s in series] == [stored.series]
    instances = client.search_for_instances(stored.study, stored.series, fields=["all"])
    assert [pydicom.Dataset.from_json(i).SOPInstanceUID for i in instances] == stored.sops

    instance = client.retrieve_instance(stored.study, stored.series, stored.sops[0])
    sent = pydicom.dcmread(io.BytesIO(stored.files[0][1]))
    assert instance.SOPInstanceUID == stored.sops[0]
    assert instance.PatientID == stored.pseudonym and instance.PatientName == stored.pseudonym
    assert (instance.pixel_array == sent.pixel_array).all()
    assert len(client.retrieve_series(stored.study, stored.series)) == 3
    assert len(client.retrieve_study(stored.study)) == 3

    metadata = client.retrieve_instance_metadata(stored.study, stored.series, stored.sops[0])
    assert metadata["00080018"]["Value"] == [stored.sops[0]]
    (frame,) = client.retrieve_instance_frames(stored.study, stored.series, stored.sops[0], [1])
    assert frame == sent.PixelData
    # the BulkDataURI of Pixel Data is the instance's frames
    assert client.retrieve_bulkdata(metadata["7FE00010"]["BulkDataURI"]) == [sent.PixelData]
    assert len(client.retrieve_series_metadata(stored.study, stored.series)) == 3

    png = client.retrieve_instance_rendered(
        stored.study, stored.series, stored.sops[0], media_types=("image/png",)
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (sent.Columns, sent.Rows)


def test_store_with_a_corrupt_part(dicomweb):
    client = dicomweb()
    good = [pydicom.dcmread(io.BytesIO(data)) for _, data in sagittal_series(2)]
    no_spacing = make_mr(PatientID="MRN-0001", PixelSpacing=None)  # not an MR image as stored
    answer = client.store_instances([*good, no_spacing])

    assert [r.ReferencedSOPInstanceUID for r in answer.ReferencedSOPSequence] == [
        ds.SOPInstanceUID for ds in good
    ]
    (failed,) = answer.FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == no_spacing.SOPInstanceUID
    assert failed.FailureReason == 0xA900 and "PixelSpacing" in failed.TextValue
    assert Instance.objects.count() == 2

    # what the answer points at is there, under the archive's keyed UIDs
    url = answer.ReferencedSOPSequence[0].RetrieveURL
    assert url.endswith(f"/instances/{stored_uid(good[0].SOPInstanceUID)}")
    study = stored_uid(good[0].StudyInstanceUID)
    assert answer.RetrieveURL.endswith(f"/dicomweb/studies/{study}")
    assert len(client.search_for_instances(study)) == 2

    with pytest.raises(HTTPError) as refused:  # nothing stored: 409
        client.store_instances([no_spacing])
    assert refused.value.response.status_code == 409


def test_credentials_and_roles(dicomweb):
    stored = store_study(1)
    with pytest.raises(HTTPError) as anonymous:
        dicomweb(token="not-a-token").search_for_studies()
    assert anonymous.value.response.status_code == 401
    annotator = dicomweb("annotator")
    assert len(annotator.search_for_studies()) == 1
    with pytest.raises(HTTPError) as forbidden:
        annotator.store_instances([pydicom.dcmread(io.BytesIO(stored.files[0][1]))])
    assert forbidden.value.response.status_code == 403
