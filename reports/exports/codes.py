"""Codes shared by the FHIR and DICOM exports.

SNOMED CT and DICOM codes are the ones DICOM PS3.16 lists (as shipped in pydicom's
code dictionary); LOINC 24968-0 is "MR Lumbar spine" (24531-6, sometimes quoted for
this, is "US Retroperitoneum"). The label vocabulary of the labelling guide has no
standard codes for disc bulge/herniation, so those use a local code system: ``99RADBOT``
in DICOM (private schemes start with "99") and ``LOCAL_SYSTEM`` in FHIR.
"""

from __future__ import annotations

from typing import NamedTuple


class Concept(NamedTuple):
    code: str
    display: str


LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
UCUM_SYSTEM = "http://unitsofmeasure.org"
# Local namespaces; a deploying site may replace them with its own registered ones.
LOCAL_SYSTEM = "urn:radbot-web:codes"
PSEUDONYM_SYSTEM = "urn:radbot-web:patient-pseudonym"
USER_SYSTEM = "urn:radbot-web:user"
REPORT_SYSTEM = "urn:radbot-web:report-version"
LOCAL_DICOM_SCHEME = "99RADBOT"
LOCAL_DICOM_SCHEME_NAME = "RadBot Web lumbar spine report codes"

REPORT_CODE = Concept("24968-0", "MR Lumbar spine")

# "Level of Lx/Ly intervertebral disc" (PS3.16 CID 1003 region codes).
LEVEL_SNOMED: dict[str, Concept] = {
    "L1-L2": Concept("243920003", "Level of L1/L2 intervertebral disc"),
    "L2-L3": Concept("243921004", "Level of L2/L3 intervertebral disc"),
    "L3-L4": Concept("243922006", "Level of L3/L4 intervertebral disc"),
    "L4-L5": Concept("243923001", "Level of L4/L5 intervertebral disc"),
    "L5-S1": Concept("243927000", "Level of L5/S1 intervertebral disc"),
}

# Graded stenosis. "unspecified" in the guide means present without a stated grade.
GRADE_SNOMED: dict[str, Concept] = {
    "none": Concept("272519000", "Absent"),
    "unspecified": Concept("52101004", "Present"),
    "mild": Concept("255604002", "Mild"),
    "moderate": Concept("6736007", "Moderate"),
    "severe": Concept("24484000", "Severe"),
}

DISC_LOCAL: dict[str, Concept] = {
    "none": Concept("disc-none", "No disc bulge or herniation"),
    "bulge": Concept("disc-bulge", "Disc bulge"),
    "herniation": Concept("disc-herniation", "Disc herniation"),
}

# Label field -> local concept naming the finding (its value is a grade or disc code).
FIELD_LOCAL: dict[str, Concept] = {
    "disc": Concept("disc", "Intervertebral disc contour"),
    "canal_stenosis": Concept("canal-stenosis", "Spinal canal stenosis"),
    "left_foraminal": Concept("left-foraminal-stenosis", "Left neural foraminal stenosis"),
    "right_foraminal": Concept("right-foraminal-stenosis", "Right neural foraminal stenosis"),
    "left_subarticular": Concept("left-subarticular-stenosis", "Left subarticular recess stenosis"),
    "right_subarticular": Concept(
        "right-subarticular-stenosis", "Right subarticular recess stenosis"
    ),
}

LEVEL_ASSESSMENT = Concept("disc-level-assessment", "Lumbar disc level assessment")
MODEL_OUTPUT = Concept("disc-level-model-output", "Lumbar disc level image model output")
AP_DIAMETER = Concept("canal-ap-diameter", "Spinal canal anteroposterior diameter")
DISCLOSURE = Concept("ai-disclosure", "Artificial intelligence disclosure")
AMENDMENT_REASON = Concept("amendment-reason", "Reason for amendment")
SIGNATURE_DIGEST = Concept("content-sha256", "SHA-256 of the signed findings and impression")

# Model probability keys (inference/ml/pipeline.py) -> local concept.
PROBABILITY_LOCAL: dict[str, Concept] = {
    "bulging": Concept("p-bulging", "Model probability of disc bulging"),
    "herniation": Concept("p-herniation", "Model probability of disc herniation"),
    "canal_stenosis": Concept("p-canal-stenosis", "Model probability of canal stenosis"),
    "foraminal_stenosis_left": Concept(
        "p-foraminal-stenosis-left", "Model probability of left foraminal stenosis"
    ),
    "foraminal_stenosis_right": Concept(
        "p-foraminal-stenosis-right", "Model probability of right foraminal stenosis"
    ),
}
