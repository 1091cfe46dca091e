"""Downloads of a signed report version: PDF, FHIR R4 bundle, DICOM SR.

Permission: VIEW_STUDIES. Whoever may open a study may take its signed report with
them (annotators included); every download is recorded in the audit log. Unsigned
versions are refused with 409 Conflict: the version exists, but its state forbids it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import roles
from reports.exports import services
from reports.exports.document import NotExportableError
from reports.exports.from_models import SIGNED, version_for_export
from reports.models import ReportVersion


def _version(version_id: int) -> ReportVersion:
    try:
        return version_for_export(version_id=version_id)
    except ReportVersion.DoesNotExist as exc:
        raise Http404("No report version with that id.") from exc


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def exports_page(request: HttpRequest, version_id: int) -> HttpResponse:
    version = _version(version_id)
    signed = version.status in SIGNED
    return render(
        request,
        "reports/exports.html",
        {"version": version, "study": version.report.study, "signed": signed},
        status=200 if signed else 409,
    )


def _download(request: HttpRequest, version_id: int, fmt: str) -> HttpResponse:
    version = _version(version_id)
    try:
        file = services.export_version(version=version, user=request.user, fmt=fmt)
    except NotExportableError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def export_pdf(request: HttpRequest, version_id: int) -> HttpResponse:
    return _download(request, version_id, "pdf")


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def export_fhir(request: HttpRequest, version_id: int) -> HttpResponse:
    return _download(request, version_id, "fhir")


@require_GET
@permission_required(roles.VIEW_STUDIES, raise_exception=True)
def export_sr(request: HttpRequest, version_id: int) -> HttpResponse:
    return _download(request, version_id, "sr")
