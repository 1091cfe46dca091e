"""REST API for studies. Thin classes: parsing and status codes here, work in services."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import capability
from studies import selectors
from studies.models import PatientIdentity, Series, Study
from studies.services.ingest import ingest_uploaded_files
from studies.services.reports import import_report_file


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = [
            "id", "series_instance_uid", "number", "description", "plane", "weighting",
            "slice_count", "rows", "columns", "pixel_spacing_row_mm", "pixel_spacing_col_mm",
            "slice_thickness_mm",
        ]


class StudySerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.pseudonym")
    series_count = serializers.IntegerField(read_only=True)
    instance_count = serializers.IntegerField(read_only=True)
    has_report = serializers.BooleanField(read_only=True)

    class Meta:
        model = Study
        fields = [
            "study_instance_uid", "patient", "accession", "study_date", "site", "age_years",
            "sex", "series_count", "instance_count", "has_report",
        ]


class StudyDetailSerializer(StudySerializer):
    series = SeriesSerializer(many=True, read_only=True)
    reports = serializers.SerializerMethodField()

    class Meta(StudySerializer.Meta):
        fields = [*StudySerializer.Meta.fields, "series", "reports"]

    def get_reports(self, study: Study) -> list[dict]:
        return [
            {"text": r.text, "source": r.source, "imported_at": r.imported_at}
            for r in study.reports.all()
        ]


class StudyListApi(APIView):
    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = StudySerializer

    def get(self, request):
        paginator = PageNumberPagination()
        paginator.page_size = 50
        page = paginator.paginate_queryset(
            selectors.study_list(query=request.query_params.get("q", "")), request, view=self
        )
        return paginator.get_paginated_response(StudySerializer(page, many=True).data)


class StudyDetailApi(APIView):
    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = StudyDetailSerializer

    def get(self, request, study_uid: str):
        study = get_object_or_404(selectors.study_list(), study_instance_uid=study_uid)
        return Response(StudyDetailSerializer(study).data)


class StudyUploadApi(APIView):
    """POST several DICOM files or .zip archives as multipart field `files`.

    201 when every file was stored or was a duplicate; 400 when any was
    rejected, with a reason per file. Good files of a batch are stored either way.
    """

    permission_classes = [capability(roles.UPLOAD_STUDIES)]
    parser_classes = [MultiPartParser]

    def post(self, request):
        uploads = request.FILES.getlist("files")
        if not uploads:
            return Response(
                {"detail": "No files: send one or more DICOM files or .zip archives as 'files'."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        summary = ingest_uploaded_files(uploads=uploads, user=request.user)
        code = status.HTTP_400_BAD_REQUEST if summary.rejected else status.HTTP_201_CREATED
        return Response(summary.as_dict(), status=code)


class ReportImportApi(APIView):
    """POST a CSV or JSONL file of reports as multipart field `file`."""

    permission_classes = [capability(roles.IMPORT_REPORTS)]
    parser_classes = [MultiPartParser]

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"detail": "No file: send a CSV or JSONL file of reports as 'file'."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        summary = import_report_file(
            name=upload.name, data=upload, source="upload", user=request.user, request=request
        )
        code = status.HTTP_400_BAD_REQUEST if summary.fatal_error else status.HTTP_201_CREATED
        return Response(summary.as_dict(), status=code)


class SeriesVolumeApi(APIView):
    """Every slice of a series as little-endian uint16, slice-major; shape in headers."""

    permission_classes = [capability(roles.VIEW_STUDIES)]

    def get(self, request, series_id: int):
        series = get_object_or_404(Series, pk=series_id)
        volume = selectors.series_volume(series=series)
        response = HttpResponse(volume.pixels.astype("<u2").tobytes(), content_type="application/octet-stream")
        response["X-Volume-Shape"] = ",".join(str(n) for n in volume.pixels.shape)
        response["X-Volume-Meta"] = json.dumps(
            {
                "instance_numbers": volume.instance_numbers,
                "window_center": volume.window_center,
                "window_width": volume.window_width,
                "pixel_spacing": [series.pixel_spacing_row_mm, series.pixel_spacing_col_mm],
            }
        )
        response["Cache-Control"] = "private, max-age=3600"
        return response


class PseudonymMapApi(APIView):
    permission_classes = [capability(roles.VIEW_PSEUDONYM_MAP)]

    def get(self, request):
        rows = PatientIdentity.objects.select_related("patient").order_by("patient__pseudonym")
        return Response(
            [
                {
                    "pseudonym": r.patient.pseudonym,
                    "original_patient_id": r.original_patient_id,
                    "original_name": r.original_name,
                    "date_shift_days": r.date_shift_days,
                }
                for r in rows[: settings.REST_FRAMEWORK.get("PAGE_SIZE", 1000)]
            ]
        )
