"""Data for a schemathesis run: an admin (every operation allowed), a few studies with
images and a report each, so that every operation answers with data of each kind: NLP
labels of every report, gold labels of the first, the shipped model version, a finished
inference job with its predictions on the first two studies, and their AI reports (the
first signed, so it exports as FHIR; the second a draft). Run inside Django
(``manage.py shell -c``) on a throw-away database; prints nothing but the admin's
username."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from pydicom.uid import generate_uid

from accounts.services import create_user
from inference.models import InferenceJob, ModelVersion, Prediction
from inference.services.default_model import register_default_model
from labeling.curation.services import save_decisions
from labeling.selectors import newest_nlp_labels
from labeling.services import current_labeller, label_reports
from reports.services import create_ai_draft, sign_report
from spine.labels import FIELDS, canal_class
from studies.models import RadiologistReport, Study
from studies.services.report_import import import_report_file
from tests.dicom.factory import make_mr, to_bytes

ADMIN = "st-admin"

REPORT = (
    "FINDINGS:\nL4-5: Broad-based disc bulge with mild canal stenosis.\n"
    "L5-S1: Small central protrusion.\nThe remaining levels are normal."
)


def seed(*, password: str, studies: int = 3, slices: int = 3) -> None:
    create_user(username=ADMIN, password=password, role="admin")
    with tempfile.TemporaryDirectory(prefix="radbot-st-dicom-") as folder:
        for n in range(studies):
            study_uid, series_uid, frame = generate_uid(), generate_uid(), generate_uid()
            for index in range(slices):
                ds = make_mr(
                    PatientID=f"MRN-ST-{n:03d}",
                    PatientName=f"Test^Patient{n}",
                    AccessionNumber=f"ACC-ST-{n:03d}",
                    StudyInstanceUID=study_uid,
                    SeriesInstanceUID=series_uid,
                    FrameOfReferenceUID=frame,
                    InstanceNumber=index + 1,
                    ImagePositionPatient=[-4.0 + 4.0 * index, -100.0, 100.0],
                )
                (Path(folder) / f"s{n}-{index}.dcm").write_bytes(to_bytes(ds))
        call_command("ingest", folder, quiet=True)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["study_uid", "text"])
    for uid in Study.objects.values_list("study_instance_uid", flat=True):
        writer.writerow([uid, REPORT])
    summary = import_report_file(name="reports.csv", data=rows.getvalue().encode(), source="import")
    if summary.fatal_error or summary.imported != Study.objects.count():
        raise SystemExit(f"seeding reports failed: {summary.as_dict()}")
    _seed_labels_models_and_reports(password=password)
    print(ADMIN)


def _seed_labels_models_and_reports(*, password: str) -> None:
    admin = get_user_model().objects.get(username=ADMIN)
    reports = list(RadiologistReport.objects.select_related("study").order_by("pk"))
    labeller, version = current_labeller()
    label_reports(reports=reports, labeller=labeller, version=version)
    first = reports[0]
    # The labeller's proposal, accepted as it stands: gold, as nobody disagrees.
    proposal = {
        label.level.level: {name: getattr(label, name) for name in FIELDS}
        for label in newest_nlp_labels(report=first)
    }
    save_decisions(author=admin, report_id=first.pk, token=0, decisions=proposal)
    model = register_default_model()
    for n, report in enumerate(reports[:2]):
        job = _finished_job(report.study, model)
        draft = create_ai_draft(job_id=job.pk)
        if n == 0:
            sign_report(
                report=draft.report, user=admin, password=password, version_number=draft.number
            )


def _finished_job(study: Study, model: ModelVersion) -> InferenceJob:
    """A done job with a reading per level, written directly (the seeded images are too
    small for the models to name a level)."""
    job = InferenceJob.objects.create(
        study=study,
        model_version=model,
        status=InferenceJob.Status.DONE,
        progress=100,
        finished_at=timezone.now(),
    )
    for index, level in enumerate(study.levels.order_by("level")):
        disc = "bulge" if level.level == "L4-L5" else "none"
        Prediction.objects.create(
            job=job,
            level=level,
            model_version=model,
            disc=disc,
            canal_stenosis="none",
            left_foraminal="none",
            right_foraminal="none",
            canal_class=canal_class(disc, "none"),
            probabilities={"bulging": 0.9 if disc == "bulge" else 0.1, "herniation": 0.05},
            ap_diameter_mm=12.0 + index,
            confidence=0.9,
            centre_mm=[0.0, -60.0 + 20.0 * index, 100.0],
        )
    return job
