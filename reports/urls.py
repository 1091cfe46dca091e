"""Report pages. Each bounded part keeps its own URL module."""

from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("", include("reports.urls_review")),
    path("exports/", include("reports.urls_exports")),
    path("agreement/", include("reports.urls_dashboard")),
]
