from django.http import HttpRequest

from accounts import roles
from accounts.selectors import roles_of


def capabilities(request: HttpRequest) -> dict:
    user = request.user
    return {
        "user_roles": roles_of(user),
        "can_upload": user.has_perm(roles.UPLOAD_STUDIES),
        "can_import_reports": user.has_perm(roles.IMPORT_REPORTS),
        "can_view_pseudonyms": user.has_perm(roles.VIEW_PSEUDONYM_MAP),
        "can_run_labeller": user.has_perm(roles.RUN_LABELLER),
        "can_run_inference": user.has_perm(roles.RUN_INFERENCE),
        "can_annotate": user.has_perm(roles.ANNOTATE),
        "can_adjudicate": user.has_perm(roles.ADJUDICATE),
        "can_sign_reports": user.has_perm(roles.SIGN_REPORTS),
        "can_view_agreement": user.has_perm(roles.VIEW_AGREEMENT),
    }
