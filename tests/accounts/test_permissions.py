"""The permission matrix, endpoint by endpoint and role by role."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_user

ROLES = ["annotator", "radiologist", "researcher", "admin"]

NO_SUCH_STUDY = "/1.2.3/"

# endpoint -> (method, roles allowed). Allowed roles must not get 401/403; others must get 403.
MATRIX = {
    "/studies/": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/studies/upload/": ("get", {"radiologist", "researcher", "admin"}),
    "/studies/reports/import/": ("get", {"radiologist", "researcher", "admin"}),
    "/studies/pseudonyms/": ("get", {"admin"}),
    "/api/studies": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/api/studies/upload": ("post", {"radiologist", "researcher", "admin"}),
    "/api/reports/import": ("post", {"radiologist", "researcher", "admin"}),
    "/api/pseudonyms": ("get", {"admin"}),
    "/api/labels/nlp": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/api/labels/gold": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/api/model-versions": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/api/predictions": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/api/studies/1.2.3/inference-jobs": ("post", {"radiologist", "researcher", "admin"}),
    "/api/studies/1.2.3/report-versions": (
        "get",
        {"annotator", "radiologist", "researcher", "admin"},
    ),
    "/api/agreement": ("get", {"radiologist", "researcher", "admin"}),
    "/labeling/": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/labeling/guide/": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/labeling/runs/": ("post", {"researcher", "admin"}),
    "/labeling/curate/": ("get", {"annotator", "radiologist", "admin"}),
    "/labeling/curate/next/": ("get", {"annotator", "radiologist", "admin"}),
    "/labeling/curate/save/": ("post", {"annotator", "radiologist", "admin"}),
    "/labeling/curate/undo/": ("post", {"annotator", "radiologist", "admin"}),
    "/labeling/adjudicate/": ("get", {"radiologist", "admin"}),
    "/labeling/adjudicate/save/": ("post", {"radiologist", "admin"}),
    "/labeling/progress/": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/labeling/export/gold.jsonl": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/labeling/export/gold.csv": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/reports/": ("get", {"annotator", "radiologist", "researcher", "admin"}),
    "/reports/agreement/": ("get", {"radiologist", "researcher", "admin"}),
    "/reports/agreement/export.csv": ("get", {"radiologist", "researcher", "admin"}),
    # Signing and editing AI reports is for radiologists and admins (no such study: 404 once allowed).
    "/reports/1.2.3/save/": ("post", {"radiologist", "admin"}),
    "/reports/1.2.3/sign/": ("post", {"radiologist", "admin"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", list(MATRIX))
def test_role_matrix(client, role, url):
    method, allowed = MATRIX[url]
    client.force_login(make_user(role))
    response = getattr(client, method)(url)
    if role in allowed:
        # Allowed: the request reaches the view (a POST without files is a 400, not a 403).
        reached = {200, 302, 400} | ({404} if NO_SUCH_STUDY in url else set())
        assert response.status_code in reached, (role, url, response.status_code)
    else:
        assert response.status_code == 403, (role, url, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(MATRIX))
def test_anonymous_is_refused_everywhere(client, url):
    method, _ = MATRIX[url]
    response = getattr(client, method)(url)
    if url.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_user_without_a_role_sees_nothing(client):
    user = get_user_model().objects.create_user("norole", password="a-long-test-password-1")
    client.force_login(user)
    assert client.get("/studies/").status_code == 403
    assert client.get("/api/studies").status_code == 403


@pytest.mark.django_db
def test_only_admins_read_the_pseudonym_map_through_django_admin(client):
    client.force_login(make_user("annotator"))
    assert client.get("/admin/studies/patientidentity/").status_code == 302  # to admin login
    client.force_login(make_user("admin"))
    assert client.get("/admin/studies/patientidentity/").status_code == 200


@pytest.mark.django_db
def test_image_endpoints_need_a_signed_in_user_with_a_role(client, tmp_path):
    from studies.models import Series
    from studies.services.ingest import ingest_paths
    from tests.studies.batch import sagittal_series, write_files

    write_files(tmp_path / "in", sagittal_series(2))
    ingest_paths(paths=[tmp_path / "in"])
    series = Series.objects.get()
    volume, thumb = f"/api/series/{series.pk}/volume", f"/studies/series/{series.pk}/thumbnail.png"
    assert client.get(volume).status_code == 401
    assert client.get(thumb).status_code == 302
    client.force_login(
        get_user_model().objects.create_user("norole2", password="a-long-test-password-1")
    )
    assert client.get(volume).status_code == 403
    assert client.get(thumb).status_code == 403
    for role in ROLES:
        client.force_login(make_user(role))
        assert client.get(volume).status_code == 200
