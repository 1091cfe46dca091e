"""The AI panel of a study: run the models on demand and watch the job; mask overlays."""

from __future__ import annotations

import io

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from PIL import Image

from accounts import roles
from audit.services import record_read
from inference import selectors
from inference.dispatch import request_inference
from inference.ml.classes import BACKGROUND, CANAL, DISC, N_CLASSES, SACRUM, VERTEBRA
from inference.models import InferenceJob
from inference.services.jobs import InferenceRefused
from inference.study_panel import ai_context
from studies.models import Study


def _study(study_uid: str) -> Study:
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is None:
        raise Http404("No study with that StudyInstanceUID.")
    return study


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def ai_panel(request: HttpRequest, study_uid: str) -> HttpResponse:
    return render(request, "inference/_study_ai.html", ai_context(_study(study_uid)))


@require_POST
@permission_required(roles.RUN_INFERENCE, raise_exception=True)
def run_ai(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    try:
        job = request_inference(study=study, user=request.user)
    except InferenceRefused as exc:  # nothing trained, a job still queued/running, the broker down
        messages.error(request, str(exc))
    else:
        job.refresh_from_db(fields=["status", "error"])
        if job.status == InferenceJob.Status.FAILED:  # in-process mode: it ran and failed already
            messages.error(request, f"The AI job failed: {job.error}")
    return redirect("studies:detail", study_uid=study.study_instance_uid)


# RGBA per class: Okabe-Ito blue, orange, bluish green and reddish purple, distinguishable
# with the common colour-vision deficiencies; semi-transparent so the image shows through.
_COLOUR_OF_CLASS = {
    BACKGROUND: (0, 0, 0, 0),
    VERTEBRA: (0, 114, 178, 110),
    DISC: (230, 159, 0, 130),
    CANAL: (0, 158, 115, 130),
    SACRUM: (204, 121, 167, 130),
}
# Indexed by class value, so a mask slice is painted with MASK_COLOURS[classes].
MASK_COLOURS = np.array([_COLOUR_OF_CLASS[value] for value in range(N_CLASSES)], dtype=np.uint8)
# The review page's overlay legend repeats these colours in frontend/static/css/review.css
# (.mask-key-N; tests/inference/test_jobs.py checks they agree).


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def job_mask_slice(request: HttpRequest, job_id: int, slice_index: int) -> HttpResponse:
    """One slice of a job's predicted sagittal T2 classes as a transparent PNG overlay;
    ``slice_index`` counts from 0 in the study viewer's slice order."""
    job = get_object_or_404(InferenceJob.objects.select_related("study"), pk=job_id)
    record_read(action="view_images", request=request, study_uid=job.study.study_instance_uid)
    classes = selectors.job_mask_slice(job, slice_index)
    if classes is None:
        raise Http404("This job has no mask for that slice.")
    buffer = io.BytesIO()
    known = np.where(
        classes < len(MASK_COLOURS), classes, 0
    )  # an unknown class is not painted as another
    Image.fromarray(MASK_COLOURS[known], "RGBA").save(buffer, "PNG")
    # No Cache-Control here: radbot_web.middleware sends no-store for every signed-in response.
    return HttpResponse(buffer.getvalue(), content_type="image/png")
