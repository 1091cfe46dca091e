"""Data for a schemathesis run: an admin (every operation allowed), a few studies with
images and a report each. Run inside Django (``manage.py shell -c``) on a throw-away
database; prints nothing but the admin's username."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from django.core.management import call_command
from pydicom.uid import generate_uid

from accounts.services import create_user
from studies.models import Study
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
    print(ADMIN)
