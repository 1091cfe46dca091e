"""The sign-off worklist and the review page of one study's AI report."""

from django.urls import path, re_path

from reports import views_review

# DICOM UIDs are digits and dots only; the pattern keeps "exports/" and "agreement/" free.
STUDY = r"(?P<study_uid>[0-9][0-9.]*)"

urlpatterns = [
    path("", views_review.worklist, name="worklist"),
    re_path(rf"^{STUDY}/$", views_review.review, name="review"),
    re_path(rf"^{STUDY}/save/$", views_review.save, name="review-save"),
    re_path(rf"^{STUDY}/sign/$", views_review.sign, name="review-sign"),
    re_path(rf"^{STUDY}/draft/$", views_review.draft, name="review-draft"),
]
