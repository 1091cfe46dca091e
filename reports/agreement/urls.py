"""The agreement dashboard, mounted at /reports/agreement/ in the "reports" namespace."""

from django.urls import path

from reports.agreement import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.dashboard_csv, name="dashboard-csv"),
]
