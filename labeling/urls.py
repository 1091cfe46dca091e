from django.urls import path

from labeling import views, views_curation

app_name = "labeling"

urlpatterns = [
    path("", views.labeller_page, name="labeller"),
    path("runs/", views.start_run, name="start-run"),
    path("guide/", views.guide, name="guide"),
    path("curate/", views_curation.curate_page, name="curate"),
    path("curate/next/", views_curation.curate_next, name="curate-next"),
    path("curate/save/", views_curation.curate_save, name="curate-save"),
    path("curate/undo/", views_curation.curate_undo, name="curate-undo"),
    path("adjudicate/", views_curation.adjudicate_page, name="adjudicate"),
    path("adjudicate/save/", views_curation.adjudicate_save, name="adjudicate-save"),
    path("progress/", views_curation.progress_page, name="progress"),
    path("export/gold.<str:fmt>", views_curation.export_gold, name="export-gold"),
    path("disagreements/", views_curation.disagreements_page, name="disagreements"),
    path(
        "disagreements/<int:report_id>/<str:level>/<str:field>.json",
        views_curation.export_regression_case,
        name="regression-case",
    ),
]
