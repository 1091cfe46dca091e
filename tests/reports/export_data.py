"""Signed report versions, predictions and stored images for the export tests."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import zlib
from pathlib import Path

from django.utils import timezone

from inference.models import InferenceJob, Prediction
from reports.exports.document import ExportableReport
from reports.models import Report, ReportVersion
from spine.labels import LEVELS, LevelLabels
from studies.models import DiscLevel, Study
from studies.services.ingest import ingest_paths
from tests.factories import StudyFactory
from tests.reports.review_helpers import model_version
from tests.studies.batch import sagittal_series, write_files

FINDINGS = [
    {"level": "L3-L4", "text": "Mild disc bulge without canal stenosis."},
    {
        "level": "L4-L5",
        "text": "Disc herniation with moderate canal stenosis and mild right foraminal stenosis.",
    },
    {"level": "L5-S1", "text": "No disc bulge or herniation."},
]
IMPRESSION = "Disc herniation at L4-L5 with moderate canal stenosis."
LABELS = {
    "L3-L4": LevelLabels(level="L3-L4", disc="bulge").to_exchange(),
    "L4-L5": LevelLabels(
        level="L4-L5", disc="herniation", canal_stenosis="moderate", right_foraminal="mild"
    ).to_exchange(),
    "L5-S1": LevelLabels(level="L5-S1").to_exchange(),
}
AP_MM = {"L1-L2": 14.2, "L2-L3": 13.1, "L3-L4": 12.4, "L4-L5": 8.7, "L5-S1": 11.9}


def study_with_images(folder: Path, slices: int = 3) -> Study:
    """A study ingested through the normal path, so its files sit under MEDIA_ROOT."""
    write_files(folder, sagittal_series(slices))
    ingest_paths(paths=[folder])
    return Study.objects.select_related("patient").get()


def model_job(study: Study, name: str = "radbot-test-model") -> InferenceJob:
    """A finished job with a prediction per level (written directly: no model runs)."""
    model = model_version(name)
    job = InferenceJob.objects.create(
        study=study,
        model_version=model,
        status=InferenceJob.Status.DONE,
        progress=100,
        finished_at=timezone.now(),
    )
    series = study.series.first()
    middle = (
        series.instances.order_by("slice_location_mm")[series.instances.count() // 2]
        if series
        else None
    )
    best = (
        {
            "canal_stenosis": {
                "series_uid": series.series_instance_uid,
                "instance_number": middle.instance_number,
            }
        }
        if middle
        else {}
    )
    for index, level in enumerate(LEVELS):
        Prediction.objects.create(
            job=job,
            level=DiscLevel.objects.get(study=study, level=level),
            model_version=model,
            disc="herniation" if level == "L4-L5" else "none",
            canal_stenosis="none",
            left_foraminal="none",
            right_foraminal="none",
            canal_class=0,
            probabilities={
                "bulging": 0.1 + index / 10,
                "herniation": 0.93 if level == "L4-L5" else 0.05,
                "canal_stenosis": 0.71,
                "foraminal_stenosis_left": 0.2,
                "foraminal_stenosis_right": 0.64,
            },
            ap_diameter_mm=AP_MM[level],
            best_slice=best,
            centre_mm=[0.0, 0.0, 0.0],
        )
    return job


def content_sha256(findings: list[dict], impression: str) -> str:
    return hashlib.sha256(json.dumps([findings, impression], sort_keys=True).encode()).hexdigest()


def draft(
    study: Study | None = None,
    *,
    number: int = 1,
    job: InferenceJob | None = None,
    based_on: ReportVersion | None = None,
    author=None,
    impression: str = IMPRESSION,
) -> ReportVersion:
    study = study or StudyFactory()
    report, _ = Report.objects.get_or_create(study=study)
    return ReportVersion.objects.create(
        report=report,
        number=number,
        origin=ReportVersion.Origin.EDITED if author else ReportVersion.Origin.GENERATED,
        findings=FINDINGS,
        impression=impression,
        labels=LABELS,
        source_job=job,
        based_on=based_on,
        created_by=author,
    )


def sign(version: ReportVersion, user, *, status: str = "final", reason: str = "") -> ReportVersion:
    version.status = status
    version.signed_by = user
    version.signed_at = timezone.now()
    version.content_sha256 = content_sha256(version.findings, version.impression)
    version.amendment_reason = reason
    version.save()
    return version


def signed_version(
    study: Study | None = None, *, signer, job: InferenceJob | None = None
) -> ReportVersion:
    return sign(draft(study, job=job), signer)


def sample_report(**overrides) -> ExportableReport:
    """A signed report as plain data, for the builders alone (no database)."""
    values = dict(
        study_instance_uid="1.2.826.0.1.3680043.10.999.4242",
        accession="ACC004242",
        patient_pseudonym="P-test004242",
        study_date=dt.date(2023, 5, 17),
        patient_sex="F",
        patient_age_years=57,
        version_number=1,
        status="final",
        findings=tuple((f["level"], f["text"]) for f in FINDINGS),
        impression=IMPRESSION,
        signer_name="Ada Lovelace",
        signer_username="ada",
        signer_family_name="Lovelace",
        signer_given_name="Ada",
        signed_at=dt.datetime(2023, 5, 18, 14, 30, tzinfo=dt.UTC),
        content_sha256=content_sha256(FINDINGS, IMPRESSION),
        edited=True,
        labels=LABELS,
        probabilities={
            "L4-L5": {
                "bulging": 0.12,
                "herniation": 0.93,
                "canal_stenosis": 0.71,
                "foraminal_stenosis_left": 0.2,
                "foraminal_stenosis_right": 0.64,
            }
        },
        ap_diameters_mm={"L4-L5": 8.7, "L5-S1": 11.9},
        model_version_name="radbot-test-model",
    )
    values.update(overrides)
    return ExportableReport(**values)


_PDF_STRING = re.compile(rb"\(((?:\\.|[^\\()])*)\)\s*Tj", re.DOTALL)
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.DOTALL)
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def pdf_text(data: bytes) -> str:
    """Text shown on the pages, one string per text-showing operator (no PDF library needed).

    Undoes the ASCII85 and Flate filters reportlab applies and decodes PDF literal
    strings; good enough for the standard fonts the report uses.
    """
    pieces = []
    for raw in _PDF_STREAM.findall(data):
        for literal in _PDF_STRING.findall(_decoded(raw)):
            pieces.append(_unescape(literal).decode("cp1252", errors="replace"))
    return "\n".join(pieces)


def _decoded(raw: bytes) -> bytes:
    body = raw.strip()
    if body.endswith(b"~>"):
        try:
            body = base64.a85decode(body[:-2])
        except ValueError:
            return raw
    try:
        return zlib.decompress(body)
    except zlib.error:
        return raw


def _unescape(literal: bytes) -> bytes:
    def replace(match: re.Match) -> bytes:
        token = match.group(1)
        if token[:1].isdigit():
            return bytes([int(token, 8) & 0xFF])
        return _PDF_ESCAPES.get(token, token)

    return re.sub(rb"\\([0-7]{1,3}|.)", replace, literal, flags=re.DOTALL)
