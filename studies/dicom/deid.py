"""De-identification per DICOM PS3.15 Annex E.

Profile: Basic Application Level Confidentiality Profile with the options
  * UIDs are replaced (the basic profile's "U" action, not the Retain UIDs option): every
    instance UID (Study/Series/SOP/FrameOfReference and the references to them inside
    sequences) becomes a keyed UID, ``2.25.`` + a keyed HMAC as a UUID integer. Vendor UIDs
    often embed the acquisition date/time and the scanner serial, which would undo the
    date shift. The mapping is deterministic, so a re-sent study maps onto the same
    keyed UIDs; the originals are kept in the admin-only identity tables so results can
    be filed back into the source PACS;
  * Retain Longitudinal Temporal Information with Modified Dates (113107): every DA/DT
    value is shifted by a per-patient number of days, so intervals between a patient's
    studies survive while absolute dates do not;
  * Retain Patient Characteristics (113108): age/sex/size/weight are kept (the brief asks
    for PatientAge; keeping it is only conformant under this option, so we declare it).
    Ages over 89 are grouped as 90 ("090Y"), as HIPAA Safe Harbor requires.

Study and series descriptions are removed from the files. The database keeps a
description only when clean_description passes it (every word from a small imaging
vocabulary, short numbers only, no identifier of the patient), and stores "" otherwise.

Identifiers the app still needs (patient id/name, accession for report matching, site)
are captured in DeidResult *before* they are removed, for the admin-only pseudonym map.

The attribute table below is the subset of PS3.15 Table E.1-1 that can occur in MR image
objects and their referenced/request sequences; any private tag, curve (50xx) and overlay
(60xx) group is removed wholesale regardless of the table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag

from .errors import ErrorCode, IngestError
from .reader import ParsedInstance, parse_da, peek_value

# "X": remove. Basic-profile "D" (dummy) actions on attributes the app never displays
# are implemented as removal too: an absent type-3 attribute is conformant and leaks less.
_REMOVE_KEYWORDS = (
    "AcquisitionComments",
    "AcquisitionContextSequence",
    "AcquisitionDeviceProcessingDescription",
    "AcquisitionProtocolDescription",
    "ActualHumanPerformersSequence",
    "AdditionalPatientHistory",
    "AdmissionID",
    "AdmittingDate",
    "AdmittingTime",
    "AdmittingDiagnosesCodeSequence",
    "AdmittingDiagnosesDescription",
    "Allergies",
    "Arbitrary",
    "AuthorObserverSequence",
    "BranchOfService",
    "CassetteID",
    "ClinicalTrialSponsorName",
    # Clinical trial identifiers (PS3.15 E.1-1 X/Z/D); the whole module goes.
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "ClinicalTrialSiteID",
    "ClinicalTrialSiteName",
    "ClinicalTrialTimePointID",
    "ClinicalTrialTimePointDescription",
    "ClinicalTrialProtocolName",
    "ClinicalTrialProtocolID",
    "ClinicalTrialCoordinatingCenterName",
    "ClinicalTrialProtocolEthicsCommitteeName",
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
    "ClinicalTrialSeriesID",
    "ClinicalTrialSeriesDescription",
    # Order numbers and step ids link back to the RIS; software versions identify the device
    # (X unless Retain Device Identity, which this profile does not claim).
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequestRetired",
    "FillerOrderNumberImagingServiceRequestRetired",
    "ScheduledProcedureStepID",
    "SoftwareVersions",
    "CommentsOnThePerformedProcedureStep",
    "ConfidentialityConstraintOnPatientDataDescription",
    "ContentCreatorIdentificationCodeSequence",
    "ContentSequence",
    "ContributionDescription",
    "ConsultingPhysicianName",
    "CountryOfResidence",
    "CurrentPatientLocation",
    "CustodialOrganizationSequence",
    "DataSetTrailingPadding",
    "DerivationDescription",
    "DetectorID",
    "DeviceDescription",
    "DeviceSerialNumber",
    "DigitalSignaturesSequence",
    "DischargeDiagnosisDescription",
    "DistributionAddress",
    "DistributionName",
    "EthnicGroup",
    "FrameComments",
    "GantryID",
    "GeneratorID",
    "GraphicAnnotationSequence",
    "HumanPerformerName",
    "HumanPerformerOrganization",
    "IconImageSequence",
    "IdentifyingComments",
    "ImageComments",
    "ImagePresentationComments",
    "ImagingServiceRequestComments",
    "Impressions",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "InstitutionCodeSequence",
    "InstitutionName",
    "InsurancePlanIdentification",
    "IntendedRecipientsOfResultsIdentificationSequence",
    "InterpretationApproverSequence",
    "InterpretationAuthor",
    "InterpretationDiagnosisDescription",
    "InterpretationIDIssuer",
    "InterpretationRecorder",
    "InterpretationText",
    "InterpretationTranscriber",
    "IssuerOfAccessionNumberSequence",
    "IssuerOfAdmissionID",
    "IssuerOfPatientID",
    "IssuerOfServiceEpisodeID",
    "LastMenstrualDate",
    "MedicalAlerts",
    "MedicalRecordLocator",
    "MilitaryRank",
    "ModifiedAttributesSequence",
    "ModifyingDeviceID",
    "ModifyingDeviceManufacturer",
    "NameOfPhysiciansReadingStudy",
    "NamesOfIntendedRecipientsOfResults",
    "Occupation",
    "OperatorIdentificationSequence",
    "OperatorsName",
    "OrderCallbackPhoneNumber",
    "OrderEnteredBy",
    "OrderEntererLocation",
    "OriginalAttributesSequence",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "ParticipantSequence",
    "PatientAddress",
    "PatientAlternativeCalendar",
    "PatientBirthDateInAlternativeCalendar",
    "PatientBirthName",
    "PatientBirthTime",
    "PatientComments",
    "PatientDeathDateInAlternativeCalendar",
    "PatientInstitutionResidence",
    "PatientInsurancePlanCodeSequence",
    "PatientMotherBirthName",
    "PatientPrimaryLanguageCodeSequence",
    "PatientPrimaryLanguageModifierCodeSequence",
    "PatientReligiousPreference",
    "PatientSexNeutered",
    "PatientState",
    "PatientTelecomInformation",
    "PatientTelephoneNumbers",
    "PatientTransportArrangements",
    "PerformedLocation",
    "PerformedProcedureStepDescription",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedStationGeographicLocationCodeSequence",
    "PerformedStationName",
    "PerformedStationNameCodeSequence",
    "PerformingPhysicianIdentificationSequence",
    "PerformingPhysicianName",
    "PersonAddress",
    "PersonName",
    "PersonTelecomInformation",
    "PersonTelephoneNumbers",
    "PhysicianApprovingInterpretation",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence",
    "PreMedication",
    "PregnancyStatus",
    "ProtocolName",
    "ReasonForStudy",
    "ReasonForTheImagingServiceRequest",
    "ReasonForTheRequestedProcedure",
    "ReferencedPatientPhotoSequence",
    "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence",
    "ReferencedStudySequence",
    "ReferringPhysicianAddress",
    "ReferringPhysicianIdentificationSequence",
    "ReferringPhysicianTelephoneNumbers",
    "RegionOfResidence",
    "RequestAttributesSequence",
    "RequestedContrastAgent",
    "RequestedProcedureComments",
    "RequestedProcedureDescription",
    "RequestedProcedureID",
    "RequestedProcedureLocation",
    "RequestingPhysician",
    "RequestingPhysicianIdentificationSequence",
    "RequestingService",
    "ResponsibleOrganization",
    "ResponsiblePerson",
    "ResultsComments",
    "ResultsIDIssuer",
    "ScheduledHumanPerformersSequence",
    "ScheduledPatientInstitutionResidence",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepLocation",
    "ScheduledStationAETitle",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledStationName",
    "ScheduledStationNameCodeSequence",
    "SeriesDescription",
    "ServiceEpisodeDescription",
    "ServiceEpisodeID",
    "SmokingStatus",
    "SpecialNeeds",
    "StationAETitle",
    "StationName",
    "StudyComments",
    "StudyDescription",
    "StudyIDIssuer",
    "TextComments",
    "TextString",
    "TopicAuthor",
    "TopicKeywords",
    "TopicSubject",
    "TopicTitle",
    "VerifyingObserverName",
    "VerifyingObserverSequence",
    "VerifyingOrganization",
    "VisitComments",
)

# "Z": keep the attribute (type 2, must be present) but empty it.
_BLANK_KEYWORDS = (
    "PatientBirthDate",
    "ReferringPhysicianName",
    "StudyID",
    "ContentCreatorName",
    "VerifyingObserverIdentificationCodeSequence",
)

# Basic profile removes/blanks these; Retain Patient Characteristics keeps them.
_CHARACTERISTICS_REMOVE = ["PatientAge", "PatientSize", "PatientWeight"]
_CHARACTERISTICS_BLANK = ["PatientSex"]


def _tags(keywords: tuple[str, ...] | list[str]) -> frozenset[BaseTag]:
    tags = {tag_for_keyword(k) for k in keywords}
    if None in tags:  # a typo would silently leak the attribute
        raise RuntimeError(f"unknown DICOM keyword in deid table: {keywords}")
    return frozenset(Tag(t) for t in tags if t is not None)


REMOVE_TAGS = _tags(_REMOVE_KEYWORDS)
BLANK_TAGS = _tags(_BLANK_KEYWORDS)
_CHAR_REMOVE_TAGS = _tags(_CHARACTERISTICS_REMOVE)
_CHAR_BLANK_TAGS = _tags(_CHARACTERISTICS_BLANK)

# "U": instance UIDs (PS3.15 E.1-1), replaced by keyed UIDs at every nesting level, so a
# ReferencedSOPInstanceUID still points at the (keyed) SOPInstanceUID it referred to.
# Class UIDs (SOPClassUID, TransferSyntaxUID, coding scheme UIDs) identify no one and stay.
_UID_KEYWORDS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
    "ReferencedSOPInstanceUID",
    "ReferencedFrameOfReferenceUID",
    "RelatedFrameOfReferenceUID",
    "SourceFrameOfReferenceUID",
    "SynchronizationFrameOfReferenceUID",
    "MediaStorageSOPInstanceUID",
    "ReferencedSOPInstanceUIDInFile",
    "AffectedSOPInstanceUID",
    "RequestedSOPInstanceUID",
    "FailedSOPInstanceUIDList",
    "ConcatenationUID",
    "DimensionOrganizationUID",
    "IrradiationEventUID",
    "InstanceCreatorUID",
    "DeviceUID",
    "DoseReferenceUID",
    "FiducialUID",
    "TargetUID",
    "UID",
    "ObservationUID",
    "ReferencedObservationUIDTrial",
    "ObservationSubjectUIDTrial",
    "SpecimenUID",
    "StorageMediaFileSetUID",
    "TransactionUID",
    "TrackingUID",
    "PaletteColorLookupTableUID",
    "LargePaletteColorLookupTableUID",
    "CreatorVersionUID",
    "ContextGroupExtensionCreatorUID",
    "TemplateExtensionCreatorUID",
    "TemplateExtensionOrganizationUID",
    "ReferencedGeneralPurposeScheduledProcedureStepTransactionUID",
)
UID_TAGS = _tags(_UID_KEYWORDS)

# File meta attributes that name the sending system (the meta group is not covered by
# Annex E, but an AE title identifies the site just as well as InstitutionName does).
_META_REMOVE = (
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "PrivateInformationCreatorUID",
    "PrivateInformation",
)

_META_REMOVE_TAGS = _tags(_META_REMOVE)
_MEDIA_SOP_INSTANCE_UID = Tag("MediaStorageSOPInstanceUID")
_STUDY_UID, _SERIES_UID, _SOP_UID, _FRAME_OF_REFERENCE_UID, _ISSUER_OF_PATIENT_ID = (
    Tag(k)
    for k in (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "IssuerOfPatientID",
    )
)

_PATIENT_ID, _PATIENT_NAME, _PATIENT_BIRTH_DATE, _PATIENT_AGE = (
    Tag(k) for k in ("PatientID", "PatientName", "PatientBirthDate", "PatientAge")
)
_ACCESSION_NUMBER, _INSTITUTION_NAME = (Tag(k) for k in ("AccessionNumber", "InstitutionName"))
_IDENTITY_REMOVED, _TEMPORAL_MODIFIED, _METHOD_TAG, _METHOD_CODES = (
    Tag(k)
    for k in (
        "PatientIdentityRemoved",
        "LongitudinalTemporalInformationModified",
        "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
    )
)
_CODE_VALUE, _CODING_SCHEME, _CODE_MEANING = (
    Tag(k) for k in ("CodeValue", "CodingSchemeDesignator", "CodeMeaning")
)

PROFILE_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)
# DeidentificationMethod is LO (64 chars per value), hence one value per component.
_METHOD = [
    "DICOM PS3.15 E.1 Basic Application Confidentiality Profile",
    "Retain Longitudinal Temporal Information Modified Dates",
    "Retain Patient Characteristics",
    "UIDs replaced by keyed 2.25 UIDs",
    "RadBot Web deid v2",
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
    original_issuer: str = ""  # IssuerOfPatientID as received
    # original -> keyed, for every UID replaced in this data set (file meta included)
    uid_map: dict[str, str] = field(default_factory=dict, repr=False)


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
        raise IngestError(
            "PatientID is empty: cannot assign a stable pseudonym", code=ErrorCode.MISSING_TAG
        )
    return f"{issuer.strip()}\x00{pid}" if issuer.strip() else pid


def pseudonym_for(original_patient_id: str, *, secret: str, issuer: str = "") -> str:
    """Stable pseudonym "P-" + 12 hex chars (48 bits) for a patient ID.

    ``issuer`` (IssuerOfPatientID, else the site: see patient_issuer) is part of the
    identity, so equal MRNs from two sites are two patients.
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


