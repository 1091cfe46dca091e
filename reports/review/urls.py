"""The sign-off worklist and the review page of one study's AI report."""

from django.urls import path, re_path

from reports.review import views

# DICOM UIDs are digits and dots only; the pattern keeps "exports/" and "agreement/" free.
STUDY = r"(?P<study_uid>[0-9][0-9.]*)"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    re_path(rf"^{STUDY}/$", views.review, name="review"),
    re_path(rf"^{STUDY}/save/$", views.save, name="review-save"),
    re_path(rf"^{STUDY}/sign/$", views.sign, name="review-sign"),
    re_path(rf"^{STUDY}/draft/$", views.draft, name="review-draft"),
    re_path(
        rf"^{STUDY}/results/(?P<delivery_id>[0-9]+)/resend/$",
        views.resend,
        name="review-resend",
    ),
]
