"""The agreement dashboard: which pairs it compares, who may see it, the CSV, the cache."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from inference.models import InferenceJob
from reports.agreement import cache as dashboard_cache
from reports.agreement import summary
from reports.agreement.queries import GOLD, NLP, edit_shares, label_pairs, latest_predictions
from reports.stats import COMPARED_FIELDS
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

pytestmark = pytest.mark.django_db

URL = reverse("reports:dashboard")
CSV_URL = reverse("reports:dashboard-csv")
BULGE = {"disc": "bulge"}
HERNIATION = {"disc": "herniation", "canal_stenosis": "moderate"}


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _detector(rows, model: str, item: str, metric: str) -> dict[str, str]:
    (row,) = [
        r
        for r in rows
        if (r["section"], r["model_version"], r["item"], r["metric"])
        == ("detector", model, item, metric)
    ]
    return row


@pytest.fixture
def world():
    """Two studies: A with an old and a newer done job (and a newer failed one), B with one job.
    Gold labels on A only; NLP labels on both, from an old and the current labeller."""
    version, other = model_version("v1"), model_version("other")
    study_a, report_a = study_with_report()
    study_b, report_b = study_with_report()
    predict(study_a, version, levels_of(L4_L5=HERNIATION), age_s=600)  # superseded
    newest = predict(study_a, version, levels_of(L4_L5=BULGE), age_s=60)
    predict(study_a, version, levels_of(L4_L5=HERNIATION), status=InferenceJob.Status.FAILED)
    predict(study_b, version, levels_of(L3_L4=BULGE))
    predict(study_a, other, levels_of(L1_L2=HERNIATION))
    nlp_label(report_a, levels_of(L4_L5=HERNIATION), version=labeller("old"))
    nlp_label(report_a, levels_of(L4_L5=BULGE), version=labeller("current"))
    nlp_label(report_b, levels_of(), version=labeller("current"))
    gold_label(report_a, levels_of(L4_L5=BULGE, L2_L3={"right_foraminal": "mild"}))
    return {
        "version": version,
        "other": other,
        "a": study_a,
        "b": study_b,
        "newest": newest,
        "report_a": report_a,
    }


def test_latest_done_job_per_study_is_compared(world):
    predicted = latest_predictions(model_version_id=world["version"].pk)
    assert len(predicted) == 10
    disc = {key: values[COMPARED_FIELDS.index("disc")] for key, values in predicted.items()}
    assert disc[(world["a"].pk, "L4-L5")] == "bulge"  # the newer done job, not the failed one
    assert disc[(world["b"].pk, "L3-L4")] == "bulge"
    assert disc[(world["a"].pk, "L1-L2")] == "none"  # the other version's herniation is not here


def test_pairs_align_study_and_level_with_each_reference(world):
    gold = label_pairs(model_version_id=world["version"].pk, reference=GOLD)
    assert [key for key in gold.keys] == [
        (world["a"].pk, level) for level in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
    ]
    assert list(gold.reference["right_foraminal"]) == ["none", "mild", "none", "none", "none"]
    assert list(gold.predicted["disc"]) == ["none", "none", "none", "bulge", "none"]
    nlp = label_pairs(model_version_id=world["version"].pk, reference=NLP)
    assert len(nlp) == 10
    at = dict(zip(nlp.keys, nlp.reference["disc"], strict=True))
    assert at[(world["a"].pk, "L4-L5")] == "bulge"  # the current labeller, not the old one
    assert at[(world["b"].pk, "L3-L4")] == "none"


def test_dashboard_shows_table2_for_the_chosen_reference(client, researcher, world):
    client.force_login(researcher)
    response = client.get(URL, {"model": world["version"].pk, "reference": "gold"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-table2="{world["version"].pk}"' in page
    assert "v1 against gold labels, 5 levels" in page
    assert page.count("<svg") >= 4 + 1 + 6  # metric charts, canal heat map, per-level charts
    data = response.context["data"]
    foramen = data.models[0].detectors["foraminal_stenosis_right"]
    assert (foramen.fn, foramen.tn) == (1, 4)  # gold says mild at L2-L3, the model says none
    nlp = client.get(URL, {"model": world["version"].pk, "reference": "nlp"}).context["data"]
    assert nlp.models[0].compared_levels == 10 and nlp.reference == "nlp"


@pytest.mark.parametrize(
    "role, status", [("annotator", 403), ("researcher", 200), ("radiologist", 200), ("admin", 200)]
)
def test_who_may_see_agreement(client, world, role, status):
    from tests.factories import make_user

    client.force_login(make_user(role))
    assert client.get(URL).status_code == status
    assert client.get(CSV_URL).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_csv_holds_the_numbers_the_page_shows(client, researcher, world):
    client.force_login(researcher)
    response = client.get(
        CSV_URL, {"model": [world["version"].pk, world["other"].pk], "reference": "nlp"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="agreement-nlp-v1_other.csv"' in response["Content-Disposition"]
    export = AccessEvent.objects.get(action="export", user=researcher)  # every export is logged
    assert export.object_ref == "agreement-nlp.csv" and export.detail["reference"] == "nlp"
    rows = _csv(response)
    # v1 against the current NLP labels over A and B: the bulge at A L4-L5 agrees,
    # the one at B L3-L4 is a false positive.
    assert _detector(rows, "v1", "bulging", "tp")["value"] == "1"
    assert _detector(rows, "v1", "bulging", "fp")["value"] == "1"
    assert _detector(rows, "v1", "bulging", "tn")["value"] == "8"
    ppv = _detector(rows, "v1", "bulging", "ppv")
    assert float(ppv["value"]) == pytest.approx(0.5)
    assert float(ppv["ci_low"]) < 0.5 < float(ppv["ci_high"])
    assert ppv["n"] == "10"
    # "other" predicted only study A: herniation at L1-L2 against NLP's none.
    assert _detector(rows, "other", "herniation", "fp")["value"] == "1"
    canal = [
        r
        for r in rows
        if r["section"] == "canal_class"
        and r["model_version"] == "other"
        and r["metric"] == "count"
    ]
    assert sum(int(r["value"]) for r in canal) == 5
    grades = {
        (r["item"], r["metric"]): r
        for r in rows
        if r["section"] == "grades" and r["model_version"] == "v1"
    }
    assert set(grades) == {
        (name, metric)
        for name in ("canal_stenosis", "left_foraminal", "right_foraminal")
        for metric in ("accuracy", "weighted_kappa_linear", "left_out_unspecified")
    }
    assert grades[("canal_stenosis", "accuracy")]["n"] == "10"
    assert {r["section"] for r in rows} >= {
        "detector",
        "canal_class",
        "per_level",
        "training",
        "inter_annotator",
        "nlp_vs_gold",
        "edited_before_signing",
    }
    training = [r for r in rows if r["section"] == "training" and r["model_version"] == "v1"]
    assert ("segmentation", "2", "val_acc", "0.7") in {
        (r["item"], r["epoch"], r["metric"], r["value"]) for r in training
    }


def test_a_new_gold_label_changes_the_cached_dashboard(client, researcher, world, monkeypatch):
    client.force_login(researcher)
    params = {"model": world["version"].pk, "reference": "gold"}
    calls = []
    compute = summary.dashboard_data
    monkeypatch.setattr(
        dashboard_cache, "dashboard_data", lambda **kw: calls.append(kw) or compute(**kw)
    )
    first = client.get(URL, params).context["data"]
    client.get(URL, params)
    assert len(calls) == 1  # the second request was served from the cache
    assert first.models[0].compared_levels == 5

    fetched = []
    fetch = summary.latest_predictions
    monkeypatch.setattr(
        summary, "latest_predictions", lambda **kw: fetched.append(kw) or fetch(**kw)
    )
    gold_label(world["b"].reports.first(), levels_of(L3_L4=BULGE))
    after = client.get(URL, params).context["data"]
    assert len(calls) == 2
    assert fetched == []  # the model's predictions did not change: that part came from the cache
    assert after.models[0].compared_levels == 10
    assert after.models[0].detectors["bulging"].tp == 2

    response = client.get(CSV_URL, params)
    assert _detector(_csv(response), "v1", "bulging", "tp")["value"] == "2"


def test_new_predictions_labels_and_signatures_also_refresh_it(
    client, researcher, radiologist, world, monkeypatch
):
    monkeypatch.setattr(dashboard_cache, "NLP_REFERENCE_LAG_S", 0)  # never served late
    client.force_login(researcher)
    params = {"model": world["version"].pk, "reference": "nlp"}
    assert client.get(URL, params).context["data"].edits[0].signed == 0
    signed_ai_report(world["a"], radiologist, edited=True, job=world["newest"])
    assert client.get(URL, params).context["data"].edits[0].signed == 1
    predict(world["b"], world["version"], levels_of(L3_L4=BULGE, L4_L5=BULGE))
    data = client.get(URL, params).context["data"]
    assert data.models[0].detectors["bulging"].fp == 2
    # A newer labeller run (so far only on B's report) becomes the NLP reference.
    nlp_label(world["b"].reports.first(), levels_of(L3_L4=BULGE), version=labeller("newer"))
    data = client.get(URL, params).context["data"]
    assert data.models[0].compared_levels == 5
    assert (data.models[0].detectors["bulging"].tp, data.models[0].detectors["bulging"].fp) == (
        1,
        1,
    )


def test_the_nlp_reference_lags_behind_new_rows_and_says_so(client, researcher, world, monkeypatch):
    client.force_login(researcher)
    params = {"model": world["version"].pk, "reference": "nlp"}
    before = client.get(URL, params).context["data"]
    assert before.as_of is None and before.models[0].detectors["bulging"].fp == 1
    predict(world["b"], world["version"], levels_of(L3_L4=BULGE, L4_L5=BULGE))
    response = client.get(URL, params)
    late = response.context["data"]
    assert late.as_of is not None and late.models[0].detectors["bulging"].fp == 1
    assert "data-as-of" in response.content.decode()
    # The gold reference is never served late.
    assert client.get(URL, {**params, "reference": "gold"}).context["data"].as_of is None
    # Past the lag it is computed again.
    monkeypatch.setattr(dashboard_cache, "NLP_REFERENCE_LAG_S", 0)
    fresh = client.get(URL, params).context["data"]
    assert fresh.as_of is None and fresh.models[0].detectors["bulging"].fp == 2


def test_a_new_model_version_is_never_served_late(client, researcher, world):
    client.force_login(researcher)
    params = {"model": world["version"].pk, "reference": "nlp"}
    client.get(URL, params)
    model_version("v2")
    assert client.get(URL, params).context["data"].as_of is None


def test_edited_share_counts_signed_text_that_differs_from_the_generated_one(radiologist, world):
    version = world["version"]
    job = world["newest"]
    signed_ai_report(world["a"], radiologist, edited=True, job=job)
    signed_ai_report(world["b"], radiologist, edited=False, job=job)
    study_c, _ = study_with_report()
    signed_ai_report(study_c, radiologist, edited=False)
    overall, per_version = edit_shares(model_version_ids=[version.pk])
    assert (overall.signed, overall.edited) == (3, 1)
    assert overall.share.value == pytest.approx(1 / 3)
    assert (per_version.label, per_version.signed, per_version.edited) == ("v1", 2, 1)


def test_three_versions_side_by_side_at_most(client, researcher, world):
    extra = [model_version(f"x{i}") for i in range(2)]
    client.force_login(researcher)
    ids = [world["version"].pk, world["other"].pk, extra[0].pk, extra[1].pk, "junk"]
    response = client.get(URL, {"model": ids, "reference": "gold"})
    data = response.context["data"]
    assert [m.name for m in data.models] == ["v1", "other", "x0"]
    assert response.content.decode().count("data-model=") == 3
    assert "x0 has no finished predictions" in response.content.decode()


def test_empty_states_say_what_to_run(client, researcher):
    client.force_login(researcher)
    page = client.get(URL).content.decode()
    assert "No model version yet" in page and "train_models" in page and "run_inference" in page
    version = model_version("lonely")
    assert client.get(URL).context["query"].reference == "nlp"  # nobody has curated yet
    page = client.get(URL, {"reference": "gold"}).content.decode()
    assert "No gold labels yet" in page and "lonely has no finished predictions" in page
    study, _ = study_with_report()
    predict(study, version, levels_of())
    page = client.get(URL, {"reference": "nlp"}).content.decode()
    assert "No NLP labels yet" in page and "Labeller" in page
    assert "Export CSV" in page


def test_a_warm_request_is_a_handful_of_queries(
    client, researcher, world, django_assert_max_num_queries
):
    client.force_login(researcher)
    params = {"model": world["version"].pk, "reference": "gold"}
    client.get(URL, params)
    with django_assert_max_num_queries(6):
        assert client.get(URL, params).status_code == 200
