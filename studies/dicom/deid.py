"""De-identification per DICOM PS3.15 Annex E.

Profile: Basic Application Level Confidentiality Profile with the options
  * Retain UIDs (113110): Study/Series/SOP/FrameOfReference UIDs are kept so studies can
    be matched back to the PACS;
  * Retain Longitudinal Temporal Information with Modified Dates (113107): every DA/DT
    value is shifted by a per-patient number of days, so intervals between a patient's
    studies survive while absolute dates do not;
  * Retain Patient Characteristics (113108): age/sex/size/weight are kept (the brief asks
    for PatientAge; keeping it is only conformant under this option, so we declare it).

Identifiers the app still needs (patient id/name, accession for report matching, site)
are captured in DeidResult *before* they are removed, for the admin-only pseudonym map.

The attribute table below is the subset of PS3.15 Table E.1-1 that can occur in MR image
objects and their referenced/request sequences; any private tag, curve (50xx) and overlay
(60xx) group is removed wholesale regardless of the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag

from .errors import ErrorCode, IngestError
from .reader import parse_da, peek_value

# "X": remove. Basic-profile "D" (dummy) actions on attributes the app never displays
# are implemented as removal too: an absent type-3 attribute is conformant and leaks less.
_REMOVE_KEYWORDS = (
    "AcquisitionComments", "AcquisitionContextSequence", "AcquisitionDeviceProcessingDescription",
    "AcquisitionProtocolDescription", "ActualHumanPerformersSequence", "AdditionalPatientHistory",
    "AdmissionID", "AdmittingDate", "AdmittingTime", "AdmittingDiagnosesCodeSequence",
    "AdmittingDiagnosesDescription", "Allergies", "Arbitrary", "AuthorObserverSequence",
    "BranchOfService", "CassetteID", "ClinicalTrialSponsorName",
    "CommentsOnThePerformedProcedureStep", "ConfidentialityConstraintOnPatientDataDescription",
    "ContentCreatorIdentificationCodeSequence", "ContentSequence", "ContributionDescription",
    "ConsultingPhysicianName", "CountryOfResidence", "CurrentPatientLocation",
    "CustodialOrganizationSequence", "DataSetTrailingPadding", "DerivationDescription",
    "DetectorID", "DeviceDescription", "DeviceSerialNumber", "DigitalSignaturesSequence",
    "DischargeDiagnosisDescription", "DistributionAddress", "DistributionName", "EthnicGroup",
    "FrameComments", "GantryID", "GeneratorID", "GraphicAnnotationSequence", "HumanPerformerName",
    "HumanPerformerOrganization", "IconImageSequence", "IdentifyingComments", "ImageComments",
    "ImagePresentationComments", "ImagingServiceRequestComments", "Impressions",
    "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "InstitutionName", "InsurancePlanIdentification",
    "IntendedRecipientsOfResultsIdentificationSequence", "InterpretationApproverSequence",
    "InterpretationAuthor", "InterpretationDiagnosisDescription", "InterpretationIDIssuer",
    "InterpretationRecorder", "InterpretationText", "InterpretationTranscriber",
    "IssuerOfAccessionNumberSequence", "IssuerOfAdmissionID", "IssuerOfPatientID",
    "IssuerOfServiceEpisodeID", "LastMenstrualDate", "MedicalAlerts", "MedicalRecordLocator",
    "MilitaryRank", "ModifiedAttributesSequence", "ModifyingDeviceID",
    "ModifyingDeviceManufacturer", "NameOfPhysiciansReadingStudy",
    "NamesOfIntendedRecipientsOfResults", "Occupation", "OperatorIdentificationSequence",
    "OperatorsName", "OrderCallbackPhoneNumber", "OrderEnteredBy", "OrderEntererLocation",
    "OriginalAttributesSequence", "OtherPatientIDs", "OtherPatientIDsSequence",
    "OtherPatientNames", "ParticipantSequence", "PatientAddress", "PatientAlternativeCalendar",
    "PatientBirthDateInAlternativeCalendar", "PatientBirthName", "PatientBirthTime",
    "PatientComments", "PatientDeathDateInAlternativeCalendar", "PatientInstitutionResidence",
    "PatientInsurancePlanCodeSequence", "PatientMotherBirthName",
    "PatientPrimaryLanguageCodeSequence", "PatientPrimaryLanguageModifierCodeSequence",
    "PatientReligiousPreference", "PatientSexNeutered", "PatientState",
    "PatientTelecomInformation", "PatientTelephoneNumbers", "PatientTransportArrangements",
    "PerformedLocation", "PerformedProcedureStepDescription", "PerformedProcedureStepID",
    "PerformedStationAETitle", "PerformedStationGeographicLocationCodeSequence",
    "PerformedStationName", "PerformedStationNameCodeSequence",
    "PerformingPhysicianIdentificationSequence", "PerformingPhysicianName", "PersonAddress",
    "PersonName", "PersonTelecomInformation", "PersonTelephoneNumbers",
    "PhysicianApprovingInterpretation", "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence", "PhysiciansReadingStudyIdentificationSequence",
    "PreMedication", "PregnancyStatus", "ProtocolName", "ReasonForStudy",
    "ReasonForTheImagingServiceRequest", "ReasonForTheRequestedProcedure",
    "ReferencedPatientPhotoSequence", "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence", "ReferencedStudySequence",
    "ReferringPhysicianAddress", "ReferringPhysicianIdentificationSequence",
    "ReferringPhysicianTelephoneNumbers", "RegionOfResidence", "RequestAttributesSequence",
    "RequestedContrastAgent", "RequestedProcedureComments", "RequestedProcedureDescription",
    "RequestedProcedureID", "RequestedProcedureLocation", "RequestingPhysician",
    "RequestingPhysicianIdentificationSequence", "RequestingService", "ResponsibleOrganization",
    "ResponsiblePerson", "ResultsComments", "ResultsIDIssuer", "ScheduledHumanPerformersSequence",
    "ScheduledPatientInstitutionResidence", "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription", "ScheduledProcedureStepLocation",
    "ScheduledStationAETitle", "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledStationName", "ScheduledStationNameCodeSequence", "SeriesDescription",
    "ServiceEpisodeDescription", "ServiceEpisodeID", "SmokingStatus", "SpecialNeeds",
    "StationAETitle", "StationName", "StudyComments", "StudyDescription", "StudyIDIssuer",
    "TextComments", "TextString", "TopicAuthor", "TopicKeywords", "TopicSubject", "TopicTitle",
    "VerifyingObserverName", "VerifyingObserverSequence", "VerifyingOrganization",
    "VisitComments",
)

# "Z": keep the attribute (type 2, must be present) but empty it.
_BLANK_KEYWORDS = (
    "PatientBirthDate", "ReferringPhysicianName", "StudyID", "ContentCreatorName",
    "VerifyingObserverIdentificationCodeSequence",
)

# Basic profile removes/blanks these; Retain Patient Characteristics keeps them.
_CHARACTERISTICS_REMOVE = ["PatientAge", "PatientSize", "PatientWeight"]
_CHARACTERISTICS_BLANK = ["PatientSex"]


def _tags(keywords: tuple[str, ...] | list[str]) -> frozenset[BaseTag]:
    tags = {tag_for_keyword(k) for k in keywords}
    if None in tags:  # a typo would silently leak the attribute
        raise RuntimeError(f"unknown DICOM keyword in deid table: {keywords}")
    return frozenset(Tag(t) for t in tags)


REMOVE_TAGS = _tags(_REMOVE_KEYWORDS)
BLANK_TAGS = _tags(_BLANK_KEYWORDS)
_CHAR_REMOVE_TAGS = _tags(_CHARACTERISTICS_REMOVE)
_CHAR_BLANK_TAGS = _tags(_CHARACTERISTICS_BLANK)

# File meta attributes that name the sending system (the meta group is not covered by
# Annex E, but an AE title identifies the site just as well as InstitutionName does).
_META_REMOVE = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID",
                "PrivateInformation")

_META_REMOVE_TAGS = _tags(_META_REMOVE)

_PATIENT_ID, _PATIENT_NAME, _PATIENT_BIRTH_DATE, _PATIENT_AGE = (
    Tag(tag_for_keyword(k)) for k in ("PatientID", "PatientName", "PatientBirthDate", "PatientAge")
)
_ACCESSION_NUMBER, _INSTITUTION_NAME = (
    Tag(tag_for_keyword(k)) for k in ("AccessionNumber", "InstitutionName")
)
_IDENTITY_REMOVED, _TEMPORAL_MODIFIED, _METHOD_TAG, _METHOD_CODES = (
    Tag(tag_for_keyword(k)) for k in ("PatientIdentityRemoved", "LongitudinalTemporalInformationModified",
                                      "DeidentificationMethod", "DeidentificationMethodCodeSequence")
)
_CODE_VALUE, _CODING_SCHEME, _CODE_MEANING = (
    Tag(tag_for_keyword(k)) for k in ("CodeValue", "CodingSchemeDesignator", "CodeMeaning")
)

PROFILE_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
    ("113110", "Retain UIDs Option"),
)
# DeidentificationMethod is LO (64 chars per value), hence one value per component.
_METHOD = [
    "DICOM PS3.15 E.1 Basic Application Confidentiality Profile",
    "Retain Longitudinal Temporal Information Modified Dates",
    "Retain Patient Characteristics",
    "Retain UIDs",
    "RadBot Web deid v1",
]


@dataclass(frozen=True, slots=True)
class DeidResult:
    """Originals captured before de-identification (admin-only pseudonym map)."""

    dataset: Dataset = field(repr=False)  # the same object passed in, now de-identified
    pseudonym: str
    accession_pseudonym: str  # "" when the original accession was empty
    date_shift_days: int
    patient_age: str  # retained or computed AS value, "" when unknown
    original_patient_id: str
    original_patient_name: str
    original_birth_date: str  # raw DA value, "" when absent
    original_accession: str
    original_institution: str


# --- deterministic per-patient values -----------------------------------------------------


def _hmac(secret: str, purpose: str, value: str) -> bytes:
    if not secret:
        raise ValueError("a non-empty secret is required for pseudonymisation")
    # The purpose label separates the pseudonym, date-shift and accession derivations so
    # knowing one output never helps to guess another.
    msg = f"radbot:{purpose}:v1\x00{value}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()


def _patient_key(original_patient_id: str, issuer: str) -> str:
    pid = original_patient_id.strip()
    if not pid:
        # One pseudonym for every ID-less patient would merge unrelated people.
        raise IngestError("PatientID is empty: cannot assign a stable pseudonym",
                          code=ErrorCode.MISSING_TAG)
    return f"{issuer.strip()}\x00{pid}" if issuer.strip() else pid


def pseudonym_for(original_patient_id: str, *, secret: str, issuer: str = "") -> str:
    """Stable pseudonym "P-" + 12 hex chars (48 bits) for a patient ID.

    Pass ``issuer`` (e.g. the site) only when IDs from different issuers may collide;
    it then becomes part of the identity.
    """
    return "P-" + _hmac(secret, "pseudonym", _patient_key(original_patient_id, issuer)).hex()[:12]


def date_shift_for(original_patient_id: str, *, secret: str, issuer: str = "") -> int:
    """Stable shift in days, in [-365, -1]: always into the past, never zero."""
    digest = _hmac(secret, "date-shift", _patient_key(original_patient_id, issuer))
    return -(int.from_bytes(digest[:8], "big") % 365 + 1)


def accession_pseudonym_for(original_accession: str, *, secret: str) -> str:
    """Stable "A-" + 12 hex chars; "" for an empty accession."""
    acc = original_accession.strip()
    return "A-" + _hmac(secret, "accession", acc).hex()[:12] if acc else ""


def site_pseudonym_for(institution: str, *, secret: str) -> str:
    """Stable "S-" + 8 hex chars for an institution name (case/space-insensitive)."""
    key = " ".join(institution.split()).casefold()
    return "S-" + _hmac(secret, "site", key).hex()[:8] if key else ""


# --- the transformation ------------------------------------------------------------------


def age_string(birth: dt.date, on: dt.date) -> str:
    """DICOM AS value for the age at ``on``: years, or months/days for infants."""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 1:
        return f"{min(years, 999):03d}Y"
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    if months >= 1:
        return f"{months:03d}M"
    return f"{max((on - birth).days, 0):03d}D"


def _shift_da(value: str, days: int) -> str:
    d = parse_da(value)
    # An unparseable date cannot be shifted and would leak verbatim: blank it.
    return (d + dt.timedelta(days=days)).strftime("%Y%m%d") if d else ""


def _shift_dt(value: str, days: int) -> str:
    value = value.strip()
    d = parse_da(value[:8]) if len(value) >= 8 else None
    return (d + dt.timedelta(days=days)).strftime("%Y%m%d") + value[8:] if d else ""


def _shift_value(value: object, days: int, fn) -> object:
    if isinstance(value, (list, MultiValue)):
        return [fn(str(v), days) for v in value]
    return fn(str(value), days) if value not in (None, "") else value


# A raw (not yet converted) element of any other explicit VR can never need a change, so
# it is left raw: converting it would cost time here and again when the file is written.
# Implicit VR (None) and UN elements are converted to learn their real VR.
_INSPECT_RAW_VRS = frozenset({None, "SQ", "DA", "DT", "UN"})


def _clean(ds: Dataset, days: int, remove: frozenset[BaseTag], blank: frozenset[BaseTag]) -> None:
    elements = ds._dict
    for tag in list(elements):
        group = tag.group
        if (
            tag.is_private
            or tag in remove
            or 0x5000 <= group <= 0x50FF  # curves (retired)
            or 0x6000 <= group <= 0x60FF  # overlays, incl. overlay data and comments
            or (tag.element == 0 and group != 0x0002)  # group lengths go stale on edits
        ):
            del ds[tag]
            continue
        raw = elements[tag]
        if tag in blank:
            if raw.is_raw and raw.VR not in _INSPECT_RAW_VRS:
                # the old value is discarded unseen: no need to convert it first
                ds[tag] = DataElement(tag, raw.VR, "")
                continue
            elem = ds[tag]
            elem.value = DicomSequence() if elem.VR == "SQ" else ""
            continue
        if raw.is_raw and raw.VR not in _INSPECT_RAW_VRS:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, days, remove, blank)
        elif elem.VR == "DA":
            elem.value = _shift_value(elem.value, days, _shift_da)
        elif elem.VR == "DT":
            elem.value = _shift_value(elem.value, days, _shift_dt)


def _put(ds: Dataset, tag: BaseTag, value: object) -> None:
    """``setattr(ds, keyword, value)``, without first converting the value it replaces."""
    old = ds._dict.get(tag)
    vr = old.VR if old is not None and old.VR is not None and len(old.VR) == 2 and old.VR != "UN" else None
    ds[tag] = DataElement(tag, vr or dictionary_VR(tag), value)


def _reference_date(ds: Dataset) -> dt.date | None:
    for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
        d = parse_da(str(ds.get(keyword) or ""))
        if d:
            return d
    return None


def deidentify(
    ds: Dataset,
    *,
    pseudonym: str,
    date_shift_days: int,
    secret: str | None = None,
    retain_patient_characteristics: bool = True,
) -> DeidResult:
    """De-identify ``ds`` in place and return the captured originals.

    ``secret`` keys the accession pseudonym; pass the same secret as for pseudonym_for.
    Without it the accession is keyed by the pseudonym, which is weaker: anyone holding
    the de-identified file could confirm a guessed accession number.
    """
    if not pseudonym:
        raise ValueError("pseudonym must not be empty")
    # Read without converting in place: these elements are all replaced or removed below.
    original_id = str(peek_value(ds, _PATIENT_ID) or "").strip()
    original_name = str(peek_value(ds, _PATIENT_NAME) or "").strip()
    original_birth = str(peek_value(ds, _PATIENT_BIRTH_DATE) or "").strip()
    original_acc = str(peek_value(ds, _ACCESSION_NUMBER) or "").strip()
    original_site = str(peek_value(ds, _INSTITUTION_NAME) or "").strip()

    # The age must be derived before the birth date goes and from unshifted dates.
    age = ""
    if retain_patient_characteristics:
        age = str(peek_value(ds, _PATIENT_AGE) or "").strip()
        birth = parse_da(original_birth)
        if not age and birth:
            ref = _reference_date(ds)
            if ref and ref >= birth:
                age = age_string(birth, ref)

    remove, blank = REMOVE_TAGS, BLANK_TAGS
    if not retain_patient_characteristics:
        remove, blank = remove | _CHAR_REMOVE_TAGS, blank | _CHAR_BLANK_TAGS
    _clean(ds, date_shift_days, remove, blank)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for tag in _META_REMOVE_TAGS:
            if tag in meta._dict:
                del meta[tag]

    acc_pseudo = (
        accession_pseudonym_for(original_acc, secret=secret or pseudonym) if original_acc else ""
    )
    _put(ds, _PATIENT_NAME, pseudonym)
    _put(ds, _PATIENT_ID, pseudonym)
    _put(ds, _ACCESSION_NUMBER, acc_pseudo)
    if retain_patient_characteristics and age:
        _put(ds, _PATIENT_AGE, age)
    _put(ds, _IDENTITY_REMOVED, "YES")
    _put(ds, _TEMPORAL_MODIFIED, "MODIFIED")
    _put(ds, _METHOD_TAG, _METHOD if retain_patient_characteristics else [
        m for m in _METHOD if m != "Retain Patient Characteristics"
    ])
    codes = DicomSequence()
    for value, meaning in PROFILE_CODES:
        if value == "113108" and not retain_patient_characteristics:
            continue
        item = Dataset()
        item[_CODE_VALUE] = DataElement(_CODE_VALUE, "SH", value)
        item[_CODING_SCHEME] = DataElement(_CODING_SCHEME, "SH", "DCM")
        item[_CODE_MEANING] = DataElement(_CODE_MEANING, "LO", meaning)
        codes.append(item)
    _put(ds, _METHOD_CODES, codes)

    return DeidResult(
        dataset=ds,
        pseudonym=pseudonym,
        accession_pseudonym=acc_pseudo,
        date_shift_days=date_shift_days,
        patient_age=age,
        original_patient_id=original_id,
        original_patient_name=original_name,
        original_birth_date=original_birth,
        original_accession=original_acc,
        original_institution=original_site,
    )
