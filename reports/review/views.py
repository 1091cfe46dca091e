"""The sign-off worklist and the side-by-side review page of one study's AI report.

Thin views: reads in worklist.py and page.py beside them, writes in reports.services.
Every refusal re-renders the page with the person's own text still in the form: a stale
edit gets 409 with the current version beside it, a signed report's edit without a
reason and a wrong signing password get 400. Nothing typed is lost.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from audit.services import record_read
from reports import services
from reports.models import Report, ResultDelivery
from reports.outbox.selectors import KIND_LABELS
from reports.review.page import export_links, report_for, review_data
from reports.review.worklist import NO_DRAFT, WORKLIST_FILTERS, worklist_counts, worklist_studies
from spine.labels import LEVELS
from studies.models import Study

PAGE_SIZE = 25
STATUS_LABELS = {
    NO_DRAFT: "no draft",
    "preliminary": "preliminary",
    "final": "final",
    "amended": "amended",
}
# Shown on the page itself; the global help lists only global keys.
REVIEW_KEYS = (
    ("e", "Edit: focus the first level's text"),
    ("Ctrl+Enter", "Save the draft as a new version"),
    ("S", "Sign the saved draft (asks for your password)"),
    ("a", "Amend a signed report"),
    ("Esc", "Close the dialog"),
    ("v", "Move focus between the sagittal and axial viewer"),
    ("↑ / ↓", "Viewer: previous / next slice"),
    ("← / →", "Viewer: window width (Shift: level)"),
    ("o", "Segmentation overlay on / off"),
    ("m", "Disc centre markers on / off"),
    ("[ / ]", "Previous / next axial series"),
)


def _study(study_uid: str) -> Study:
    study = Study.objects.select_related("patient").filter(study_instance_uid=study_uid).first()
    if study is None:
        raise Http404("No study with that StudyInstanceUID.")
    return study


def _report(study: Study) -> Report:
    report = report_for(study)
    if report is None:
        raise Http404("This study has no AI report yet.")
    return report


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def worklist(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "awaiting")
    if status not in dict(WORKLIST_FILTERS):
        status = "awaiting"
    query = request.GET.get("q", "")
    counts = worklist_counts()
    paginator = Paginator(worklist_studies(query=query, status=status), PAGE_SIZE)
    if not query.strip():
        paginator.count = counts[status]  # counted already: a second pass over every study
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "status": status,
        "filters": WORKLIST_FILTERS,
        "counts": counts,
        "status_labels": STATUS_LABELS,
    }
    template = "reports/_worklist_table.html" if request.htmx else "reports/worklist.html"
    return render(request, template, context)


def _page(
    request: HttpRequest,
    study: Study,
    *,
    status: int = 200,
    submitted: dict | None = None,
    conflict: str = "",
    error: str = "",
    sign_error: str = "",
    amend: bool = False,
) -> HttpResponse:
    """The review page; ``submitted`` puts the person's own text back into the form."""
    data = review_data(
        study=study, sagittal_id=request.GET.get("sag"), axial_id=request.GET.get("ax")
    )
    latest = data.latest
    can_sign = request.user.has_perm(roles.SIGN_REPORTS)
    editing = bool(can_sign and latest and (not latest.is_signed or amend or submitted is not None))
    amending = bool(editing and data.ever_signed)
    submitted = submitted or {}
    for level in data.levels:
        level.draft = submitted.get("findings", {}).get(level.level, level.text)
    jump_series, _, jump_number = request.GET.get("jump", "").partition(":")
    context = {
        "data": data,
        "study": study,
        "latest": latest,
        "status": data.status,
        "status_label": STATUS_LABELS[data.status],
        "can_sign": can_sign,
        "editing": editing,
        "amending": amending,
        "can_sign_now": bool(can_sign and latest and not latest.is_signed),
        "impression_draft": submitted.get("impression", latest.impression if latest else ""),
        "reason_draft": submitted.get(
            "reason", latest.amendment_reason if latest and not latest.is_signed else ""
        ),
        "conflict": conflict,
        "error": error,
        "sign_error": sign_error,
        "exports": [(v, export_links(v)) for v in data.versions if v.is_signed],
        "keys": REVIEW_KEYS,
        "jump_series": _int(jump_series, 0),
        "jump_number": _int(jump_number, 0),
        "status_labels": STATUS_LABELS,
        "can_resend": request.user.has_perm(roles.RESEND_RESULTS),
    }
    response = render(request, "reports/review.html", context, status=status)
    if data.report is not None:
        services.record_view(report=data.report, user=request.user, version=latest)
    return response


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def review(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    # The page shows the study's images and report text: a read in the access log too
    # (the report's own audit trail records views of the AI report, when there is one).
    record_read(action="view_study", request=request, study_uid=study.study_instance_uid)
    return _page(request, study, amend=request.GET.get("amend") == "1")


def _submitted(request: HttpRequest) -> dict:
    return {
        "findings": {
            lv: request.POST[f"finding-{lv}"] for lv in LEVELS if f"finding-{lv}" in request.POST
        },
        "impression": request.POST.get("impression", ""),
        "reason": request.POST.get("reason", ""),
    }


@require_POST
@permission_required(roles.SIGN_REPORTS, raise_exception=True)
def save(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    report = _report(study)
    submitted = _submitted(request)
    try:
        version = services.save_draft(
            report=report,
            user=request.user,
            findings=[{"level": lv, "text": text} for lv, text in submitted["findings"].items()],
            impression=submitted["impression"],
            base_version_number=_int(request.POST.get("base_version")),
            reason=submitted["reason"],
        )
    except services.ReportConflict as conflict:
        return _page(request, study, status=409, submitted=submitted, conflict=conflict.message)
    except (services.AmendmentNeedsReason, services.InvalidReport) as refused:
        return _page(request, study, status=400, submitted=submitted, error=refused.message)
    if version.number != _int(request.POST.get("base_version")):
        messages.success(request, f"Saved as version {version.number} (preliminary).")
    else:
        messages.info(request, f"Nothing changed; version {version.number} stays as it was.")
    return redirect("reports:review", study_uid=study.study_instance_uid)


@require_POST
@permission_required(roles.SIGN_REPORTS, raise_exception=True)
def sign(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    report = _report(study)
    try:
        version = services.sign_report(
            report=report,
            user=request.user,
            password=request.POST.get("password", ""),
            version_number=_int(request.POST.get("version")),
        )
    except services.WrongPassword as refused:
        return _page(request, study, status=400, sign_error=refused.message)
    except services.SigningLocked as refused:
        return _page(request, study, status=429, sign_error=refused.message)
    except services.ReportConflict as conflict:
        return _page(request, study, status=409, conflict=conflict.message)
    except (
        services.AlreadySigned,
        services.AmendmentNeedsReason,
        services.InvalidReport,
    ) as refused:
        return _page(request, study, status=400, error=refused.message)
    messages.success(request, f"Signed version {version.number} ({version.status}).")
    return redirect("reports:review", study_uid=study.study_instance_uid)


@require_POST
@permission_required(roles.SIGN_REPORTS, raise_exception=True)
def draft(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = _study(study_uid)
    try:
        version = services.create_ai_draft_for_study(study=study)
    except (services.DraftNotPossible, services.DraftNotApplied) as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"AI draft written as version {version.number}.")
    return redirect("reports:review", study_uid=study.study_instance_uid)


@require_POST
@permission_required(roles.RESEND_RESULTS, raise_exception=True)
def resend(request: HttpRequest, study_uid: str, delivery_id: str) -> HttpResponse:
    """An admin sends one of the report's results to its destination again."""
    study = _study(study_uid)
    delivery = get_object_or_404(
        ResultDelivery.objects.select_related("version"),
        pk=delivery_id,
        version__report__study=study,
    )
    # Here, not at the top: the send's object builders need not load with the URL conf.
    from reports.outbox.dispatch import resend as resend_delivery

    what = (
        f"{KIND_LABELS.get(delivery.kind, delivery.kind)} of v{delivery.version.number} "
        f"to {delivery.destination}"
    )
    try:
        resend_delivery(delivery=delivery, user=request.user, request=request)
    except PermissionDenied as refused:  # being sent right now
        messages.error(request, f"Not resent ({what}): {refused}")
    else:
        messages.success(request, f"Queued to send again: {what}.")
    url = reverse("reports:review", kwargs={"study_uid": study.study_instance_uid})
    return redirect(f"{url}#results-title")
