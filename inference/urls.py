from django.urls import path

from inference import views

app_name = "inference"

urlpatterns = [
    path("studies/<str:study_uid>/ai/", views.ai_panel, name="ai-panel"),
    path("studies/<str:study_uid>/ai/run/", views.run_ai, name="run-ai"),
    path(
        "jobs/<int:job_id>/mask/<int:slice_index>.png", views.job_mask_slice, name="job-mask-slice"
    ),
]
