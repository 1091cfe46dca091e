"""REST API for labels: the NLP labeller's labels and the gold labels. Thin classes: the
filters are parsed by a serializer, the reads are labeling.selectors'.

Both lists are for every role that may open a study (the gold export's permission);
each page read is recorded in the access log, as every gold export is: labels leave
the system in bulk.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from accounts import roles
from accounts.permissions import capability
from audit.services import record_access
from labeling import selectors
from radbot_web.api_pages import BAD_QUERY, NOT_FOUND, QueryFilters, StrictPages
from spine.labels import CANAL_CLASSES, DISC_VALUES, GRADES, LEVELS

# Ids are 64-bit in the database; a filter beyond that range could only match nothing.
MAX_ID = 2**63 - 1


class LabelPages(StrictPages):
    page_size = 100


class LevelLabelsSerializer(serializers.Serializer):
    """The guide's fields of one report x disc level (spine.labels), and the canal class
    they imply."""

    report_id = serializers.IntegerField(help_text="The radiologist's report.")
    study_uid = serializers.CharField(help_text="The report's study (StudyInstanceUID).")
    level = serializers.ChoiceField(LEVELS)
    disc = serializers.ChoiceField(DISC_VALUES)
    canal_stenosis = serializers.ChoiceField(GRADES)
    left_foraminal = serializers.ChoiceField(GRADES)
    right_foraminal = serializers.ChoiceField(GRADES)
    left_subarticular = serializers.ChoiceField(GRADES)
    right_subarticular = serializers.ChoiceField(GRADES)
    uncertain = serializers.BooleanField()
    canal_class = serializers.ChoiceField(CANAL_CLASSES)


class LabelFilters(QueryFilters):
    report = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="A report's id."
    )
    level = serializers.ChoiceField(LEVELS, required=False, help_text="A disc level.")


class NlpLabelFilters(LabelFilters):
    labeller_version = serializers.CharField(
        required=False,
        max_length=128,
        trim_whitespace=False,  # a version is matched as it is written
        # DRF refuses a NUL in any text; the pattern puts that rule in the schema too.
        validators=[RegexValidator(r"^[^\x00]*$", "A version has no NUL characters.")],
        help_text="A labeller version, as it names itself.",
    )


class NlpLabelSerializer(LevelLabelsSerializer):
    id = serializers.IntegerField()
    study_uid = serializers.CharField(
        source="level.study.study_instance_uid", help_text="The report's study."
    )
    level = serializers.ChoiceField(LEVELS, source="level.level")
    labeller_version = serializers.CharField(source="labeller.version")
    confidence = serializers.DictField(
        child=serializers.FloatField(), help_text="Per field, 0 to 1."
    )
    min_confidence = serializers.FloatField(allow_null=True)
    evidence = serializers.ListField(
        child=serializers.DictField(),
        help_text="Spans of the report text ({start, end, field}) each field was read from.",
    )
    created_at = serializers.DateTimeField()


class NlpLabelListApi(generics.ListAPIView):
    """The NLP labeller's labels, every version's, 100 a page: by report, labeller version
    (oldest first) and level."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = NlpLabelSerializer
    pagination_class = LabelPages

    def get_queryset(self):
        filters = NlpLabelFilters.parse(self.request.query_params)
        return selectors.nlp_labels(
            report_id=filters.get("report"),
            level=filters.get("level", ""),
            labeller_version=filters.get("labeller_version", ""),
        )

    @extend_schema(
        operation_id="labels_nlp_list",
        parameters=[NlpLabelFilters],
        responses={200: NlpLabelSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        _record_page(request, "nlp-labels", rows=len(response.data["results"]))
        return response


class GoldLabelListApi(generics.ListAPIView):
    """Gold labels as the gold export has them (reports whose five levels are all gold,
    in the guide's exchange format), 100 a page: by report, then level."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = LevelLabelsSerializer
    pagination_class = LabelPages

    def get_queryset(self):
        filters = LabelFilters.parse(self.request.query_params)
        return selectors.gold_labels(
            report_id=filters.get("report"), level=filters.get("level", "")
        )

    @extend_schema(
        operation_id="labels_gold_list",
        parameters=[LabelFilters],
        responses={200: LevelLabelsSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        _record_page(request, "gold-labels", rows=len(response.data["results"]))
        return response


def _record_page(request, what: str, *, rows: int) -> None:
    record_access(
        action="export",
        request=request,
        object_ref=f"api {what} page {request.query_params.get('page', '1')}"[:200],
        detail={"rows": rows, "query": request.query_params.urlencode()[:500]},
    )
