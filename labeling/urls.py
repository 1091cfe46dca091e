from django.urls import path

from labeling import views

app_name = "labeling"

urlpatterns = [
    path("", views.labeller_page, name="labeller"),
    path("runs/", views.start_run, name="start-run"),
    path("guide/", views.guide, name="guide"),
]
