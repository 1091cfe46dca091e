"""Stored studies and tokens for the DICOMweb tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import issue_token
from studies.models import Study
from studies.services.ingest import ingest_uploaded_files
from tests.dicom.factory import stored_uid
from tests.factories import make_user
from tests.studies.batch import sagittal_series


@dataclass
class StoredStudy:
    study: str  # the keyed UIDs the archive stores
    series: str
    sops: list[str]  # in instance number order
    files: list[tuple[str, bytes]]  # as sent (original UIDs)
    pseudonym: str


def store_study(n: int = 3, *, patient_id: str = "MRN-0001", **overrides) -> StoredStudy:
    """Ingest a small sagittal series through the upload path."""
    files = sagittal_series(n, patient_id=patient_id, **overrides)
    summary = ingest_uploaded_files(
        uploads=[SimpleUploadedFile(name, data) for name, data in files]
    )
    assert len(summary.stored) == n, summary.rejected
    sent = [pydicom.dcmread(io.BytesIO(data)) for _, data in files]
    study = Study.objects.select_related("patient").get(
        study_instance_uid=stored_uid(sent[0].StudyInstanceUID)
    )
    sops = [stored_uid(ds.SOPInstanceUID) for ds in sent]
    return StoredStudy(
        study=study.study_instance_uid,
        series=stored_uid(sent[0].SeriesInstanceUID),
        sops=sops,
        files=files,
        pseudonym=study.patient.pseudonym,
    )


@pytest.fixture
def no_ai_after_ingest(settings):
    # The tests ingest through the real path; the models are not what they check.
    settings.RADBOT_INFER_AFTER_INGEST = False


@pytest.fixture
def stored(db, no_ai_after_ingest) -> StoredStudy:
    return store_study(3)


def token_for(role: str) -> str:
    _, key = issue_token(user=make_user(role))
    return key


@pytest.fixture
def researcher_token(db) -> str:
    return token_for("researcher")


@pytest.fixture
def annotator_token(db) -> str:
    return token_for("annotator")
