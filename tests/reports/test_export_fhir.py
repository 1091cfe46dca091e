"""FHIR export: a Bundle that the FHIR resource models accept, carrying the signed report."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from reports.exports.fhir import FhirValidationError, build_bundle, to_json_bytes, validate_bundle
from tests.reports.export_data import IMPRESSION, sample_report


def _resources(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


def _resolve(bundle: dict, reference: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference)


def test_the_bundle_parses_with_the_spec_models_and_carries_the_report():
    report = sample_report()
    document = json.loads(to_json_bytes(build_bundle(report)))
    parsed = Bundle.model_validate(document)
    assert parsed.type == "collection"
    validate_bundle(document)

    resources = _resources(document)
    (diagnostic,) = resources["DiagnosticReport"]
    assert diagnostic["status"] == "final"
    assert diagnostic["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "24968-0",
        "display": "MR Lumbar spine",
    }
    assert diagnostic["conclusion"] == IMPRESSION
    assert diagnostic["issued"] == "2023-05-18T14:30:00+00:00"
    assert diagnostic["effectiveDateTime"] == "2023-05-17"
    patient = _resolve(document, diagnostic["subject"]["reference"])
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["value"] == "P-test004242" and patient["gender"] == "female"
    interpreter = _resolve(document, diagnostic["resultsInterpreter"][0]["reference"])
    assert interpreter["resourceType"] == "Practitioner"
    assert interpreter["name"][0] == {
        "text": "Ada Lovelace",
        "family": "Lovelace",
        "given": ["Ada"],
    }
    study = _resolve(document, diagnostic["imagingStudy"][0]["reference"])
    assert study["identifier"][0]["value"] == f"urn:oid:{report.study_instance_uid}"
    text = base64.b64decode(diagnostic["presentedForm"][0]["data"]).decode()
    assert IMPRESSION in text and "AI-generated draft edited and signed by Ada Lovelace." in text
    assert {_resolve(document, r["reference"])["resourceType"] for r in diagnostic["result"]} == {
        "Observation"
    }


def test_each_level_has_coded_findings_and_the_models_measurements():
    document = build_bundle(sample_report())
    observations = _resources(document)["Observation"]
    signed = {
        o["bodySite"]["text"]: o
        for o in observations
        if o["code"]["coding"][0]["code"] == "disc-level-assessment"
    }
    assert sorted(signed) == ["L3-L4", "L4-L5", "L5-S1"]
    l4 = signed["L4-L5"]
    assert l4["valueString"].startswith("Disc herniation with moderate canal stenosis")
    assert l4["bodySite"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "243923001",
        "display": "Level of L4/L5 intervertebral disc",
    }
    values = {
        c["code"]["coding"][0]["code"]: c["valueCodeableConcept"]["coding"][0]["code"]
        for c in l4["component"]
    }
    assert values["disc"] == "disc-herniation"
    assert values["canal-stenosis"] == "6736007"  # SNOMED Moderate
    assert values["right-foraminal-stenosis"] == "255604002"  # SNOMED Mild
    assert values["left-foraminal-stenosis"] == "272519000"  # SNOMED Absent
    assert _resolve(document, l4["performer"][0]["reference"])["resourceType"] == "Practitioner"

    model = {
        o["bodySite"]["text"]: o
        for o in observations
        if o["code"]["coding"][0]["code"] == "disc-level-model-output"
    }
    assert sorted(model) == ["L4-L5", "L5-S1"]
    ap = next(
        c
        for c in model["L4-L5"]["component"]
        if c["code"]["coding"][0]["code"] == "canal-ap-diameter"
    )
    assert ap["valueQuantity"] == {
        "value": 8.7,
        "unit": "mm",
        "system": "http://unitsofmeasure.org",
        "code": "mm",
    }
    device = _resolve(document, model["L4-L5"]["device"]["reference"])
    assert device["deviceName"][0]["name"] == "radbot-test-model"


def test_an_amended_version_is_amended_everywhere_and_exports_are_reproducible():
    report = sample_report(status="amended", version_number=2, amendment_reason="Level corrected.")
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    document = build_bundle(report, timestamp=stamp)
    resources = _resources(document)
    assert resources["DiagnosticReport"][0]["status"] == "amended"
    assert {o["status"] for o in resources["Observation"] if "performer" in o} == {"amended"}
    assert to_json_bytes(document) == to_json_bytes(build_bundle(report, timestamp=stamp))
    first = build_bundle(sample_report(), timestamp=stamp)
    assert (
        first["entry"][0]["fullUrl"] != document["entry"][0]["fullUrl"]
    )  # another version, other ids


def test_a_report_without_model_output_has_no_device():
    document = build_bundle(
        sample_report(model_version_name="", probabilities={}, ap_diameters_mm={})
    )
    validate_bundle(document)
    assert "Device" not in _resources(document)


@pytest.fixture
def document() -> dict:
    return build_bundle(sample_report())


def test_a_diagnostic_report_without_its_required_code_is_rejected(document):
    broken = copy.deepcopy(document)
    del broken["entry"][0]["resource"]["code"]
    with pytest.raises(ValidationError, match="code"):
        Bundle.model_validate(broken)
    with pytest.raises(FhirValidationError, match="code"):
        validate_bundle(broken)


def test_unknown_elements_and_wrong_types_are_rejected(document):
    unknown = copy.deepcopy(document)
    unknown["entry"][0]["resource"]["signedBy"] = "Ada"
    with pytest.raises(FhirValidationError, match="signedBy"):
        validate_bundle(unknown)
    wrong_type = copy.deepcopy(document)
    wrong_type["entry"][0]["resource"]["issued"] = "yesterday"
    with pytest.raises(FhirValidationError, match="issued"):
        validate_bundle(wrong_type)


def test_statuses_outside_the_fhir_value_set_and_dangling_references_are_rejected(document):
    bad_status = copy.deepcopy(document)
    bad_status["entry"][0]["resource"]["status"] = "signed"
    with pytest.raises(FhirValidationError, match="status 'signed'"):
        validate_bundle(bad_status)
    dangling = copy.deepcopy(document)
    dangling["entry"] = [e for e in dangling["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(FhirValidationError, match="not in the bundle"):
        validate_bundle(dangling)


def test_a_genuine_r4_validator_agrees(document):
    """fhirkit-rs validates against FHIR R4 (4.0.1) itself, beside the R4B models."""
    import fhirkit

    assert fhirkit.FHIR_VERSION.startswith("4.0")
    assert [str(issue) for issue in fhirkit.validate(document)] == []
    broken = copy.deepcopy(document)
    del broken["entry"][0]["resource"]["code"]
    assert any("code" in str(issue) for issue in fhirkit.validate(broken))


def test_a_finding_under_another_heading_is_kept_without_a_level_code():
    report = sample_report(findings=(("L4-L5", "Disc bulge."), ("Other", "Renal cyst noted.")))
    document = build_bundle(report)
    validate_bundle(document)
    sites = [o["bodySite"] for o in _resources(document)["Observation"] if "valueString" in o]
    assert sites[-1] == {"text": "Other"} and sites[0]["coding"][0]["code"] == "243923001"
