"""REST API for AI reports and the agreement figures. Thin classes: reads are the review
page's and the exports' own (reports.review.page, reports.exports), the figures the
dashboard's (reports.agreement).

Roles as in the app: whoever may open a study reads its AI report's versions and takes
a signed one as FHIR (as from the review page, every read and export audited); the
agreement figures are for those who judge the models (VIEW_AGREEMENT), as the dashboard.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import capability
from audit.services import record_access, record_read
from radbot_web.api_errors import ErrorSerializer
from radbot_web.api_pages import BAD_QUERY, NOT_FOUND, QueryFilters, StrictPages
from reports import services
from reports.agreement.cache import NLP_REFERENCE_LAG_S, cached_dashboard_data
from reports.agreement.figures import agreement_figures
from reports.agreement.queries import REFERENCES, default_reference, model_versions
from reports.agreement.summary import MAX_MODELS
from reports.exports import fhir
from reports.exports.document import NotExportableError
from reports.exports.from_models import version_for_export
from reports.exports.services import export_version
from reports.models import ReportVersion
from reports.review.page import report_for, versions_of
from reports.stats import GRADE_SCALE
from spine.labels import CANAL_CLASSES, LEVELS
from studies.models import Study

# Ids are 64-bit in the database; a filter beyond that range could only match nothing.
MAX_ID = 2**63 - 1


class ReportVersionPages(StrictPages):
    page_size = 100


class ReportVersionSerializer(serializers.Serializer):
    """One version of a study's AI report, without its text."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(
        ReportVersion.Status.choices, help_text="FHIR DiagnosticReport.status."
    )
    origin = serializers.ChoiceField(ReportVersion.Origin.choices)
    based_on = serializers.IntegerField(source="based_on_id", allow_null=True)
    source_job = serializers.IntegerField(
        source="source_job_id", allow_null=True, help_text="The inference job it was written from."
    )
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text="Null for text the models wrote."
    )
    created_at = serializers.DateTimeField()
    signed_by = serializers.CharField(source="signed_by.username", allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)


class FindingSerializer(serializers.Serializer):
    level = serializers.ChoiceField(LEVELS)
    text = serializers.CharField(allow_blank=True)


class ReportVersionDetailSerializer(ReportVersionSerializer):
    """One version with its text, and the labels the generated text says."""

    study_uid = serializers.CharField(source="report.study.study_instance_uid")
    findings = FindingSerializer(many=True)
    impression = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(
        child=serializers.DictField(),
        help_text="Level -> the labels the generated text says (exchange format).",
    )
    amendment_reason = serializers.CharField(allow_blank=True)
    content_sha256 = serializers.CharField(
        allow_blank=True, help_text="Of the signed content ('' until signed)."
    )


class StudyReportVersionsApi(generics.ListAPIView):
    """The versions of a study's AI report, oldest first (none before the first draft)."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = ReportVersionSerializer
    pagination_class = ReportVersionPages

    def get_queryset(self):
        study = get_object_or_404(Study, study_instance_uid=self.kwargs["study_uid"])
        return versions_of(report_for(study))

    @extend_schema(
        operation_id="study_report_versions_list",
        responses={200: ReportVersionSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _version(version_id: int) -> ReportVersion | None:
    try:
        return version_for_export(version_id=version_id)
    except ReportVersion.DoesNotExist:
        return None


NO_VERSION = {"detail": "No such report version."}


class ReportVersionApi(APIView):
    """One report version with its text: a read of the study in the access log and a view
    in the report's audit trail, as the review page records."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = ReportVersionDetailSerializer

    @extend_schema(
        operation_id="report_versions_retrieve",
        responses={200: ReportVersionDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, version_id: int):
        version = _version(version_id)
        if version is None:
            return Response(NO_VERSION, status=status.HTTP_404_NOT_FOUND)
        record_read(
            action="view_study", request=request, study_uid=version.report.study.study_instance_uid
        )
        services.record_view(report=version.report, user=request.user, version=version)
        return Response(ReportVersionDetailSerializer(version).data)


class AnyAccept(BaseContentNegotiation):
    """Whatever the client accepts (a FHIR client asks for application/fhir+json): the
    bundle goes out as the export builds it, an error as the API's JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ReportVersionFhirApi(APIView):
    """A signed version as a FHIR R4 Bundle, as the review page's FHIR download (an export
    in the report's audit trail). An unsigned version is a 409."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="report_versions_fhir",
        responses={
            (200, fhir.CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A FHIR R4 Bundle (type collection): the DiagnosticReport, its "
                "Patient (pseudonym), Practitioner, ImagingStudy, the models as a Device, and "
                "the Observations per disc level.",
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The version is not signed: only signed versions leave.",
            ),
        },
    )
    def get(self, request, version_id: int):
        version = _version(version_id)
        if version is None:
            return Response(NO_VERSION, status=status.HTTP_404_NOT_FOUND)
        try:
            file = export_version(version=version, user=request.user, fmt="fhir")
        except NotExportableError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return HttpResponse(file.content, content_type=file.content_type)


