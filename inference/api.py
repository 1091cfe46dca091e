"""REST API for the image models: model versions, predictions, and inference jobs (create,
list, status). Thin classes: reads are inference.selectors', a new job is
inference.dispatch.request_inference's.

Roles: whoever may open a study sees its models' output (the study page's AI panel);
whoever may press "Run the AI" there (RUN_INFERENCE) may create a job here.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import capability
from inference import selectors
from inference.dispatch import request_inference
from inference.models import InferenceJob, ModelVersion
from inference.services.jobs import JobActive, JobNotQueued, NoModel, reap_stale_jobs
from radbot_web.api_errors import ErrorSerializer
from radbot_web.api_pages import BAD_QUERY, NOT_FOUND, QueryFilters, StrictPages
from spine.labels import CANAL_CLASSES, DISC_VALUES, GRADES, LEVELS
from studies.models import Study

# Ids are 64-bit in the database; a filter beyond that range could only match nothing.
MAX_ID = 2**63 - 1


class InferencePages(StrictPages):
    page_size = 100


class ModelVersionSerializer(serializers.ModelSerializer):
    metrics = serializers.DictField(help_text="Held-out metrics at the end of training.")
    history = serializers.ListField(
        child=serializers.DictField(), help_text="Per stage and epoch: loss and accuracy."
    )
    weight_files = serializers.DictField(
        child=serializers.CharField(), help_text="Weight file name -> its sha256."
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "created_at",
            "seed",
            "command",
            "train_seconds",
            "weight_files",
            "metrics",
            "history",
        ]


class ModelVersionListApi(generics.ListAPIView):
    """Trained model versions, newest first, 100 a page (without their training split)."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = ModelVersionSerializer
    pagination_class = InferencePages

    def get_queryset(self):
        return selectors.model_version_list()

    @extend_schema(
        operation_id="model_versions_list",
        responses={200: ModelVersionSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PredictionFilters(QueryFilters):
    study = serializers.RegexField(
        r"^[0-9][0-9.]*$",
        required=False,
        max_length=64,
        trim_whitespace=False,
        help_text="A study's StudyInstanceUID (digits and dots).",
    )
    model_version = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="A model version's id."
    )
    job = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="An inference job's id."
    )
    level = serializers.ChoiceField(LEVELS, required=False, help_text="A disc level.")


class PredictionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job_id = serializers.IntegerField()
    study_uid = serializers.CharField(source="job.study.study_instance_uid")
    level = serializers.ChoiceField(LEVELS, source="level.level")
    model_version = serializers.IntegerField(source="model_version_id")
    model_version_name = serializers.CharField(source="model_version.name")
    disc = serializers.ChoiceField(DISC_VALUES)
    canal_stenosis = serializers.ChoiceField(GRADES)
    left_foraminal = serializers.ChoiceField(GRADES)
    right_foraminal = serializers.ChoiceField(GRADES)
    canal_class = serializers.ChoiceField(CANAL_CLASSES)
    probabilities = serializers.DictField(
        help_text="Per detector, 0 to 1 (foraminal stenosis per side)."
    )
    ap_diameter_mm = serializers.FloatField(
        allow_null=True, help_text="Canal AP diameter; null when not measured."
    )
    ap_note = serializers.CharField(allow_blank=True, help_text="Why the AP was not measured.")
    confidence = serializers.FloatField(
        allow_null=True, help_text="How sure the models are of the level's name and place, 0 to 1."
    )
    best_slice = serializers.DictField(
        help_text="Detector -> the slice that shows it ({series_uid, instance_number})."
    )
    centre_mm = serializers.ListField(
        child=serializers.FloatField(), help_text="Disc centre in patient coordinates (LPS, mm)."
    )
    created_at = serializers.DateTimeField()


