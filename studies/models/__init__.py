from studies.models.identity import PatientIdentity, StudyIdentity
from studies.models.imaging import Instance, PendingFollowUp, Series
from studies.models.patients import Patient, Study
from studies.models.reports import DiscLevel, RadiologistReport

__all__ = [
    "DiscLevel",
    "Instance",
    "Patient",
    "PatientIdentity",
    "PendingFollowUp",
    "RadiologistReport",
    "Series",
    "Study",
    "StudyIdentity",
]
