from django.urls import path

from studies import views

app_name = "studies"

urlpatterns = [
    path("", views.study_list, name="list"),
    path("upload/", views.upload_page, name="upload"),
    path("reports/import/", views.report_import_page, name="report-import"),
    path("pseudonyms/", views.pseudonym_map, name="pseudonyms"),
    path("series/<int:series_id>/thumbnail.png", views.series_thumbnail, name="series-thumbnail"),
    path("<str:study_uid>/", views.study_detail, name="detail"),
]
