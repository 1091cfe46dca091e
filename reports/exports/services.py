"""The export write: build one format of a signed version and record that it left the app."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from reports.audit import record_audit_event
from reports.exports import fhir
from reports.exports.document import basename
from reports.exports.from_models import exportable_report
from reports.models import AuditEvent, ReportVersion

FORMATS: tuple[str, ...] = ("pdf", "fhir", "sr")


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


@transaction.atomic
def export_version(*, version: ReportVersion, user: Any, fmt: str) -> ExportFile:
    """Build ``fmt`` (pdf, fhir or sr) and append an audit event.

    Raises NotExportableError (unsigned version, or no stored images for the SR) and
    FhirValidationError (a bug: the bundle failed its own validation); no event is
    recorded then.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    data = exportable_report(version=version, with_dicom=fmt == "sr")
    stem = basename(data)
    if fmt == "pdf":
        from reports.exports import pdf  # reportlab: loaded by the first PDF, not with the views

        file = ExportFile(pdf.build_pdf(data), pdf.CONTENT_TYPE, f"{stem}.pdf")
    elif fmt == "fhir":
        bundle = fhir.build_bundle(data, timestamp=timezone.now())
        fhir.validate_bundle(bundle)
        file = ExportFile(
            fhir.to_json_bytes(bundle),
            f"{fhir.CONTENT_TYPE}; fhirVersion={fhir.FHIR_VERSION}",
            f"{stem}.fhir.json",
        )
    else:
        from reports.exports import sr  # highdicom (0.2 s to import): loaded by the first SR

        file = ExportFile(sr.to_bytes(sr.build_sr(data)), sr.CONTENT_TYPE, f"{stem}.dcm")
    record_audit_event(
        report=version.report,
        user=user,
        action=AuditEvent.Action.EXPORT,
        version=version,
        detail={
            "format": fmt,
            "bytes": len(file.content),
            "sha256": hashlib.sha256(file.content).hexdigest(),
        },
    )
    return file
