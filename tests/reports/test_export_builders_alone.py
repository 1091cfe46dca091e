"""The export builders are pure: they build the formats with no Django loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import datetime as dt
import sys
from reports.exports import fhir, pdf, sr
from reports.exports.document import ExportableReport
report = ExportableReport(
    study_instance_uid="1.2.3.4", accession="A1", patient_pseudonym="P-1", study_date=None,
    version_number=1, status="final", findings=(("L4-L5", "Disc bulge."),), impression="Bulge.",
    signer_name="R", signed_at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC), content_sha256="0" * 64,
)
fhir.validate_bundle(fhir.build_bundle(report))
assert pdf.build_pdf(report).startswith(b"%PDF-")
print(sorted({m.split(".")[0] for m in sys.modules} & {"django", "rest_framework"}))
"""


def test_builders_run_without_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
