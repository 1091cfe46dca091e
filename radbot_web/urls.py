from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import ObtainTokenApi, ThrottledLoginView, admin_login
from inference import api as inference_api
from labeling import api as labeling_api
from radbot_web.api_errors import SchemaApi
from reports import api as reports_api
from studies import api as studies_api


def api(view):
    """API views authenticate in DRF (session or token), not in the login-redirect middleware."""
    return login_not_required(view.as_view())


api_patterns = [
    path("auth/token", api(ObtainTokenApi), name="api-token"),
    path("studies", api(studies_api.StudyListApi), name="api-studies"),
    path("studies/upload", api(studies_api.StudyUploadApi), name="api-studies-upload"),
    path("studies/<str:study_uid>", api(studies_api.StudyDetailApi), name="api-study"),
    path("reports/import", api(studies_api.ReportImportApi), name="api-reports-import"),
    path(
        "series/<int:series_id>/volume", api(studies_api.SeriesVolumeApi), name="api-series-volume"
    ),
    path("pseudonyms", api(studies_api.PseudonymMapApi), name="api-pseudonyms"),
    path("labels/nlp", api(labeling_api.NlpLabelListApi), name="api-labels-nlp"),
    path("labels/gold", api(labeling_api.GoldLabelListApi), name="api-labels-gold"),
    path("model-versions", api(inference_api.ModelVersionListApi), name="api-model-versions"),
    path("predictions", api(inference_api.PredictionListApi), name="api-predictions"),
    path(
        "studies/<str:study_uid>/inference-jobs",
        api(inference_api.StudyInferenceJobsApi),
        name="api-study-inference-jobs",
    ),
    path(
        "inference-jobs/<int:job_id>", api(inference_api.InferenceJobApi), name="api-inference-job"
    ),
    path(
        "studies/<str:study_uid>/report-versions",
        api(reports_api.StudyReportVersionsApi),
        name="api-study-report-versions",
    ),
    path(
        "report-versions/<int:version_id>",
        api(reports_api.ReportVersionApi),
        name="api-report-version",
    ),
    path(
        "report-versions/<int:version_id>/fhir",
        api(reports_api.ReportVersionFhirApi),
        name="api-report-version-fhir",
    ),
    path("agreement", api(reports_api.AgreementApi), name="api-agreement"),
    path("schema", api(SchemaApi), name="api-schema"),
]

# The admin's own login would be an unthrottled way to guess staff passwords (the admin
# role is superuser): it goes through the app's throttled login view and counters.
admin.site.login = admin_login

# An API path that matches no route (a series id that is not a number) answers in the
# API's JSON error shape, not with the HTML page.
handler404 = "radbot_web.api_errors.not_found"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="studies:list", permanent=False)),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("studies/", include("studies.urls")),
    path("labeling/", include("labeling.urls")),
    path("inference/", include("inference.urls")),
    path("reports/", include("reports.urls")),
    path("dicomweb/", include("studies.dicomweb.urls")),
]
