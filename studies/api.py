"""REST API for studies. Thin classes: parsing and status codes here, work in services.

Every status an operation can answer is in the schema (``extend_schema``; 401/403 and
the parser's 400/415 are added to every operation by ``radbot_web.api_errors``), and
``tests/api/run_schemathesis.py`` holds the server to it.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import capability
from audit.services import record_access, record_read
from radbot_web.api_errors import ErrorSerializer
from radbot_web.api_pages import BAD_PAGE, NOT_FOUND, StrictPages
from studies import selectors
from studies.models import PatientIdentity, Series, Study
from studies.services.ingest import ingest_uploaded_files
from studies.services.report_import import import_report_file


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = [
            "id",
            "series_instance_uid",
            "number",
            "description",
            "plane",
            "weighting",
            "slice_count",
            "rows",
            "columns",
            "pixel_spacing_row_mm",
            "pixel_spacing_col_mm",
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
            "study_instance_uid",
            "patient",
            "accession",
            "study_date",
            "site",
            "age_years",
            "sex",
            "series_count",
            "instance_count",
            "has_report",
        ]


class ReportTextSerializer(serializers.Serializer):
    text = serializers.CharField()
    source = serializers.CharField()
    imported_at = serializers.DateTimeField()


class StudyDetailSerializer(StudySerializer):
    series = SeriesSerializer(many=True, read_only=True)
    reports = ReportTextSerializer(many=True, read_only=True)

    class Meta(StudySerializer.Meta):
        fields = [*StudySerializer.Meta.fields, "series", "reports"]


class StudyPages(StrictPages):
    page_size = 50


class StudyListApi(generics.ListAPIView):
    """Studies, newest first, 50 a page; `q` searches UID, accession, patient and site."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = StudySerializer
    pagination_class = StudyPages

    def get_queryset(self):
        return selectors.study_list(query=self.request.query_params.get("q", ""))

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.with_list_counts(page)

    @extend_schema(
        operation_id="studies_list",
        parameters=[OpenApiParameter("q", str, description="Search text.", required=False)],
        responses={200: StudySerializer(many=True), 400: BAD_PAGE, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StudyDetailApi(APIView):
    """One study with its series and the radiologists' report text (a recorded read)."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = StudyDetailSerializer

    @extend_schema(
        operation_id="studies_retrieve", responses={200: StudyDetailSerializer, 404: NOT_FOUND}
    )
    def get(self, request, study_uid: str):
        study = get_object_or_404(selectors.study_list(), study_instance_uid=study_uid)
        selectors.with_list_counts([study])
        record_read(action="view_study", request=request, study_uid=study.study_instance_uid)
        return Response(StudyDetailSerializer(study).data)


class UploadRequestSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="DICOM files or .zip archives of them.",
    )


class FileOutcomeSerializer(serializers.Serializer):
    name = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True)
    study_uid = serializers.CharField(allow_blank=True)


class IngestSummarySerializer(serializers.Serializer):
    stored = FileOutcomeSerializer(many=True)
    duplicates = FileOutcomeSerializer(many=True)
    rejected = FileOutcomeSerializer(many=True)
    studies = serializers.ListField(child=serializers.CharField())


class IngestRefusedSerializer(serializers.Serializer):
    """A 400: either the request had no files (``detail``), or some files were refused
    (the summary, with a reason per file; the good files were stored all the same)."""

    detail = serializers.CharField(required=False)
    stored = FileOutcomeSerializer(many=True, required=False)
    duplicates = FileOutcomeSerializer(many=True, required=False)
    rejected = FileOutcomeSerializer(many=True, required=False)
    studies = serializers.ListField(child=serializers.CharField(), required=False)


TOO_LARGE = OpenApiResponse(
    ErrorSerializer, description="The request body is larger than the server accepts."
)


class StudyUploadApi(APIView):
    """POST several DICOM files or .zip archives as multipart field `files`.

    201 when every file was stored or was a duplicate; 400 when any was
    rejected, with a reason per file. Good files of a batch are stored either way.
    """

    permission_classes = [capability(roles.UPLOAD_STUDIES)]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="studies_upload",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={201: IngestSummarySerializer, 400: IngestRefusedSerializer, 413: TOO_LARGE},
    )
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


class ReportImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or JSONL: study_uid or accession, and text.")


class RowProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    key = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ReportImportSummarySerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    unmatched = RowProblemSerializer(many=True)
    errors = RowProblemSerializer(many=True)
    fatal_error = serializers.CharField(allow_blank=True)


class ReportImportRefusedSerializer(serializers.Serializer):
    """A 400: no file (``detail``), or a file that cannot be read at all (``fatal_error``)."""

    detail = serializers.CharField(required=False)
    imported = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)
    unmatched = RowProblemSerializer(many=True, required=False)
    errors = RowProblemSerializer(many=True, required=False)
    fatal_error = serializers.CharField(required=False, allow_blank=True)


class ReportImportApi(APIView):
    """POST a CSV or JSONL file of reports as multipart field `file`."""

    permission_classes = [capability(roles.IMPORT_REPORTS)]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="reports_import",
        request={"multipart/form-data": ReportImportRequestSerializer},
        responses={
            201: ReportImportSummarySerializer,
            400: ReportImportRefusedSerializer,
            413: TOO_LARGE,
        },
    )
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
    """Every slice of a series as little-endian uint16, slice-major; shape in headers.

    A recorded read of the study's images; never cached (no-store, radbot_web.middleware).
    """

    permission_classes = [capability(roles.VIEW_STUDIES)]

    @extend_schema(
        operation_id="series_volume",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="uint16 little-endian voxels; X-Volume-Shape is slices,rows,columns and "
                "X-Volume-Meta a JSON object (instance numbers, window, pixel spacing).",
            ),
            404: NOT_FOUND,
            422: OpenApiResponse(
                ErrorSerializer, description="The stored images cannot be decoded safely."
            ),
        },
    )
    def get(self, request, series_id: int):
        series = get_object_or_404(Series.objects.select_related("study"), pk=series_id)
        record_read(
            action="view_images", request=request, study_uid=series.study.study_instance_uid
        )
        try:
            volume = selectors.series_volume(series=series)
        except selectors.UndecodableImage as exc:
            return Response(
                {"detail": f"This series cannot be shown: {exc}."},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        response = HttpResponse(
            volume.pixels.astype("<u2").tobytes(), content_type="application/octet-stream"
        )
        response["X-Volume-Shape"] = ",".join(str(n) for n in volume.pixels.shape)
        response["X-Volume-Meta"] = json.dumps(
            {
                "instance_numbers": volume.instance_numbers,
                "window_center": volume.window_center,
                "window_width": volume.window_width,
                "pixel_spacing": [series.pixel_spacing_row_mm, series.pixel_spacing_col_mm],
            }
        )
        return response


class PseudonymSerializer(serializers.ModelSerializer):
    pseudonym = serializers.CharField(source="patient.pseudonym")

    class Meta:
        model = PatientIdentity
        fields = ["pseudonym", "original_patient_id", "original_name", "date_shift_days"]


class PseudonymPages(StrictPages):
    page_size = 100


class PseudonymMapApi(generics.ListAPIView):
    """The pseudonym map, 100 rows a page. Admins only; every
    read is recorded in the access log, not once a day."""

    permission_classes = [capability(roles.VIEW_PSEUDONYM_MAP)]
    serializer_class = PseudonymSerializer
    pagination_class = PseudonymPages

    def get_queryset(self):
        return PatientIdentity.objects.select_related("patient").order_by(
            "patient__pseudonym", "pk"
        )

    @extend_schema(
        operation_id="pseudonyms_list",
        responses={200: PseudonymSerializer(many=True), 400: BAD_PAGE, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_access(
            action="view_pseudonym_map",
            request=request,
            object_ref=f"api page {request.query_params.get('page', '1')}"[:200],
            detail={"rows": len(response.data["results"])},
        )
        return response