class AgreementFilters(QueryFilters):
    reference = serializers.ChoiceField(
        list(REFERENCES),
        required=False,
        help_text="Compare with gold labels or NLP labels; gold once curation has begun.",
    )
    model = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_MODELS,
        help_text=f"Up to {MAX_MODELS} model version ids (repeat the parameter); the newest "
        "when left out.",
    )

    def validate_model(self, ids: list[int]) -> list[int]:
        known = {choice.id for choice in model_versions()}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise serializers.ValidationError(f"No model version {unknown[0]}.")
        return list(dict.fromkeys(ids))


class EstimateSerializer(serializers.Serializer):
    """A proportion or statistic with its 95% CI (Wilson or percentile bootstrap); null
    where undefined (no samples)."""

    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)


class DetectorSerializer(serializers.Serializer):
    """One detector against the reference (the paper's Table 2 row)."""

    detector = serializers.CharField()
    label = serializers.CharField()
    n = serializers.IntegerField()
    tp = serializers.IntegerField()
    fp = serializers.IntegerField()
    fn = serializers.IntegerField()
    tn = serializers.IntegerField()
    # reports.stats.BINARY_METRICS, in its order
    accuracy = EstimateSerializer()
    sensitivity = EstimateSerializer()
    specificity = EstimateSerializer()
    ppv = EstimateSerializer()
    npv = EstimateSerializer()
    f1 = EstimateSerializer()
    kappa = EstimateSerializer()


class CanalClassSerializer(serializers.Serializer):
    """A confusion matrix (rows reference, columns model) and its kappas."""

    labels = serializers.ListField(
        child=serializers.IntegerField(), help_text=f"The classes, {list(CANAL_CLASSES)}."
    )
    matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    n = serializers.IntegerField()
    accuracy = EstimateSerializer()
    kappa = EstimateSerializer()
    weighted_kappa = EstimateSerializer()
    weights = serializers.CharField()


class GradeTableSerializer(CanalClassSerializer):
    field = serializers.CharField()
    labels = serializers.ListField(child=serializers.ChoiceField(GRADE_SCALE))
    left_out_unspecified = serializers.IntegerField(
        help_text="Levels where either side says 'unspecified' (no place on the grade scale)."
    )
    model_grades = serializers.BooleanField(
        help_text="False: the model only says present or absent."
    )


class LevelCountsSerializer(serializers.Serializer):
    detector = serializers.CharField()
    level = serializers.ChoiceField(LEVELS)
    reference_positives = serializers.IntegerField()
    reference_negatives = serializers.IntegerField()
    model_positives = serializers.IntegerField()
    tp = serializers.IntegerField()
    tn = serializers.IntegerField()
    accuracy = EstimateSerializer()
    sensitivity = EstimateSerializer()
    specificity = EstimateSerializer()


class ModelAgreementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    predicted_levels = serializers.IntegerField()
    compared_levels = serializers.IntegerField()
    detectors = DetectorSerializer(many=True)
    canal_class = CanalClassSerializer()
    grades = GradeTableSerializer(many=True)
    levels = LevelCountsSerializer(many=True)


class FieldAgreementSerializer(serializers.Serializer):
    field = serializers.CharField()
    n = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    kappa = serializers.FloatField(allow_null=True)


class EditShareSerializer(serializers.Serializer):
    label = serializers.CharField()
    signed = serializers.IntegerField()
    edited = serializers.IntegerField()
    share = EstimateSerializer()


class AgreementSerializer(serializers.Serializer):
    reference = serializers.ChoiceField(list(REFERENCES))
    reference_label = serializers.CharField()
    reference_levels = serializers.IntegerField()
    gold_levels = serializers.IntegerField()
    nlp_levels = serializers.IntegerField()
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="Null when the figures are current; otherwise when they were computed "
        f"(the NLP reference is served up to {round(NLP_REFERENCE_LAG_S / 60)} minutes late "
        "while only new studies, labels and predictions arrive).",
    )
    models = ModelAgreementSerializer(many=True)
    nlp_vs_gold = FieldAgreementSerializer(many=True)
    inter_annotator = FieldAgreementSerializer(many=True)
    edited_before_signing = EditShareSerializer(many=True)


class AgreementApi(APIView):
    """The agreement dashboard's figures: each chosen model version against gold or NLP
    labels (per detector with 95% CIs, canal class, grades, per level), the labeller
    against gold, annotators against each other, and how often AI text was edited before
    signing. Recorded in the access log as the dashboard's CSV export is."""

    permission_classes = [capability(roles.VIEW_AGREEMENT)]
    serializer_class = AgreementSerializer

    @extend_schema(
        operation_id="agreement_retrieve",
        parameters=[AgreementFilters],
        responses={200: AgreementSerializer, 400: BAD_QUERY},
    )
    def get(self, request):
        filters = AgreementFilters.parse(request.query_params)
        reference = filters.get("reference") or default_reference()
        ids = filters.get("model") or [c.id for c in model_versions()[:1]]
        data = cached_dashboard_data(model_version_ids=ids, reference=reference)
        record_access(
            action="export",
            request=request,
            object_ref=f"api agreement-{reference}",
            detail={"models": ids, "reference": reference},
        )
        return Response(AgreementSerializer(agreement_figures(data)).data)
