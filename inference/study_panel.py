"""The study page's AI panel: the newest reading, the job in progress and the model that would
run (registered with ``studies.panels`` in InferenceConfig.ready; also rendered alone by
``inference.views.ai_panel`` while a job is polled)."""

from __future__ import annotations

from typing import Any

from inference import selectors
from inference.services.jobs import reap_stale_jobs
from studies.models import RadiologistReport, Study
from studies.panels import StudyPanel


def ai_context(study: Study, report: RadiologistReport | None = None) -> dict[str, Any]:
    # A job that stopped moving (its worker died, its message was lost) is failed here
    # too, not only by the periodic reaper, so "Run the AI" comes back and polling stops.
    reap_stale_jobs(study=study)
    job, predictions = selectors.latest_predictions(study)
    recent = selectors.jobs_for(study).first()
    return {
        "study": study,
        "ai_job": job,
        "ai_predictions": predictions,
        # (level, reason) in level order: the levels the finished job gave no reading
        "ai_not_assessed": selectors.not_assessed_levels(job),
        "ai_recent_job": recent,
        "ai_busy": selectors.job_is_active(recent),
        "ai_model": selectors.latest_model_version(),
    }


PANEL = StudyPanel(name="ai", order=10, context=ai_context, template="inference/_study_ai.html")
