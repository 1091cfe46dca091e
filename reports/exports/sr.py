"""A signed report as a DICOM Comprehensive SR document (highdicom).

The SR joins the study it reports on (same StudyInstanceUID, patient and study modules
copied from the stored images) in a series of its own, and lists every stored image as
evidence (Current Requested Procedure Evidence). It is VERIFIED, FINAL and COMPLETE, the
verifying observer being the signer at the time of signing.

Content tree (no template is claimed; value types and relationships are those the
Comprehensive SR IOD allows):

    CONTAINER Diagnostic Imaging Report (LN 18748-4)
      HAS CONCEPT MOD  Language = en-US
      HAS OBS CONTEXT  person observer (signer), device observer (image model version)
      HAS CONCEPT MOD  Procedure reported = MR Lumbar spine (LN 24968-0)
      CONTAINS CONTAINER Findings (DCM 121070)
        CONTAINS TEXT Finding (DCM 121071), one per level
          HAS CONCEPT MOD CODE Finding Site = Level of Lx/Ly intervertebral disc (SCT)
          HAS PROPERTIES  CODE disc contour / canal / foraminal / subarticular grades
          HAS PROPERTIES  NUM canal AP diameter (mm), NUM model probabilities ({1})
          INFERRED FROM   IMAGE key slice
      CONTAINS CONTAINER Impressions (DCM 121072)
        CONTAINS TEXT Impression (DCM 121073)
      CONTAINS TEXT amendment reason, AI disclosure, content SHA-256

UIDs derive from the study UID and version number: exporting a version twice gives the
same SOP Instance UID, so a PACS stores it once.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.sr.codedict import codes as dicom_codes
from pydicom.uid import ComprehensiveSRStorage, ExplicitVRLittleEndian, generate_uid

from reports.exports import codes
from reports.exports.codes import Concept
from reports.exports.document import PRODUCT, ExportableReport, NotExportableError, disclosure

CONTENT_TYPE = "application/dicom"
SR_SERIES_NUMBER = 990
_REL = hd.sr.RelationshipTypeValues
_UNITY = hd.sr.CodedConcept("1", "UCUM", "no units")
_MM = hd.sr.CodedConcept("mm", "UCUM", "millimeter")


def _local(concept: Concept) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(concept.code, codes.LOCAL_DICOM_SCHEME, concept.display)


def _sct(concept: Concept) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(concept.code, "SCT", concept.display)


def series_uid(study_instance_uid: str) -> str:
    return generate_uid(entropy_srcs=[study_instance_uid, "radbot-web/sr-series"])


def sop_instance_uid(study_instance_uid: str, version_number: int) -> str:
    return generate_uid(entropy_srcs=[study_instance_uid, "radbot-web/sr", str(version_number)])


def _person_name(report: ExportableReport) -> str:
    family = report.signer_family_name or report.signer_name or report.signer_username
    return f"{family}^{report.signer_given_name}"


def _evidence(report: ExportableReport) -> list[Dataset]:
    if report.dicom is None or not report.dicom.instances:
        raise NotExportableError("The study has no stored images for the DICOM SR to reference.")
    datasets = []
    for index, instance in enumerate(report.dicom.instances):
        ds = Dataset()
        if index == 0:
            for keyword, value in report.dicom.study_attributes.items():
                setattr(ds, keyword, value)
            for keyword in (
                "PatientName",
                "PatientID",
                "PatientBirthDate",
                "PatientSex",
                "StudyID",
                "AccessionNumber",
                "StudyDate",
                "StudyTime",
                "ReferringPhysicianName",
            ):
                if keyword not in ds:
                    setattr(ds, keyword, "")
        ds.StudyInstanceUID = report.study_instance_uid
        ds.SeriesInstanceUID = instance.series_instance_uid
        ds.SOPClassUID = instance.sop_class_uid
        ds.SOPInstanceUID = instance.sop_instance_uid
        datasets.append(ds)
    return datasets


def _level_item(report: ExportableReport, level: str, text: str) -> hd.sr.TextContentItem:
    item = hd.sr.TextContentItem(
        name=dicom_codes.DCM.Finding, value=text, relationship_type=_REL.CONTAINS
    )
    children: list[Any] = []
    if level in codes.LEVEL_SNOMED:
        children.append(
            hd.sr.CodeContentItem(
                name=dicom_codes.SCT.FindingSite,
                value=_sct(codes.LEVEL_SNOMED[level]),
                relationship_type=_REL.HAS_CONCEPT_MOD,
            )
        )
    labels = report.labels.get(level, {})
    for field_name, concept in codes.FIELD_LOCAL.items():
        value = labels.get(field_name)
        if value is None:
            continue
        coded = (
            _local(codes.DISC_LOCAL[value])
            if field_name == "disc"
            else _sct(codes.GRADE_SNOMED[value])
        )
        children.append(
            hd.sr.CodeContentItem(
                name=_local(concept), value=coded, relationship_type=_REL.HAS_PROPERTIES
            )
        )
    ap = report.ap_diameters_mm.get(level)
    if ap is not None:
        children.append(
            hd.sr.NumContentItem(
                name=_local(codes.AP_DIAMETER),
                value=round(float(ap), 2),
                unit=_MM,
                relationship_type=_REL.HAS_PROPERTIES,
            )
        )
    for key, probability in sorted(report.probabilities.get(level, {}).items()):
        concept = codes.PROBABILITY_LOCAL.get(key)
        if concept is not None:
            children.append(
                hd.sr.NumContentItem(
                    name=_local(concept),
                    value=round(float(probability), 4),
                    unit=_UNITY,
                    relationship_type=_REL.HAS_PROPERTIES,
                )
            )
    key_image = report.key_images.get(level)
    if key_image is not None:
        children.append(
            hd.sr.ImageContentItem(
                name=dicom_codes.DCM.BestIllustrationOfFinding,
                referenced_sop_class_uid=key_image.sop_class_uid,
                referenced_sop_instance_uid=key_image.sop_instance_uid,
                relationship_type=_REL.INFERRED_FROM,
            )
        )
    if children:
        item.ContentSequence = hd.sr.ContentSequence(children)
    return item


def _content(report: ExportableReport) -> hd.sr.ContainerContentItem:
    root = hd.sr.ContainerContentItem(name=dicom_codes.LN.DiagnosticImagingReport)
    items: list[Any] = [
        *hd.sr.LanguageOfContentItemAndDescendants(
            hd.sr.CodedConcept("en-US", "RFC5646", "English (United States)")
        ),
        *hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=dicom_codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                    name=_person_name(report)
                ),
            ),
            observer_device_context=_device_context(report),
        ),
        hd.sr.CodeContentItem(
            name=dicom_codes.DCM.ProcedureReported,
            value=hd.sr.CodedConcept(codes.REPORT_CODE.code, "LN", codes.REPORT_CODE.display),
            relationship_type=_REL.HAS_CONCEPT_MOD,
        ),
    ]
    findings = hd.sr.ContainerContentItem(
        name=dicom_codes.DCM.Findings, relationship_type=_REL.CONTAINS
    )
    findings.ContentSequence = hd.sr.ContentSequence(
        [_level_item(report, level, text) for level, text in report.findings]
    )
    impressions = hd.sr.ContainerContentItem(
        name=dicom_codes.DCM.Impressions, relationship_type=_REL.CONTAINS
    )
    impressions.ContentSequence = hd.sr.ContentSequence(
        [
            hd.sr.TextContentItem(
                name=dicom_codes.DCM.Impression,
                value=report.impression,
                relationship_type=_REL.CONTAINS,
            ),
        ]
    )
    items += [findings, impressions]
    if report.amendment_reason:
        items.append(
            hd.sr.TextContentItem(
                name=_local(codes.AMENDMENT_REASON),
                value=report.amendment_reason,
                relationship_type=_REL.CONTAINS,
            )
        )
    items += [
        hd.sr.TextContentItem(
            name=_local(codes.DISCLOSURE), value=disclosure(report), relationship_type=_REL.CONTAINS
        ),
        hd.sr.TextContentItem(
            name=_local(codes.SIGNATURE_DIGEST),
            value=report.content_sha256,
            relationship_type=_REL.CONTAINS,
        ),
    ]
    root.ContentSequence = hd.sr.ContentSequence(items)
    return root


def _device_context(report: ExportableReport) -> hd.sr.ObserverContext | None:
    if not report.model_version_name:
        return None
    return hd.sr.ObserverContext(
        observer_type=dicom_codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["radbot-web/model", report.model_version_name]),
            name=f"{PRODUCT} image models",
            manufacturer_name=PRODUCT,
            model_name=report.model_version_name[:64],
        ),
    )


def build_sr(report: ExportableReport, *, organization: str = PRODUCT) -> hd.sr.ComprehensiveSR:
    """The SR document. Raises NotExportableError when the study has no stored images."""
    evidence = _evidence(report)
    previous = None
    if report.previous_signed_version is not None:
        predecessor = Dataset()
        predecessor.StudyInstanceUID = report.study_instance_uid
        predecessor.SeriesInstanceUID = series_uid(report.study_instance_uid)
        predecessor.SOPClassUID = ComprehensiveSRStorage
        predecessor.SOPInstanceUID = sop_instance_uid(
            report.study_instance_uid, report.previous_signed_version
        )
        previous = [predecessor]
    signed_at = report.signed_at
    with warnings.catch_warnings():
        # Stored images name the patient by a one-component pseudonym; that is intended.
        warnings.filterwarnings(
            "ignore", message=".*unlikely to represent the intended person name"
        )
        document = _comprehensive_sr(report, evidence, previous, organization)
    # The signature time, not the export time, is when the content was verified.
    document.VerifyingObserverSequence[0].VerificationDateTime = signed_at.strftime(
        "%Y%m%d%H%M%S%z"
    )
    return document


def _comprehensive_sr(
    report: ExportableReport,
    evidence: list[Dataset],
    previous: list[Dataset] | None,
    organization: str,
) -> hd.sr.ComprehensiveSR:
    signed_at = report.signed_at
    return hd.sr.ComprehensiveSR(
        evidence=evidence,
        content=_content(report),
        series_instance_uid=series_uid(report.study_instance_uid),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid(report.study_instance_uid, report.version_number),
        instance_number=report.version_number,
        manufacturer=PRODUCT,
        is_complete=True,
        is_final=True,
        is_verified=True,
        verifying_observer_name=_person_name(report),
        verifying_organization=organization,
        previous_versions=previous,
        specific_character_set="ISO_IR 192",
        content_date=signed_at.date(),
        content_time=signed_at.timetz().replace(tzinfo=None),
        series_description=f"{PRODUCT} AI-assisted report",
        coding_schemes=[
            hd.coding_schemes.CodingSchemeIdentificationItem(
                designator=codes.LOCAL_DICOM_SCHEME,
                name=codes.LOCAL_DICOM_SCHEME_NAME,
                responsible_organization=PRODUCT,
            )
        ],
    )


def to_bytes(document: Dataset) -> bytes:
    """Part 10 file bytes (preamble, file meta, explicit VR little endian)."""
    buffer = io.BytesIO()
    document.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dcmwrite(buffer, document, enforce_file_format=True)
    return buffer.getvalue()
