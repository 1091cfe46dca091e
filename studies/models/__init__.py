from studies.models.identity import InstanceIdentity, PatientIdentity, SeriesIdentity, StudyIdentity
from studies.models.imaging import Instance, PendingFollowUp, Series
from studies.models.levels import DiscLevel
from studies.models.patients import Patient, Study
from studies.models.radiology import RadiologistReport
from studies.models.received import ReceivedInstance

__all__ = [
    "DiscLevel",
    "Instance",
    "InstanceIdentity",
    "Patient",
    "PatientIdentity",
    "PendingFollowUp",
    "RadiologistReport",
    "ReceivedInstance",
    "Series",
    "SeriesIdentity",
    "Study",
    "StudyIdentity",
]
