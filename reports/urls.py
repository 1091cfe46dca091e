"""Report pages. Each sub-domain package keeps its own URL module."""

from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("", include("reports.review.urls")),
    path("exports/", include("reports.exports.urls")),
    path("agreement/", include("reports.agreement.urls")),
]
