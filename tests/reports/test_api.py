"""The AI reports API (versions, their text, a signed one as FHIR) and the agreement
figures: the roles and audit of the pages they mirror, and the dashboard's own numbers."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AccessEvent
from reports.exports.fhir import validate_bundle
from reports.models import AuditEvent
from reports.stats import BINARY_METRICS
from tests.api.clients import token_client
from tests.factories import StudyFactory
from tests.reports.dashboard_factories import (
    gold_label,
    labeller,
    levels_of,
    model_version,
    nlp_label,
    predict,
    signed_ai_report,
    study_with_report,
)
from tests.reports.export_data import IMPRESSION, draft, model_job, sign

pytestmark = pytest.mark.django_db

BULGE = {"disc": "bulge"}
HERNIATION = {"disc": "herniation", "canal_stenosis": "moderate"}


def _versions_url(study) -> str:
    return f"/api/studies/{study.study_instance_uid}/report-versions"


@pytest.fixture
def amended(radiologist):
    """A study's AI report: v1 generated and signed, v2 an amendment still preliminary."""
    study = StudyFactory()
    job = model_job(study)
    first = sign(draft(study, job=job), radiologist)
    second = draft(study, number=2, based_on=first, author=radiologist, impression="Amended.")
    return study, first, second


def test_report_operations_need_a_token_and_a_role(amended):
    study, first, _ = amended
    nobody = get_user_model().objects.create_user("norole", password="a-long-test-password-1")
    forbidden = Client()
    forbidden.force_login(nobody)
    for url in (
        _versions_url(study),
        f"/api/report-versions/{first.pk}",
        f"/api/report-versions/{first.pk}/fhir",
        "/api/agreement",
    ):
        assert Client().get(url).status_code == 401, url
        assert forbidden.get(url).status_code == 403, url


def test_a_studys_versions_oldest_first_without_their_text(amended, annotator):
    study, first, second = amended
    api = token_client(annotator)
    rows = api.get(_versions_url(study)).json()["results"]
    assert [(r["id"], r["number"], r["status"], r["origin"]) for r in rows] == [
        (first.pk, 1, "final", "generated"),
        (second.pk, 2, "preliminary", "edited"),
    ]
    assert rows[0]["signed_by"] == first.signed_by.username and rows[0]["created_by"] is None
    assert rows[1]["based_on"] == first.pk and rows[1]["signed_at"] is None
    assert "impression" not in rows[0] and "findings" not in rows[0]
    assert api.get(_versions_url(StudyFactory())).json()["count"] == 0  # no AI report yet
    assert api.get("/api/studies/1.2.3/report-versions").status_code == 404


def test_reading_a_version_is_recorded_as_the_review_page_records_it(amended, annotator):
    study, first, _ = amended
    api = token_client(annotator)
    body = api.get(f"/api/report-versions/{first.pk}").json()
    assert body["impression"] == IMPRESSION and body["study_uid"] == study.study_instance_uid
    assert body["findings"] == first.findings and body["labels"] == first.labels
    assert body["content_sha256"] == first.content_sha256 and body["source_job"] is not None
    (view,) = AuditEvent.objects.filter(action="view", user=annotator)
    assert (view.version, view.report) == (first, first.report)
    assert AccessEvent.objects.filter(
        action="view_study", user=annotator, study_uid=study.study_instance_uid
    ).exists()
    assert api.get("/api/report-versions/987654").status_code == 404