def patient_issuer(ds: Dataset, *, institution: str = "") -> str:
    """Who issued the PatientID: IssuerOfPatientID, else the site (case/space-insensitive).

    Read before deidentify, which removes both. A site that sends some files with and
    some without IssuerOfPatientID splits its patients; that is the safer failure than
    merging two sites' patients who share an MRN.
    """
    issuer = str(peek_value(ds, _ISSUER_OF_PATIENT_ID) or "").strip()
    if not issuer:
        issuer = institution or str(peek_value(ds, _INSTITUTION_NAME) or "")
    return " ".join(issuer.split()).casefold()


def keyed_uid(original: str, *, secret: str) -> str:
    """The stored UID for an original UID: ``2.25.`` + a keyed HMAC read as a UUID.

    The digest's first 128 bits are stamped as an RFC 9562 version 8 (custom) UUID, whose
    integer form is what PS3.5 B.2 allows under the 2.25 root: at most 39 digits, so at
    most 44 characters in all. Deterministic, so the same original always maps to the
    same keyed UID (a re-sent study is recognised as a duplicate); without the secret the
    original cannot be recovered or confirmed.
    """
    value = str(original).strip().rstrip("\x00")
    if not value:
        return ""
    raw = bytearray(_hmac(secret, "uid", value)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC variant
    return "2.25." + str(int.from_bytes(raw, "big"))


def original_uids(ds: Dataset) -> dict[str, str]:
    """Study/series/SOP/frame-of-reference UIDs of a data set not yet de-identified."""
    return {
        name: str(peek_value(ds, tag) or "").strip().rstrip("\x00")
        for name, tag in (
            ("study", _STUDY_UID),
            ("series", _SERIES_UID),
            ("sop", _SOP_UID),
            ("frame_of_reference", _FRAME_OF_REFERENCE_UID),
        )
    }


def keyed_instance(instance: ParsedInstance, *, secret: str) -> ParsedInstance:
    """A ParsedInstance whose study/series/SOP UIDs are the keyed ones (the data set is
    untouched: deidentify replaces the UIDs inside it when it runs)."""
    return dataclasses.replace(
        instance,
        study_uid=keyed_uid(instance.study_uid, secret=secret),
        series_uid=keyed_uid(instance.series_uid, secret=secret),
        sop_uid=keyed_uid(instance.sop_uid, secret=secret),
    )


SAFE_HARBOR_MAX_AGE = 90  # ages over 89 are grouped as "90 or older"


def cap_age(years: int | None) -> int | None:
    """Age in years as stored: over 89 becomes 90 (shown as "90+")."""
    return min(years, SAFE_HARBOR_MAX_AGE) if years is not None else None


def age_label(years: int | None) -> str:
    """How a stored age is shown: "90+" for the grouped ages, "" when unknown."""
    if years is None:
        return ""
    return f"{SAFE_HARBOR_MAX_AGE}+" if years >= SAFE_HARBOR_MAX_AGE else str(years)


def _cap_age_string(age: str) -> str:
    age = age.strip().upper()
    if (
        len(age) == 4
        and age[:3].isdigit()
        and age[3] == "Y"
        and int(age[:3]) >= SAFE_HARBOR_MAX_AGE
    ):
        return f"{SAFE_HARBOR_MAX_AGE:03d}Y"
    return age


# Words a study or series description may hold and still be stored (PS3.15's Clean
# Descriptors, done conservatively): protocol vocabulary only, so a name, a date or
# free text never survives. Anything else blanks the whole description.
_DESCRIPTION_VOCABULARY = """
    mr mri mrt magnetic resonance imaging scan exam study lumbar lumbosacral thoracic
    cervical whole spine spinal lws bws hws ls l s c t th sacrum coccyx disc discs
    sag sagittal ax axial tra trans transverse cor coronal obl oblique localizer localiser
    loc scout survey plane planes 3plane tri pilot
    t1 t2 t2star pd stir tirm tir flair dixon water fat in opp out phase ip op w f
    tse fse se ir gre fl fl2d fl3d spc space cube vista haste ssfse frfse trufi fiesta
    mpr mprage vibe lava thrive dwi dti adc trace b mip mpr recon
    d dim 2d 3d fs fatsat sat spair spir nfs c nc pre post gd gad contrast
    high low res hr iso isotropic thin thick slice slices mm navigator nav
    and with without w wo of to
    nifti import ai from lt rt left right mid upper lower level levels
    routine standard protocol
"""
_DESCRIPTION_WORDS = frozenset(_DESCRIPTION_VOCABULARY.split())
_DESCRIPTION_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_DESCRIPTION_ALLOWED = re.compile(r"^[A-Za-z0-9 _\-+/.,()*:#]*$")


def clean_description(text: str, *, identifiers: Iterable[str] = ()) -> str:
    """The description when every word is protocol vocabulary, else ""."""
    value = " ".join(str(text or "").split())
    if not value or len(value) > 64 or not _DESCRIPTION_ALLOWED.match(value):
        return ""
    for token in _DESCRIPTION_TOKEN.findall(value):
        if token.isdigit():
            if len(token) > 3:  # a year, a date, an accession or an MRN
                return ""
        elif token.casefold() not in _DESCRIPTION_WORDS:
            return ""
    folded = value.casefold()
    for identifier in identifiers:
        for part in re.split(r"[\s^,]+", str(identifier or "").casefold()):
            if len(part) >= 2 and re.search(rf"(?<![a-z0-9]){re.escape(part)}(?![a-z0-9])", folded):
                return ""
    return value


# --- free text (radiologist reports) ----------------------------------------------------

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_RE = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_B, _E = r"(?<![\w/.\-])", r"(?![\w/\-]|\.\d)"  # not inside a longer number or word
_TEXT_DATES = re.compile(
    "|".join(
        (
            rf"{_B}(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}}){_E}",  # 2019-03-15
            rf"{_B}(?P<um>\d{{1,2}})/(?P<ud>\d{{1,2}})/(?P<uy>\d{{4}}){_E}",  # 03/15/2019
            rf"{_B}(?P<ed>\d{{1,2}})\.(?P<em>\d{{1,2}})\.(?P<ey>\d{{4}}){_E}",  # 15.03.2019
            rf"\b(?P<nm>{_MONTH_RE})\s+(?P<nd>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ny>\d{{4}})\b",  # March 15, 2019
            rf"\b(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dm>{_MONTH_RE})\s+(?P<dy>\d{{4}})\b",  # 15 March 2019
            rf"{_B}(?P<cy>(?:19|20)\d{{2}})(?P<cm>\d{{2}})(?P<cd>\d{{2}}){_E}",  # 20190315 (DICOM DA)
        )
    ),
    re.IGNORECASE,
)
DATE_PLACEHOLDER = "[DATE]"


def _month_number(name: str) -> int:
    key = name.rstrip(".").casefold()[:3]
    return next(i for i, month in enumerate(_MONTHS, start=1) if month.startswith(key))


def _month_like(original: str, month: int) -> str:
    """The month's name written the way ``original`` was (abbreviated, capitals, dot)."""
    bare = original.rstrip(".")
    full = _MONTHS[month - 1]
    name = full if bare.casefold() in _MONTHS else full[:3]
    name = name.upper() if bare.isupper() and len(bare) > 1 else name.capitalize()
    return name + ("." if original.endswith(".") else "")


def _shift_text_date(match: re.Match, days: int | None) -> str:
    g = match.groupdict()
    try:
        if g["iy"]:
            day = dt.date(int(g["iy"]), int(g["im"]), int(g["id"]))
        elif g["uy"]:
            day = dt.date(int(g["uy"]), int(g["um"]), int(g["ud"]))
        elif g["ey"]:
            day = dt.date(int(g["ey"]), int(g["em"]), int(g["ed"]))
        elif g["ny"]:
            day = dt.date(int(g["ny"]), _month_number(g["nm"]), int(g["nd"]))
        elif g["dy"]:
            day = dt.date(int(g["dy"]), _month_number(g["dm"]), int(g["dd"]))
        else:
            day = dt.date(int(g["cy"]), int(g["cm"]), int(g["cd"]))
    except ValueError:
        # Not a real date: an 8-digit number is left alone, anything else date-shaped
        # cannot be shifted and is replaced.
        return match.group(0) if g["cy"] else DATE_PLACEHOLDER
    if days is None:
        return DATE_PLACEHOLDER
    new = day + dt.timedelta(days=days)
    if g["iy"]:
        return new.strftime("%Y-%m-%d")
    if g["uy"]:
        return f"{new.month:0{len(g['um'])}d}/{new.day:0{len(g['ud'])}d}/{new.year}"
    if g["ey"]:
        return f"{new.day:0{len(g['ed'])}d}.{new.month:0{len(g['em'])}d}.{new.year}"
    if g["ny"]:
        text = match.group(0)
        comma = "," if "," in text else ""
        return f"{_month_like(g['nm'], new.month)} {new.day}{comma} {new.year}"
    if g["dy"]:
        return f"{new.day} {_month_like(g['dm'], new.month)} {new.year}"
    return new.strftime("%Y%m%d")


_NAME_STOPWORDS = frozenset(
    {"mr", "mrs", "ms", "dr", "jr", "sr", "md", "phd", "von", "van", "de", "der"}
)


def scrub_text(
    text: str,
    *,
    names: Iterable[str] = (),
    ids: Iterable[str] = (),
    accessions: Iterable[str] = (),
    shift_days: int | None,
) -> str:
    """Report text with the patient's known identifiers replaced and its dates shifted.

    ``names`` are DICOM PN values (``Doe^John``) or plain names: each part of two or more
    letters is replaced by [NAME], whole words only, case-insensitive. ``ids`` become
    [ID] and ``accessions`` [ACCESSION]. Dates in the common formats (03/15/2019 read as
    month/day, 2019-03-15, 15.03.2019, March 15, 2019, 15 March 2019, 20190315) are moved
    by ``shift_days`` and keep their format; when the shift is unknown (None), or a
    date-shaped value is not a real date, it becomes [DATE].
    """
    out = _TEXT_DATES.sub(lambda m: _shift_text_date(m, shift_days), text)
    replacements: dict[str, str] = {}
    for value in accessions:
        if str(value or "").strip():
            replacements.setdefault(str(value).strip().casefold(), "[ACCESSION]")
    for value in ids:
        if str(value or "").strip():
            replacements.setdefault(str(value).strip().casefold(), "[ID]")
    for value in names:
        for part in re.split(r"[\s^,]+", str(value or "")):
            part = part.strip(".")
            if len(part) >= 2 and part.casefold() not in _NAME_STOPWORDS:
                replacements.setdefault(part.casefold(), "[NAME]")
    if not replacements:
        return out
    pattern = re.compile(
        r"(?<![\w])("
        + "|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True))
        + r")(?![\w])",
        re.IGNORECASE,
    )
    return pattern.sub(lambda m: replacements[m.group(0).casefold()], out)


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


def _shift_value(value: object, days: int, fn: Callable[[str, int], str]) -> object:
    if isinstance(value, (list, MultiValue)):
        return [fn(str(v), days) for v in value]
    return fn(str(value), days) if value not in (None, "") else value


# A raw (not yet converted) element of any other explicit VR can never need a change, so
# it is left raw: converting it would cost time here and again when the file is written.
# Implicit VR (None) and UN elements are converted to learn their real VR.
_INSPECT_RAW_VRS = frozenset({None, "SQ", "DA", "DT", "UN"})


@functools.lru_cache(maxsize=4096)
def _dictionary_date_vr(tag: int) -> str:
    """ "DA" or "DT" when the data dictionary says the tag holds a date, else ""."""
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return ""
    return vr if vr in ("DA", "DT") else ""


def _replace_uids(ds: Dataset, tag: BaseTag, uid_for: Callable[[str], str]) -> None:
    elem = ds[tag]
    if elem.VR not in ("UI", "UN", None) or elem.value in (None, ""):
        if elem.VR not in ("UI", "UN", None):
            # an instance UID under a wrong explicit VR: it cannot be remapped safely
            ds[tag] = DataElement(tag, "UI", "")
        return
    value = elem.value
    if isinstance(value, bytes):  # UN: the raw bytes of a UI value
        value = value.decode("ascii", "replace").rstrip("\x00 ").split("\\")
    values = value if isinstance(value, (list, MultiValue)) else [value]
    keyed = [uid_for(str(v)) for v in values]
    ds[tag] = DataElement(tag, "UI", keyed if len(keyed) > 1 else keyed[0])


def _clean(
    ds: Dataset,
    days: int,
    remove: frozenset[BaseTag],
    blank: frozenset[BaseTag],
    uid_for: Callable[[str], str] | None = None,
) -> None:
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
        if uid_for is not None and tag in UID_TAGS:
            _replace_uids(ds, tag, uid_for)
            continue
        if tag in blank:
            if raw.is_raw and raw.VR is not None and raw.VR not in _INSPECT_RAW_VRS:
                # the old value is discarded unseen: no need to convert it first
                ds[tag] = DataElement(tag, raw.VR, "")
                continue
            elem = ds[tag]
            elem.value = DicomSequence() if elem.VR == "SQ" else ""
            continue
        date_vr = _dictionary_date_vr(tag)
        if raw.is_raw and raw.VR not in _INSPECT_RAW_VRS and not date_vr:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, days, remove, blank, uid_for)
        elif elem.VR == "DA":
            elem.value = _shift_value(elem.value, days, _shift_da)
        elif elem.VR == "DT":
            elem.value = _shift_value(elem.value, days, _shift_dt)
        elif date_vr:
            # A date written under another VR (e.g. StudyDate as LO) would otherwise keep
            # the real date: shift it as the dictionary VR says, or blank it.
            fn = _shift_da if date_vr == "DA" else _shift_dt
            value = elem.value
            if isinstance(value, bytes):
                value = value.decode("latin-1", "replace")
            ds[tag] = DataElement(
                tag, date_vr, _shift_value(value, days, fn) if value not in (None, "") else ""
            )