class PredictionListApi(generics.ListAPIView):
    """The models' readings, one per study x disc level x job, 100 a page: by study, newest
    job first, then level."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = PredictionSerializer
    pagination_class = InferencePages

    def get_queryset(self):
        data = PredictionFilters.parse(self.request.query_params)
        return selectors.prediction_list(
            study_uid=data.get("study", ""),
            model_version_id=data.get("model_version"),
            job_id=data.get("job"),
            level=data.get("level", ""),
        )

    @extend_schema(
        operation_id="predictions_list",
        parameters=[PredictionFilters],
        responses={200: PredictionSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InferenceJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study_uid = serializers.CharField(source="study.study_instance_uid")
    model_version = serializers.IntegerField(source="model_version_id")
    model_version_name = serializers.CharField(source="model_version.name")
    status = serializers.ChoiceField(InferenceJob.Status.choices)
    stage = serializers.CharField(
        allow_blank=True, help_text="The stage running or last run ('' before the first)."
    )
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    error = serializers.CharField(allow_blank=True, help_text="Why the job failed ('' if not).")
    not_assessed = serializers.DictField(
        child=serializers.CharField(), help_text="Level -> why the models gave it no reading."
    )
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class InferenceJobRequestSerializer(serializers.Serializer):
    model_version = serializers.PrimaryKeyRelatedField(
        queryset=ModelVersion.objects.all(),
        required=False,
        help_text="The model version to run (its id); the newest when left out.",
    )


JOB_CONFLICT = OpenApiResponse(
    inline_serializer(
        "InferenceJobActive",
        fields={"detail": serializers.CharField(), "job": serializers.IntegerField()},
    ),
    description="A job for this study is still queued or running (`job`): one at a time.",
)
NOT_QUEUED = OpenApiResponse(
    ErrorSerializer,
    description="No trained model yet, or the job could not be queued (the broker is down: "
    "the job is failed, with the reason, and `job` names it). Try again later.",
)


class StudyInferenceJobsApi(generics.ListAPIView):
    """GET: the study's inference jobs, newest first. POST: run the models on the study, as
    "Run the AI" on its page does; 201 with the job (poll GET /api/inference-jobs/{id})."""

    serializer_class = InferenceJobSerializer
    pagination_class = InferencePages
    parser_classes = [JSONParser]

    def get_permissions(self):
        needed = roles.RUN_INFERENCE if self.request.method == "POST" else roles.VIEW_STUDIES
        return [capability(needed)()]

    def _study(self) -> Study:
        return get_object_or_404(Study, study_instance_uid=self.kwargs["study_uid"])

    def get_queryset(self):
        study = self._study()
        reap_stale_jobs(study=study)  # a job that stopped moving is failed, so polling ends
        return selectors.jobs_for(study).select_related("study", "requested_by")

    @extend_schema(
        operation_id="study_inference_jobs_list",
        responses={200: InferenceJobSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="study_inference_jobs_create",
        request=InferenceJobRequestSerializer,
        responses={
            201: InferenceJobSerializer,
            404: NOT_FOUND,
            409: JOB_CONFLICT,
            503: NOT_QUEUED,
        },
    )
    def post(self, request, study_uid: str):
        study = self._study()
        body = InferenceJobRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = request_inference(
                study=study,
                user=request.user,
                model_version=body.validated_data.get("model_version"),
            )
        except JobActive as exc:
            return Response(
                {"detail": str(exc), "job": exc.job.pk}, status=status.HTTP_409_CONFLICT
            )
        except NoModel as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except JobNotQueued as exc:  # the job exists, failed with the reason
            failed = selectors.jobs_for(study).first()
            return Response(
                {"detail": str(exc), "job": failed.pk if failed else None},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        # In-process mode the stages ran already: answer with where the job stands now.
        job = selectors.job_with_study(job.pk)
        response = Response(InferenceJobSerializer(job).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api-inference-job", kwargs={"job_id": job.pk})
        return response


class InferenceJobApi(APIView):
    """One inference job: status, stage, progress, and why it failed."""

    permission_classes = [capability(roles.VIEW_STUDIES)]
    serializer_class = InferenceJobSerializer

    @extend_schema(
        operation_id="inference_jobs_retrieve",
        responses={200: InferenceJobSerializer, 404: NOT_FOUND},
    )
    def get(self, request, job_id: int):
        try:
            job = selectors.job_with_study(job_id)
        except InferenceJob.DoesNotExist:
            return Response({"detail": "No such inference job."}, status=status.HTTP_404_NOT_FOUND)
        if selectors.job_is_active(job) and reap_stale_jobs(study=job.study):
            job = selectors.job_with_study(job_id)  # it had stopped moving: failed now
        return Response(InferenceJobSerializer(job).data)