def test_a_signed_version_as_a_fhir_bundle_and_the_export_audited(amended, researcher):
    _, first, second = amended
    api = token_client(researcher)
    answer = api.get(f"/api/report-versions/{first.pk}/fhir", HTTP_ACCEPT="application/fhir+json")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    bundle = json.loads(answer.content)
    validate_bundle(bundle)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    report = bundle["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport" and report["conclusion"] == IMPRESSION
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {
        "Patient",
        "Practitioner",
        "ImagingStudy",
        "Device",
        "Observation",
    }
    (export,) = AuditEvent.objects.filter(action="export", user=researcher)
    assert export.version == first and export.detail["format"] == "fhir"
    assert export.detail["bytes"] == len(answer.content)

    unsigned = api.get(f"/api/report-versions/{second.pk}/fhir")
    assert unsigned.status_code == 409 and "signed" in unsigned.json()["detail"]
    assert unsigned["Content-Type"] == "application/json"
    assert api.get("/api/report-versions/987654/fhir").status_code == 404
    assert AuditEvent.objects.filter(action="export").count() == 1


@pytest.fixture
def world(radiologist):
    """Two model versions over two studies, NLP labels on both, gold labels on one, and
    signed AI reports (one edited before signing)."""
    version, other = model_version("v1"), model_version("other")
    study_a, report_a = study_with_report()
    study_b, report_b = study_with_report()
    job_a = predict(study_a, version, levels_of(L4_L5=BULGE))
    predict(study_b, version, levels_of(L3_L4=BULGE, L5_S1=HERNIATION))
    predict(study_a, other, levels_of(L1_L2=HERNIATION))
    nlp_label(report_a, levels_of(L4_L5=BULGE), version=labeller("current"))
    nlp_label(report_b, levels_of(L5_S1=HERNIATION), version=labeller("current"))
    gold_label(report_a, levels_of(L4_L5=BULGE, L2_L3={"right_foraminal": "mild"}))
    signed_ai_report(study_a, radiologist, edited=True, job=job_a)
    return version, other


def _estimate(value) -> dict:
    return {"value": value.value, "low": value.low, "high": value.high}


@pytest.mark.parametrize("reference", ["gold", "nlp"])
def test_the_agreement_figures_are_the_dashboards(world, researcher, reference):
    version, other = world
    query = {"reference": reference, "model": [version.pk, other.pk]}
    page = Client()
    page.force_login(researcher)
    shown = page.get("/reports/agreement/", query).context["data"]
    figures = token_client(researcher).get("/api/agreement", query).json()

    assert figures["reference"] == reference
    assert (figures["gold_levels"], figures["nlp_levels"]) == (shown.gold_levels, shown.nlp_levels)
    assert figures["reference_levels"] == shown.reference_levels
    assert [m["id"] for m in figures["models"]] == [version.pk, other.pk]
    for model, block in zip(figures["models"], shown.models, strict=True):
        assert model["compared_levels"] == block.compared_levels
        assert [d["detector"] for d in model["detectors"]] == [
            k for k, _, _ in block.detector_rows()
        ]
        for detector in model["detectors"]:
            agreement = block.detectors[detector["detector"]]
            counts = (agreement.tp, agreement.fp, agreement.fn, agreement.tn, agreement.n)
            assert (
                detector["tp"],
                detector["fp"],
                detector["fn"],
                detector["tn"],
                detector["n"],
            ) == counts
            for metric in BINARY_METRICS:
                assert detector[metric] == _estimate(agreement.metric(metric)), metric
        assert model["canal_class"]["matrix"] == [list(row) for row in block.canal.matrix]
        assert model["canal_class"]["weighted_kappa"] == _estimate(block.canal.weighted_kappa)
        assert [g["field"] for g in model["grades"]] == list(block.grades)
        levels = {(row["detector"], row["level"]): row for row in model["levels"]}
        for key, _, _ in block.detector_rows():
            for counts in block.levels[key]:
                row = levels[(key, counts.level)]
                assert row["reference_positives"] == counts.positives
                assert row["sensitivity"] == _estimate(counts.sensitivity)
    assert figures["nlp_vs_gold"] == shown.nlp_vs_gold
    assert figures["inter_annotator"] == shown.inter_annotator
    assert [(e["label"], e["signed"], e["edited"]) for e in figures["edited_before_signing"]] == [
        (e.label, e.signed, e.edited) for e in shown.edits
    ]
    assert figures["edited_before_signing"][0]["share"] == _estimate(shown.edits[0].share)


def test_a_gold_comparison_counts_what_the_gold_label_says(world, radiologist):
    version, _ = world
    figures = token_client(radiologist).get("/api/agreement", {"reference": "gold"}).json()
    (model,) = figures["models"]  # the newest version only, when none is chosen
    assert model["id"] != version.pk  # "other" is the newer one
    chosen = token_client(radiologist).get(
        "/api/agreement", {"reference": "gold", "model": version.pk}
    )
    foramen = {d["detector"]: d for d in chosen.json()["models"][0]["detectors"]}[
        "foraminal_stenosis_right"
    ]
    assert (foramen["fn"], foramen["tn"]) == (1, 4)  # gold says mild at L2-L3, the model none
    assert foramen["sensitivity"]["value"] == 0.0 and foramen["specificity"]["value"] == 1.0


def test_agreement_refusals_and_audit(world, annotator, researcher):
    version, _ = world
    assert token_client(annotator).get("/api/agreement").status_code == 403
    api = token_client(researcher)
    for bad in (
        {"reference": "radiologists"},
        {"model": 999999},
        {"model": "x"},
        {"model": [version.pk] * 4},
    ):
        answer = api.get("/api/agreement", bad)
        assert answer.status_code == 400, bad
        assert set(answer.json()) == set(bad)
    api.get("/api/agreement", {"model": version.pk, "reference": "nlp"})
    (event,) = AccessEvent.objects.filter(action="export", user=researcher)
    assert event.object_ref == "api agreement-nlp"
    assert event.detail == {"models": [version.pk], "reference": "nlp"}


def test_agreement_without_any_model_version(researcher):
    figures = token_client(researcher).get("/api/agreement").json()
    assert figures["models"] == [] and figures["reference"] == "nlp"
