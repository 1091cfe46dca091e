"""The image models' API: model versions, predictions, and inference jobs created and
watched as the study page's "Run the AI" does (refusals as 409 and 503)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from inference import dispatch
from inference.models import InferenceJob
from inference.services import jobs as job_services
from radbot_web.celery import app
from tests.api.clients import token_client
from tests.factories import StudyFactory
from tests.reports.dashboard_factories import levels_of, model_version, predict

pytestmark = pytest.mark.django_db

BULGE = {"disc": "bulge"}


def _jobs_url(study) -> str:
    return f"/api/studies/{study.study_instance_uid}/inference-jobs"


class _Unsent:
    """An inference chain as a broker takes it: queued, no worker has it yet."""

    def apply_async(self):
        return None


@pytest.fixture
def unsent(monkeypatch):
    monkeypatch.setattr(dispatch, "inference_chain", lambda job_id, queue=None: _Unsent())


@pytest.fixture
def with_broker():
    """Tasks are published (to the broker this test's chain cannot reach), not run here."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = before


def test_every_operation_needs_a_token_and_a_role():
    study = StudyFactory()
    nobody = get_user_model().objects.create_user("norole", password="a-long-test-password-1")
    gets = ["/api/model-versions", "/api/predictions", _jobs_url(study), "/api/inference-jobs/1"]
    forbidden = Client()
    forbidden.force_login(nobody)
    for url in gets:
        assert Client().get(url).status_code == 401, url
        assert forbidden.get(url).status_code == 403, url
    assert Client().post(_jobs_url(study)).status_code == 401
    assert forbidden.post(_jobs_url(study)).status_code == 403


def test_model_versions_newest_first_without_their_training_split(annotator):
    model_version("older")
    model_version("newer")
    rows = token_client(annotator).get("/api/model-versions").json()["results"]
    assert [r["name"] for r in rows] == ["newer", "older"]
    assert set(rows[0]) == {
        "id",
        "name",
        "created_at",
        "seed",
        "command",
        "train_seconds",
        "weight_files",
        "metrics",
        "history",
    }
    assert rows[0]["history"][0]["stage"] == "segmentation"


def test_predictions_filtered_by_study_model_job_and_level(annotator):
    v1, v2 = model_version("v1"), model_version("v2")
    study_a, study_b = StudyFactory(), StudyFactory()
    old = predict(study_a, v1, levels_of(), age_s=60)
    new = predict(study_a, v1, levels_of(L4_L5=BULGE))
    predict(study_b, v2, levels_of())
    api = token_client(annotator)
    assert api.get("/api/predictions").json()["count"] == 15
    rows = api.get("/api/predictions", {"study": study_a.study_instance_uid}).json()["results"]
    assert [r["job_id"] for r in rows] == [new.pk] * 5 + [old.pk] * 5  # newest job first
    assert rows[3]["level"] == "L4-L5" and rows[3]["disc"] == "bulge"
    assert rows[3]["canal_class"] == 1 and rows[3]["model_version_name"] == "v1"
    assert rows[3]["study_uid"] == study_a.study_instance_uid
    only = api.get(
        "/api/predictions", {"model_version": v1.pk, "level": "L4-L5", "job": old.pk}
    ).json()["results"]
    assert [(r["job_id"], r["disc"]) for r in only] == [(old.pk, "none")]
    assert api.get("/api/predictions", {"model_version": v2.pk}).json()["count"] == 5
    assert api.get("/api/predictions", {"study": "1.2.3"}).json()["count"] == 0
    for bad in ({"level": "L0"}, {"job": "-1"}, {"model_version": "x"}, {"study": ""}):
        assert api.get("/api/predictions", bad).status_code == 400, bad


def test_a_job_is_created_watched_and_a_second_refused_while_it_runs(
    radiologist, annotator, eager_celery, unsent, django_capture_on_commit_callbacks
):
    version = model_version("v1")
    study = StudyFactory()
    api = token_client(radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(_jobs_url(study), format="json")
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "queued" and job["progress"] == 0 and job["error"] == ""
    assert (job["study_uid"], job["model_version"]) == (study.study_instance_uid, version.pk)
    assert job["requested_by"] == radiologist.username
    assert created["Location"] == f"/api/inference-jobs/{job['id']}"

    watched = token_client(annotator).get(created["Location"])
    assert watched.status_code == 200 and watched.json() == job
    assert [j["id"] for j in api.get(_jobs_url(study)).json()["results"]] == [job["id"]]

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(_jobs_url(study), format="json")
    assert again.status_code == 409
    assert again.json()["job"] == job["id"] and "still queued" in again.json()["detail"]
    assert InferenceJob.objects.filter(study=study).count() == 1

    InferenceJob.objects.filter(pk=job["id"]).update(status="done")
    other = model_version("v2")  # a chosen version, not the newest
    with django_capture_on_commit_callbacks(execute=True):
        chosen = api.post(_jobs_url(study), {"model_version": version.pk}, format="json")
    assert chosen.status_code == 201 and chosen.json()["model_version"] == version.pk != other.pk


def test_who_may_run_the_ai_may_create_a_job(annotator, researcher, unsent, eager_celery):
    model_version("v1")
    study = StudyFactory()
    assert token_client(annotator).post(_jobs_url(study), format="json").status_code == 403
    assert token_client(researcher).post(_jobs_url(study), format="json").status_code == 201
    assert token_client(researcher).post("/api/studies/1.2.3/inference-jobs").status_code == 404


def test_refusals_name_their_reason(researcher, unsent, eager_celery):
    study = StudyFactory()
    api = token_client(researcher)
    nothing_trained = api.post(_jobs_url(study), format="json")
    assert nothing_trained.status_code == 503
    assert "no trained image model" in nothing_trained.json()["detail"]
    model_version("v1")
    unknown = api.post(_jobs_url(study), {"model_version": 999999}, format="json")
    assert unknown.status_code == 400 and "model_version" in unknown.json()
    assert api.post(_jobs_url(study), "[]", content_type="application/json").status_code == 400
    assert api.post(_jobs_url(study), "x=1", content_type="text/plain").status_code == 415
    assert not InferenceJob.objects.exists()
    assert api.get("/api/inference-jobs/424242").status_code == 404


@pytest.mark.django_db(transaction=True)  # the stages run at the real commit, in the request
def test_a_stage_that_crashes_in_process_fails_the_job_with_the_reason(
    researcher, eager_celery, monkeypatch
):
    """Embedded mode runs the stages in the request; a crash there is the job's failure
    (as a worker's task records it), not the request's."""
    model_version("v1")
    study = StudyFactory()

    def crash(job):
        raise ValueError("weights do not fit the network")

    monkeypatch.setitem(job_services._RUNNERS, "segment", crash)
    answer = token_client(researcher).post(_jobs_url(study), format="json")
    assert answer.status_code == 201
    assert answer.json()["status"] == "failed"
    assert (
        answer.json()["error"] == "segment stage failed: ValueError: weights do not fit the network"
    )


@pytest.mark.django_db(transaction=True)  # the chain is published at the real commit
def test_a_broker_that_cannot_be_reached_is_a_503_naming_the_failed_job(
    researcher, monkeypatch, with_broker
):
    class Unreachable:
        def apply_async(self):
            raise OSError("Connection refused")

    monkeypatch.setattr(dispatch, "inference_chain", lambda job_id, queue=None: Unreachable())
    model_version("v1")
    study = StudyFactory()
    answer = token_client(researcher).post(_jobs_url(study), format="json")
    assert answer.status_code == 503
    job = InferenceJob.objects.get(study=study)
    assert answer.json()["job"] == job.pk and job.status == "failed"
    assert job.error in answer.json()["detail"]


def test_a_job_that_stopped_moving_is_failed_when_watched(annotator, settings):
    version = model_version("v1")
    job = InferenceJob.objects.create(
        study=StudyFactory(), model_version=version, status="running", stage="segment"
    )
    InferenceJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.RADBOT_JOB_STALE_S + 60)
    )
    body = token_client(annotator).get(f"/api/inference-jobs/{job.pk}").json()
    assert body["status"] == "failed" and "no progress" in body["error"]
