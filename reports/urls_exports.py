"""Report exports, mounted at /reports/exports/ in the "reports" namespace."""

from django.urls import path

from reports import views_exports

urlpatterns = [
    path("<int:version_id>/", views_exports.exports_page, name="exports"),
    path("<int:version_id>/pdf/", views_exports.export_pdf, name="export-pdf"),
    path("<int:version_id>/fhir/", views_exports.export_fhir, name="export-fhir"),
    path("<int:version_id>/sr/", views_exports.export_sr, name="export-sr"),
]
