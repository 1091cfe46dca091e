from django.urls import path

from labeling import views
from labeling.curation import views as curation

app_name = "labeling"

urlpatterns = [
    path("", views.labeller_page, name="labeller"),
    path("runs/", views.start_run, name="start-run"),
    path("guide/", views.guide, name="guide"),
    path("curate/", curation.curate_page, name="curate"),
    path("curate/next/", curation.curate_next, name="curate-next"),
    path("curate/save/", curation.curate_save, name="curate-save"),
    path("curate/undo/", curation.curate_undo, name="curate-undo"),
    path("adjudicate/", curation.adjudicate_page, name="adjudicate"),
    path("adjudicate/save/", curation.adjudicate_save, name="adjudicate-save"),
    path("progress/", curation.progress_page, name="progress"),
    path("export/gold.<str:fmt>", curation.export_gold, name="export-gold"),
    path("disagreements/", curation.disagreements_page, name="disagreements"),
    path(
        "disagreements/<int:report_id>/<str:level>/<str:field>.json",
        curation.export_regression_case,
        name="regression-case",
    ),
]
