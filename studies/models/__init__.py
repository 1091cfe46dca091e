from studies.models.identity import InstanceIdentity, PatientIdentity, SeriesIdentity, StudyIdentity
from studies.models.imaging import Instance, PendingFollowUp, Series
from studies.models.patients import Patient, Study
from studies.models.reports import DiscLevel, RadiologistReport

__all__ = [
    "DiscLevel",
    "Instance",
    "InstanceIdentity",
    "Patient",
    "PatientIdentity",
    "PendingFollowUp",
    "RadiologistReport",
    "Series",
    "SeriesIdentity",
    "Study",
    "StudyIdentity",
]
