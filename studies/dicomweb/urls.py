"""DICOMweb's routes (PS3.18 resources), mounted at /dicomweb/ by radbot_web.urls."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import path, register_converter

from studies.dicomweb import views

app_name = "dicomweb"


class UidConverter:
    """A UID as PS3.5 writes it (digits and dots); anything else is a 404 before a view."""

    regex = r"[0-9]{1,64}(?:\.[0-9]{1,64}){0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class FrameListConverter:
    """Frame numbers from 1, separated by commas: "1" or "1,3,5"."""

    regex = r"[0-9]{1,9}(?:,[0-9]{1,9}){0,999}"

    def to_python(self, value: str) -> list[int]:
        return [int(n) for n in value.split(",")]

    def to_url(self, value: list[int]) -> str:
        return ",".join(str(n) for n in value)


register_converter(UidConverter, "dicom_uid")
register_converter(FrameListConverter, "frame_list")


def view(cls):
    """DICOMweb views authenticate in DRF (token or session), not in the login-redirect
    middleware: a client without credentials gets 401, not the sign-in page."""
    return login_not_required(cls.as_view())


STUDY = "studies/<dicom_uid:study_uid>"
SERIES = f"{STUDY}/series/<dicom_uid:series_uid>"
INSTANCE = f"{SERIES}/instances/<dicom_uid:sop_uid>"

urlpatterns = [
    path("studies", view(views.StudiesResource), name="studies"),
    path("series", view(views.SeriesSearch), name="series"),
    path("instances", view(views.InstanceSearch), name="instances"),
    path(STUDY, view(views.StudyResource), name="study"),
    path(f"{STUDY}/metadata", view(views.MetadataRetrieve), name="study-metadata"),
    path(f"{STUDY}/series", view(views.SeriesSearch), name="study-series"),
    path(f"{STUDY}/instances", view(views.InstanceSearch), name="study-instances"),
    path(SERIES, view(views.SeriesRetrieve), name="series-retrieve"),
    path(f"{SERIES}/metadata", view(views.MetadataRetrieve), name="series-metadata"),
    path(f"{SERIES}/instances", view(views.InstanceSearch), name="series-instances"),
    path(INSTANCE, view(views.InstanceRetrieve), name="instance"),
    path(f"{INSTANCE}/metadata", view(views.MetadataRetrieve), name="instance-metadata"),
    path(f"{INSTANCE}/rendered", view(views.RenderedRetrieve), name="instance-rendered"),
    path(f"{INSTANCE}/frames/<frame_list:frames>", view(views.FramesRetrieve), name="frames"),
    path(
        f"{INSTANCE}/frames/<frame_list:frames>/rendered",
        view(views.RenderedRetrieve),
        name="frames-rendered",
    ),
]
