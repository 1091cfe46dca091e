"""Server-rendered pages for studies. Thin: reads come from selectors, writes from services."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts import roles
from audit.services import record_access, record_read
from radbot_web.paging import IdsFirstPaginator
from studies import selectors
from studies.models import PatientIdentity, Series, Study
from studies.panels import panels_context
from studies.storage import UnsafePath, media_path

PAGE_SIZE = 25


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def study_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    report_filter = {"yes": True, "no": False}.get(request.GET.get("report", ""))
    page = IdsFirstPaginator(
        selectors.study_list(query=query, has_report=report_filter),
        PAGE_SIZE,
        rows=selectors.studies_by_id,
    ).get_page(request.GET.get("page"))
    page.object_list = selectors.with_list_counts(page.object_list)
    context = {
        "page": page,
        "query": query,
        "report_filter": request.GET.get("report", ""),
    }
    if request.htmx:  # the search box asks for the table alone
        return render(request, "studies/_study_table.html", context)
    return render(
        request, "studies/study_list.html", {**context, "counts": selectors.study_counts()}
    )


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def study_detail(request: HttpRequest, study_uid: str) -> HttpResponse:
    try:
        study = selectors.study_detail(study_uid=study_uid)
    except Study.DoesNotExist as exc:
        raise Http404("No study with that StudyInstanceUID.") from exc
    # The page shows the radiologist's report text and the images.
    record_read(action="view_study", request=request, study_uid=study.study_instance_uid)
    series = study.series.all()
    selected = None
    if "series" in request.GET:
        selected = next((s for s in series if str(s.pk) == request.GET["series"]), None)
    selected = selected or selectors.default_series(study)
    report = study.reports.first()
    return render(
        request,
        "studies/study_detail.html",
        {
            "study": study,
            "series_list": series,
            "selected": selected,
            "report": report,
            "report_segments": [(report.text, "")] if report else [],
            **panels_context(study, report),
        },
    )


@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def series_thumbnail(request: HttpRequest, series_id: int) -> FileResponse:
    series = get_object_or_404(Series.objects.select_related("study"), pk=series_id)
    if not series.thumbnail:
        raise Http404("Thumbnail not rendered yet.")
    try:
        path = media_path(series.thumbnail)
    except UnsafePath as exc:
        raise Http404("Thumbnail file missing.") from exc
    if not path.exists():
        raise Http404("Thumbnail file missing.")
    record_read(action="view_images", request=request, study_uid=series.study.study_instance_uid)
    return FileResponse(path.open("rb"), content_type="image/png")


@permission_required(roles.UPLOAD_STUDIES, raise_exception=True)
def upload_page(request: HttpRequest) -> HttpResponse:
    return render(request, "studies/upload.html")


@permission_required(roles.IMPORT_REPORTS, raise_exception=True)
def report_import_page(request: HttpRequest) -> HttpResponse:
    return render(request, "studies/report_import.html")


@permission_required(roles.VIEW_PSEUDONYM_MAP, raise_exception=True)
def pseudonym_map(request: HttpRequest) -> HttpResponse:
    identities = PatientIdentity.objects.select_related("patient").order_by("patient__pseudonym")
    page = Paginator(identities, 50).get_page(request.GET.get("page"))
    # Every read of the map is recorded, not once a day: it is the re-identification key.
    record_access(
        action="view_pseudonym_map",
        request=request,
        object_ref=f"page {page.number}",
        detail={"rows": len(page.object_list)},
    )
    return render(request, "studies/pseudonym_map.html", {"page": page})