def _put(ds: Dataset, tag: BaseTag, value: object) -> None:
    """``setattr(ds, keyword, value)``, without first converting the value it replaces."""
    old = ds._dict.get(tag)
    vr = (
        old.VR
        if old is not None and old.VR is not None and len(old.VR) == 2 and old.VR != "UN"
        else None
    )
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
    original_issuer = str(peek_value(ds, _ISSUER_OF_PATIENT_ID) or "").strip()

    # The age must be derived before the birth date goes and from unshifted dates.
    age = ""
    if retain_patient_characteristics:
        age = str(peek_value(ds, _PATIENT_AGE) or "").strip()
        birth = parse_da(original_birth)
        if not age and birth:
            ref = _reference_date(ds)
            if ref and ref >= birth:
                age = age_string(birth, ref)
        age = _cap_age_string(age)

    remove, blank = REMOVE_TAGS, BLANK_TAGS
    if not retain_patient_characteristics:
        remove, blank = remove | _CHAR_REMOVE_TAGS, blank | _CHAR_BLANK_TAGS
    uid_key = secret or pseudonym
    uid_map: dict[str, str] = {}

    def uid_for(original: str) -> str:
        original = original.strip().rstrip("\x00")
        if original not in uid_map:
            uid_map[original] = keyed_uid(original, secret=uid_key)
        return uid_map[original]

    _clean(ds, date_shift_days, remove, blank, uid_for)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for tag in _META_REMOVE_TAGS:
            if tag in meta._dict:
                del meta[tag]
        if _MEDIA_SOP_INSTANCE_UID in meta._dict:
            _replace_uids(meta, _MEDIA_SOP_INSTANCE_UID, uid_for)

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
    _put(
        ds,
        _METHOD_TAG,
        _METHOD
        if retain_patient_characteristics
        else [m for m in _METHOD if m != "Retain Patient Characteristics"],
    )
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
        original_issuer=original_issuer,
        uid_map={k: v for k, v in uid_map.items() if k},
    )
