"""The four roles and what each may do: the permission matrix in one place.

Each capability is a Django permission ("app_label.codename"); a role is a
Group holding those permissions. Views and API classes ask for a capability,
never for a role name.
"""

from __future__ import annotations

ANNOTATOR = "annotator"
RADIOLOGIST = "radiologist"
RESEARCHER = "researcher"
ADMIN = "admin"
ROLES: tuple[str, ...] = (ANNOTATOR, RADIOLOGIST, RESEARCHER, ADMIN)

VIEW_STUDIES = "studies.view_study"
UPLOAD_STUDIES = "studies.upload_studies"
IMPORT_REPORTS = "studies.import_reports"
VIEW_PSEUDONYM_MAP = "studies.view_patientidentity"
RUN_LABELLER = "labeling.run_labeller"
ANNOTATE = "labeling.annotate"
TRAIN_MODELS = "inference.train_models"
RUN_INFERENCE = "inference.run_inference"
# Settling annotators' disagreements is for senior readers: radiologists and admins.
ADJUDICATE = "labeling.adjudicate"
# Signing is a radiologist's act; agreement statistics are for those who judge the models.
SIGN_REPORTS = "reports.sign_reports"
VIEW_AGREEMENT = "reports.view_agreement"
# Sending a signed report's results to the PACS again sends patient data out: admins only.
# (The outbox row's own change permission: resending is the one change a person makes.)
RESEND_RESULTS = "reports.change_resultdelivery"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ANNOTATOR: frozenset({VIEW_STUDIES, ANNOTATE}),
    RADIOLOGIST: frozenset(
        {
            VIEW_STUDIES,
            UPLOAD_STUDIES,
            IMPORT_REPORTS,
            ANNOTATE,
            ADJUDICATE,
            RUN_INFERENCE,
            SIGN_REPORTS,
            VIEW_AGREEMENT,
        }
    ),
    RESEARCHER: frozenset(
        {
            VIEW_STUDIES,
            UPLOAD_STUDIES,
            IMPORT_REPORTS,
            RUN_LABELLER,
            TRAIN_MODELS,
            RUN_INFERENCE,
            VIEW_AGREEMENT,
        }
    ),
    ADMIN: frozenset(
        {
            VIEW_STUDIES,
            UPLOAD_STUDIES,
            IMPORT_REPORTS,
            VIEW_PSEUDONYM_MAP,
            RUN_LABELLER,
            ANNOTATE,
            ADJUDICATE,
            TRAIN_MODELS,
            RUN_INFERENCE,
            SIGN_REPORTS,
            VIEW_AGREEMENT,
            RESEND_RESULTS,
        }
    ),
}
