"""A signed report as a FHIR R4 Bundle (type collection).

The Bundle holds the DiagnosticReport, its Patient (pseudonym only), the signing
Practitioner, the ImagingStudy, the models as a Device and, per disc level, one
Observation with the signed coded findings (performer: the radiologist) and one with
the models' measurements and probabilities (device: the model version).

Resource ids are UUIDs derived from the study UID and version number, so exporting the
same signed version twice gives the same document (bar Bundle.timestamp).

Validation uses fhir.resources' R4B models: the 8.x line has no R4 (4.0.1) package and
its earlier R4 line needs pydantic 1. The elements used here are the same in R4 and
R4B; ``validate_bundle`` adds the required-binding and reference checks the models do
not make.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import uuid
from collections.abc import Mapping
from typing import Any

from reports.exports import codes
from reports.exports.codes import Concept
from reports.exports.document import PRODUCT, ExportableReport, disclosure, plain_text

CONTENT_TYPE = "application/fhir+json"
FHIR_VERSION = "4.0"  # the MIME fhirVersion parameter for R4 (4.0.x)
_NAMESPACE = uuid.UUID("5d3c1c55-0d1a-4f4e-9a43-6b8b7f1f6a01")  # of this app's resource ids

_DIAGNOSTIC_REPORT_STATUS = {
    "registered",
    "partial",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "appended",
    "cancelled",
    "entered-in-error",
    "unknown",
}
_OBSERVATION_STATUS = {
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
}
_GENDER = {"F": "female", "M": "male", "O": "other"}


class FhirValidationError(ValueError):
    """The document does not conform to the FHIR R4 (R4B) resource model."""


def _coding(system: str, concept: Concept) -> dict[str, str]:
    return {"system": system, "code": concept.code, "display": concept.display}


def _concept(system: str, concept: Concept, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [_coding(system, concept)]}
    if text:
        out["text"] = text
    return out


def _instant(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def _narrative(*paragraphs: str) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {
        "value": round(float(value), 4),
        "unit": unit,
        "system": codes.UCUM_SYSTEM,
        "code": code,
    }


class _Ids:
    def __init__(self, report: ExportableReport) -> None:
        self._root = f"{report.study_instance_uid}/v{report.version_number}"

    def id(self, *parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, "/".join((self._root, *parts))))

    def ref(self, *parts: str) -> str:
        return f"urn:uuid:{self.id(*parts)}"


def build_bundle(
    report: ExportableReport, *, timestamp: dt.datetime | None = None
) -> dict[str, Any]:
    """The Bundle as JSON-ready dicts. ``timestamp`` (assembly time) defaults to signed_at."""
    ids = _Ids(report)
    patient_ref, practitioner_ref = ids.ref("patient"), ids.ref("practitioner")
    study_ref, device_ref = ids.ref("imaging-study"), ids.ref("device")
    has_model = bool(report.model_version_name)
    effective = {"effectiveDateTime": report.study_date.isoformat()} if report.study_date else {}
    issued = _instant(report.signed_at)

    resources: list[dict[str, Any]] = []
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids.id("patient"),
        "identifier": [{"system": codes.PSEUDONYM_SYSTEM, "value": report.patient_pseudonym}],
        "gender": _GENDER.get(report.patient_sex, "unknown"),
    }
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": ids.id("practitioner"),
        "name": [_human_name(report)],
    }
    if report.signer_username:
        practitioner["identifier"] = [
            {"system": codes.USER_SYSTEM, "value": report.signer_username}
        ]
    imaging_study: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": ids.id("imaging-study"),
        "identifier": [
            {"system": "urn:dicom:uid", "value": f"urn:oid:{report.study_instance_uid}"}
        ],
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
        "subject": {"reference": patient_ref},
    }
    if report.study_date:
        imaging_study["started"] = report.study_date.isoformat()
    if report.accession:
        imaging_study["identifier"].append(
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
                "value": report.accession,
            }
        )
    if report.study_description:
        imaging_study["description"] = report.study_description
    if report.dicom is not None:
        imaging_study["numberOfSeries"] = len(
            {i.series_instance_uid for i in report.dicom.instances}
        )
        imaging_study["numberOfInstances"] = len(report.dicom.instances)
    resources += [patient, practitioner, imaging_study]
    if has_model:
        resources.append(
            {
                "resourceType": "Device",
                "id": ids.id("device"),
                "manufacturer": PRODUCT,
                "deviceName": [{"name": report.model_version_name, "type": "model-name"}],
                "type": {"text": "Lumbar spine MRI image models (segmentation and classification)"},
                "version": [{"value": report.model_version_name}],
            }
        )

    results: list[str] = []
    findings = report.findings_by_level
    for level in report.levels:
        known = codes.LEVEL_SNOMED.get(level)
        site = _concept(codes.SNOMED_SYSTEM, known, level) if known else {"text": level}
        common = {
            "subject": {"reference": patient_ref},
            **effective,
            "issued": issued,
            "bodySite": site,
            "derivedFrom": [{"reference": study_ref}],
        }
        signed = {
            "resourceType": "Observation",
            "id": ids.id("observation", level),
            "status": report.status,
            "category": [_imaging_category()],
            "code": _concept(codes.LOCAL_SYSTEM, codes.LEVEL_ASSESSMENT, f"{level} findings"),
            **common,
            "performer": [{"reference": practitioner_ref, "display": report.signer_name}],
        }
        if level in findings:
            signed["valueString"] = findings[level]
        components = _label_components(report.labels.get(level, {}))
        if components:
            signed["component"] = components
        if "valueString" in signed or components:
            resources.append(signed)
            results.append(ids.ref("observation", level))

        measured = _model_components(report, level)
        if measured and has_model:
            resources.append(
                {
                    "resourceType": "Observation",
                    "id": ids.id("model-output", level),
                    "status": "final",
                    "category": [_imaging_category()],
                    "code": _concept(
                        codes.LOCAL_SYSTEM, codes.MODEL_OUTPUT, f"{level} image model output"
                    ),
                    **common,
                    "method": {
                        "text": f"{PRODUCT} image models {report.model_version_name}; not edited"
                    },
                    "device": {"reference": device_ref},
                    "component": measured,
                }
            )
            results.append(ids.ref("model-output", level))

    text = plain_text(report)
    diagnostic_report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": ids.id("diagnostic-report"),
        "text": _narrative(
            *(f"{level}: {finding}" for level, finding in report.findings),
            f"Impression: {report.impression}",
            disclosure(report),
        ),
        "identifier": [
            {
                "system": codes.REPORT_SYSTEM,
                "value": f"{report.study_instance_uid}/v{report.version_number}",
            }
        ],
        "status": report.status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                        "code": "RAD",
                        "display": "Radiology",
                    }
                ],
            }
        ],
        "code": _concept(codes.LOINC_SYSTEM, codes.REPORT_CODE, "MR lumbar spine report"),
        "subject": {"reference": patient_ref},
        **effective,
        "issued": issued,
        "resultsInterpreter": [{"reference": practitioner_ref, "display": report.signer_name}],
        "imagingStudy": [{"reference": study_ref}],
        "conclusion": report.impression,
        "presentedForm": [
            {
                "contentType": "text/plain; charset=utf-8",
                "language": "en",
                "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                "title": f"{PRODUCT} MR lumbar spine report, version {report.version_number}",
                "creation": issued,
            }
        ],
    }
    if results:
        diagnostic_report["result"] = [{"reference": ref} for ref in results]

    entries = [diagnostic_report, *resources]
    return {
        "resourceType": "Bundle",
        "id": ids.id("bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": ids.ref("bundle")},
        "type": "collection",
        "timestamp": _instant(timestamp or report.signed_at),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def _human_name(report: ExportableReport) -> dict[str, Any]:
    name: dict[str, Any] = {"text": report.signer_name}
    if report.signer_family_name:
        name["family"] = report.signer_family_name
    if report.signer_given_name:
        name["given"] = [report.signer_given_name]
    return name


def _imaging_category() -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "imaging",
                "display": "Imaging",
            }
        ]
    }


def _label_components(labels: Mapping[str, Any]) -> list[dict[str, Any]]:
    components = []
    for field_name, concept in codes.FIELD_LOCAL.items():
        value = labels.get(field_name)
        if value is None:
            continue
        if field_name == "disc":
            coded = _concept(codes.LOCAL_SYSTEM, codes.DISC_LOCAL[value], value)
        else:
            coded = _concept(codes.SNOMED_SYSTEM, codes.GRADE_SNOMED[value], value)
        components.append(
            {"code": _concept(codes.LOCAL_SYSTEM, concept), "valueCodeableConcept": coded}
        )
    return components


def _model_components(report: ExportableReport, level: str) -> list[dict[str, Any]]:
    components = []
    ap = report.ap_diameters_mm.get(level)
    if ap is not None:
        components.append(
            {
                "code": _concept(codes.LOCAL_SYSTEM, codes.AP_DIAMETER),
                "valueQuantity": _quantity(ap, "mm", "mm"),
            }
        )
    for key, value in sorted(report.probabilities.get(level, {}).items()):
        concept = codes.PROBABILITY_LOCAL.get(key)
        if concept is not None:
            components.append(
                {
                    "code": _concept(codes.LOCAL_SYSTEM, concept),
                    "valueQuantity": _quantity(value, "probability", "1"),
                }
            )
    return components


def validate_bundle(document: Mapping[str, Any]) -> Any:
    """Parse with the FHIR resource models, then check what they leave out.

    Returns the parsed Bundle; raises FhirValidationError naming the first problem.
    """
    # fhir.resources and pydantic (0.2 s to import): loaded by the first FHIR export.
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        bundle = Bundle.model_validate(document)
    except (ValidationError, KeyError, TypeError, ValueError) as exc:
        raise FhirValidationError(str(exc)) from exc
    problems: list[str] = []
    if bundle.type != "collection":
        problems.append(f"Bundle.type {bundle.type!r} is not 'collection'")
    full_urls = {entry.fullUrl for entry in bundle.entry or []}
    for i, entry in enumerate(document.get("entry", [])):
        resource = entry.get("resource", {})
        kind = resource.get("resourceType")
        allowed = {
            "DiagnosticReport": _DIAGNOSTIC_REPORT_STATUS,
            "Observation": _OBSERVATION_STATUS,
        }.get(kind)
        if allowed is not None and resource.get("status") not in allowed:
            problems.append(
                f"entry[{i}] {kind}.status {resource.get('status')!r} is not a FHIR status"
            )
        for ref in _references(resource):
            if ref.startswith("urn:uuid:") and ref not in full_urls:
                problems.append(f"entry[{i}] {kind} refers to {ref}, which is not in the bundle")
    if problems:
        raise FhirValidationError("; ".join(problems))
    return bundle


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def to_json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
