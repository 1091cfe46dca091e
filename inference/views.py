"""The AI panel of a study: run the models on demand and watch the job."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import roles
from inference import selectors
from inference.services.jobs import NoModel, request_inference
from studies.models import Study


def _study(study_uid: str) -> Study:
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is None:
        raise Http404("No study with that StudyInstanceUID.")
    return study


def ai_context(study: Study) -> dict:
    job, predictions = selectors.latest_predictions(study)
    recent = selectors.jobs_for(study).first()
    return {
        "study": study,
        "ai_job": job,
        "ai_predictions": predictions,
        "ai_recent_job": recent,
        "ai_busy": recent is not None and recent.status in {"queued", "running"},
        "ai_model": selectors.latest_model_version(),
    }


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def ai_panel(request: HttpRequest, study_uid: str) -> HttpResponse:
    return render(request, "inference/_study_ai.html", ai_context(_study(study_uid)))


@require_POST
@permission_required(roles.RUN_INFERENCE, raise_exception=True)
def run_ai(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    try:
        request_inference(study=study, user=request.user)
    except NoModel as exc:
        messages.error(request, str(exc))
    return redirect("studies:detail", study_uid=study.study_instance_uid)
