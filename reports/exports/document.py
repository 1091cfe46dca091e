"""The one input every export builder takes: a signed report version as plain data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spine.labels import LEVELS

SIGNED_STATUSES: tuple[str, ...] = ("final", "amended")
PRODUCT = "RadBot Web"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class NotExportableError(ValueError):
    """The version cannot be exported (not signed, or the format lacks what it needs)."""


@dataclass(frozen=True)
class SourceInstance:
    """One stored image the report is based on (DICOM evidence)."""

    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class DicomSource:
    """What the DICOM SR copies from the study's stored (de-identified) images.

    ``study_attributes`` holds patient and general-study module values by DICOM keyword
    (PatientName, PatientID, StudyDate, AccessionNumber, ...), as the images carry them,
    so the SR files under the same patient and study in a PACS.
    """

    study_attributes: Mapping[str, Any]
    instances: tuple[SourceInstance, ...]


@dataclass(frozen=True)
class ExportableReport:
    study_instance_uid: str
    accession: str
    patient_pseudonym: str
    study_date: dt.date | None
    version_number: int
    status: str
    findings: tuple[tuple[str, str], ...]
    impression: str
    signer_name: str
    signed_at: dt.datetime
    content_sha256: str
    signer_username: str = ""
    signer_family_name: str = ""
    signer_given_name: str = ""
    patient_sex: str = ""  # DICOM/Study codes: F, M, O or "" (unknown)
    patient_age_years: int | None = None
    study_description: str = ""
    edited: bool = False  # False: the signed text is the models' draft, unchanged
    amendment_reason: str = ""
    labels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    probabilities: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    ap_diameters_mm: Mapping[str, float] = field(default_factory=dict)
    model_version_name: str = ""
    previous_signed_version: int | None = None
    superseded_by: int | None = None
    key_images: Mapping[str, SourceInstance] = field(default_factory=dict)
    dicom: DicomSource | None = None

    def __post_init__(self) -> None:
        if self.status not in SIGNED_STATUSES:
            raise NotExportableError(
                f"Version {self.version_number} is {self.status}: only signed (final or amended) "
                "versions can be exported."
            )
        if self.signed_at.tzinfo is None:
            raise ValueError("signed_at must be timezone-aware")
        if not _SHA256.fullmatch(self.content_sha256):
            raise ValueError("content_sha256 must be 64 lowercase hex digits")

    @property
    def findings_by_level(self) -> dict[str, str]:
        return dict(self.findings)

    @property
    def levels(self) -> list[str]:
        """Levels with a finding, a coded label or a measurement, in anatomical order.

        A finding under another heading (not a disc level) comes after them, as written.
        """
        present = set(self.findings_by_level) | set(self.labels) | set(self.ap_diameters_mm)
        others = [level for level, _ in self.findings if level not in LEVELS]
        return [level for level in LEVELS if level in present] + others


def disclosure(report: ExportableReport) -> str:
    """The line every export carries: who turned the models' draft into this report."""
    if report.edited:
        return f"AI-generated draft edited and signed by {report.signer_name}."
    return f"AI-generated draft reviewed and signed without edits by {report.signer_name}."


def basename(report: ExportableReport) -> str:
    """File name stem: the pseudonymous accession (or study UID) and the version."""
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", report.accession or report.study_instance_uid).strip("-")
    return f"radbot-report-{stem or 'study'}-v{report.version_number}"


def plain_text(report: ExportableReport) -> str:
    """The report as plain text: FHIR presentedForm and anything else that wants words only."""
    lines = [
        f"{PRODUCT} - MR lumbar spine report",
        f"Patient (pseudonym): {report.patient_pseudonym}",
        f"Accession: {report.accession or '-'}",
        f"Study date: {report.study_date.isoformat() if report.study_date else '-'}",
        f"Study UID: {report.study_instance_uid}",
        "",
        "FINDINGS",
    ]
    lines += [f"{level}: {text}" for level, text in report.findings]
    lines += ["", "IMPRESSION", report.impression, ""]
    if report.amendment_reason:
        lines += [f"Amendment reason: {report.amendment_reason}", ""]
    lines += [
        disclosure(report),
        f"Status: {report.status}, version {report.version_number}",
        f"Signed: {report.signed_at.isoformat()} by {report.signer_name}",
        f"Content SHA-256: {report.content_sha256}",
    ]
    if report.model_version_name:
        lines.append(f"Model version: {report.model_version_name}")
    return "\n".join(lines) + "\n"
