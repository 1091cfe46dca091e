"""Report exports, mounted at /reports/exports/ in the "reports" namespace."""

from django.urls import path

from reports.exports import views

urlpatterns = [
    path("<int:version_id>/", views.exports_page, name="exports"),
    path("<int:version_id>/pdf/", views.export_pdf, name="export-pdf"),
    path("<int:version_id>/fhir/", views.export_fhir, name="export-fhir"),
    path("<int:version_id>/sr/", views.export_sr, name="export-sr"),
]
