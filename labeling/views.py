"""Pages for the labeller: versions, runs with progress, the annotator guide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import roles
from labeling import dispatch, selectors, services
from radbot_web.tasks import NotQueued
from spine.labels import GUIDE_VERSION, LEVELS


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def labeller_page(request: HttpRequest) -> HttpResponse:
    _, version = services.current_labeller()
    services.reap_stale_runs()  # a run that stopped moving is failed, so polling ends
    runs = list(selectors.labelling_runs())
    context = {
        "current": version,
        "pending": services.pending_reports(version).count(),
        "runs": runs,
        "active": any(run.status in {"queued", "running"} for run in runs),
        "versions": selectors.labeller_versions(),
    }
    template = "labeling/_runs.html" if request.htmx else "labeling/labeller.html"
    return render(request, template, context)


@require_POST
@permission_required(roles.RUN_LABELLER, raise_exception=True)
def start_run(request: HttpRequest) -> HttpResponse:
    try:
        run = dispatch.start_labelling_run(user=request.user)
    except NotQueued as exc:  # the broker could not be reached: the run is failed, with the reason
        messages.error(request, str(exc))
        return redirect("labeling:labeller")
    if run.total:
        messages.success(request, f"Labelling {run.total} report(s) with {run.labeller}.")
    else:
        messages.info(request, "Every report is already labelled by the current labeller.")
    return redirect("labeling:labeller")


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def guide(request: HttpRequest) -> HttpResponse:
    return render(
        request, "labeling/guide.html", {"guide_version": GUIDE_VERSION, "levels": LEVELS}
    )
