"""The labels API: NLP labels of every labeller version and gold labels, filtered,
paginated, for every role that may open a study, every page read in the access log."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AccessEvent
from spine.labels import LEVELS
from tests.api.clients import token_client
from tests.factories import make_user
from tests.reports.dashboard_factories import (
    gold_label,
    labeller,
    levels_of,
    nlp_label,
    study_with_report,
)

pytestmark = pytest.mark.django_db

NLP, GOLD = "/api/labels/nlp", "/api/labels/gold"
BULGE = {"disc": "bulge"}


@pytest.fixture
def labelled():
    """Two reports read by an old and a new labeller version; the first fully gold, the
    second gold at one level only (not gold as the export counts it)."""
    old, new = labeller("rules-old"), labeller("rules-new")
    report_a, report_b = study_with_report()[1], study_with_report()[1]
    for report in (report_a, report_b):
        nlp_label(report, levels_of(), version=old)
        nlp_label(report, levels_of(L4_L5=BULGE), version=new)
    gold_label(report_a, levels_of(L4_L5={"disc": "herniation", "canal_stenosis": "moderate"}))
    gold_label(report_b, {"L1-L2": levels_of()["L1-L2"]})
    return report_a, report_b


def test_labels_need_a_token_and_a_role():
    nobody = get_user_model().objects.create_user("norole", password="a-long-test-password-1")
    for url in (NLP, GOLD):
        assert Client().get(url).status_code == 401
        forbidden = Client()
        forbidden.force_login(nobody)
        assert forbidden.get(url).status_code == 403


def test_nlp_labels_of_every_version_filtered_by_report_level_and_version(labelled, annotator):
    report_a, report_b = labelled
    api = token_client(annotator)
    everything = api.get(NLP).json()
    assert everything["count"] == 20  # 2 reports x 2 versions x 5 levels
    first = everything["results"][0]
    assert first["report_id"] == report_a.pk
    assert first["study_uid"] == report_a.study.study_instance_uid
    assert (first["labeller_version"], first["level"]) == ("rules-old", "L1-L2")
    assert first["canal_class"] == 0 and first["confidence"]["disc"] == 0.9
    assert set(first) >= {"evidence", "min_confidence", "created_at", "uncertain"}

    rows = api.get(
        NLP, {"report": report_b.pk, "level": "L4-L5", "labeller_version": "rules-new"}
    ).json()["results"]
    assert [(r["report_id"], r["level"], r["disc"], r["canal_class"]) for r in rows] == [
        (report_b.pk, "L4-L5", "bulge", 1)
    ]
    versions = api.get(NLP, {"report": report_a.pk}).json()["results"]
    assert [r["labeller_version"] for r in versions] == ["rules-old"] * 5 + ["rules-new"] * 5
    assert api.get(NLP, {"labeller_version": "no-such"}).json()["count"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"level": "L6-L7"},
        {"level": ""},
        {"report": "x"},
        {"report": "0"},
        {"labeller_version": ""},
        {"labeller_version": "rules\x00"},
    ],
)
def test_a_filter_that_is_not_valid_is_a_400_with_the_reason(labelled, annotator, query):
    answer = token_client(annotator).get(NLP, query)
    assert answer.status_code == 400
    assert set(answer.json()) == set(query)


def test_the_schema_says_a_labeller_version_has_no_nul(annotator):
    # schemathesis generates what the schema allows: a NUL it allowed was refused (a 400)
    schema = token_client(annotator).get("/api/schema", {"format": "json"}).json()
    parameters = schema["paths"][NLP]["get"]["parameters"]
    version = next(p for p in parameters if p["name"] == "labeller_version")
    pattern = re.compile(version["schema"]["pattern"])
    assert pattern.search("radbot-rules-1.2-2cffba201c")
    assert not pattern.search("rules\x00")


def test_nlp_labels_come_100_a_page(annotator):
    version = labeller()
    for _ in range(21):
        nlp_label(study_with_report()[1], levels_of(), version=version)
    api = token_client(annotator)
    first = api.get(NLP).json()
    assert first["count"] == 105 and len(first["results"]) == 100
    assert first["next"].endswith("page=2") and first["previous"] is None
    last = api.get(NLP, {"page": 2}).json()
    assert len(last["results"]) == 5 and last["next"] is None
    ids = {r["id"] for page in (first, last) for r in page["results"]}
    assert len(ids) == 105
    assert api.get(NLP, {"page": 3}).status_code == 404
    assert api.get(NLP, {"page": "x"}).status_code == 400


def test_gold_labels_are_the_gold_exports_rows(labelled, researcher):
    report_a, _ = labelled
    api = token_client(researcher)
    rows = api.get(GOLD).json()["results"]
    assert [(r["report_id"], r["level"]) for r in rows] == [(report_a.pk, lv) for lv in LEVELS]
    signed_in = Client()
    signed_in.force_login(researcher)
    export = [
        json.loads(line)
        for line in signed_in.get("/labeling/export/gold.jsonl").content.decode().splitlines()
    ]
    assert [{**row, "report_id": str(row["report_id"])} for row in rows] == [
        {**row, "study_uid": report_a.study.study_instance_uid} for row in export
    ]
    herniation = api.get(GOLD, {"report": report_a.pk, "level": "L4-L5"}).json()["results"]
    assert [(r["disc"], r["canal_stenosis"], r["canal_class"]) for r in herniation] == [
        ("herniation", "moderate", 3)
    ]
    assert api.get(GOLD, {"report": report_a.pk + 1000}).json()["count"] == 0
    assert api.get(GOLD, {"level": "L9"}).status_code == 400


def test_every_page_of_labels_is_recorded(labelled):
    user = make_user("radiologist")
    api = token_client(user)
    api.get(GOLD)
    api.get(GOLD)
    api.get(NLP, {"level": "L4-L5"})
    events = AccessEvent.objects.filter(user=user, action="export").order_by("id")
    assert [e.object_ref for e in events] == [
        "api gold-labels page 1",
        "api gold-labels page 1",
        "api nlp-labels page 1",
    ]
    assert events[0].detail["rows"] == 5 and events[2].detail == {"rows": 4, "query": "level=L4-L5"}
