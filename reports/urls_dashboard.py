from django.urls import path

from reports import views_dashboard

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("export.csv", views_dashboard.dashboard_csv, name="dashboard-csv"),
]
