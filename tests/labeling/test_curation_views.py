"""Curation pages over HTTP: save-and-next in one request, 409 on conflict, permissions, export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from labeling import selectors_curation as sel
from labeling.models import Annotation
from tests.factories import make_user
from tests.labeling.curation_helpers import form, labelled_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0


def test_queue_page_shows_the_most_uncertain_report_with_its_proposal(client, annotator):
    labelled_report(confidence=0.9)
    unsure = labelled_report(confidence=0.3, L4_L5={"disc": "bulge"})
    client.force_login(annotator)
    page = client.get("/labeling/curate/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-report="{unsure.pk}"' in html
    assert 'name="L4-L5__disc" value="bulge"' in html
    assert '<mark class="ev ev-disc"' in html


def test_save_and_next_is_one_request(client, annotator):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    client.force_login(annotator)
    response = client.post("/labeling/curate/save/", form(first.pk, 0, L4_L5={"disc": "herniation"}))
    assert response.status_code == 200
    assert f'data-report="{second.pk}"' in response.content.decode()
    assert Annotation.objects.filter(report=first, author=annotator).count() == 5
    assert Annotation.objects.get(report=first, level__level="L4-L5").disc == "herniation"


def test_conflict_is_409_with_the_current_state(client, annotator):
    report = labelled_report()
    other = make_user("annotator")
    client.force_login(other)
    assert client.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "bulge"})).status_code == 200
    client.force_login(annotator)
    response = client.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "herniation"}))
    assert response.status_code == 409
    html = response.content.decode()
    assert "data-conflict" in html and other.username in html
    assert 'name="L4-L5__disc" value="bulge"' in html  # the other person's saved decision
    assert f'name="token" value="{sel.report_token(report.pk)}"' in html
    assert not Annotation.objects.filter(author=annotator).exists()


def test_skip_undo_and_bad_input(client, annotator):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    client.force_login(annotator)
    skipped = client.get(f"/labeling/curate/next/?skip={first.pk}")
    assert f'data-report="{second.pk}"' in skipped.content.decode()
    client.post("/labeling/curate/save/", form(second.pk, 0, L4_L5={"disc": "bulge"}))
    undo = client.post("/labeling/curate/undo/")
    assert f'data-report="{second.pk}"' in undo.content.decode()
    assert 'name="L4-L5__disc" value="bulge"' in undo.content.decode()
    bad = form(first.pk, 0)
    bad["L4-L5__disc"] = "enormous"
    assert client.post("/labeling/curate/save/", bad).status_code == 400
    del bad["L1-L2__uncertain"]
    assert client.post("/labeling/curate/save/", bad).status_code == 400


def test_adjudication_page_and_save(client, settings, radiologist):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = labelled_report()
    for disc in ("bulge", "herniation"):
        client.force_login(make_user("annotator"))
        client.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": disc}))
    client.force_login(radiologist)
    page = client.get("/labeling/adjudicate/")
    assert page.status_code == 200 and "disputed" in page.content.decode()
    saved = client.post("/labeling/adjudicate/save/", form(report.pk, sel.report_token(report.pk)))
    assert saved.status_code == 200 and "No disagreement waits" in saved.content.decode()
    assert Annotation.objects.filter(kind="adjudication", author=radiologist).count() == 5


@pytest.mark.parametrize(
    ("role", "url", "method"),
    [
        ("researcher", "/labeling/curate/save/", "post"),
        ("researcher", "/labeling/curate/", "get"),
        ("researcher", "/labeling/adjudicate/save/", "post"),
        ("annotator", "/labeling/adjudicate/", "get"),
        ("annotator", "/labeling/adjudicate/save/", "post"),
        ("annotator", "/studies/pseudonyms/", "get"),
    ],
)
def test_roles_that_may_not(client, role, url, method):
    report = labelled_report()
    client.force_login(make_user(role))
    assert getattr(client, method)(url, form(report.pk, 0) if method == "post" else None).status_code == 403
    assert not Annotation.objects.exists()


def test_annotator_cannot_read_the_pseudonym_map_through_the_api(api_client):
    api_client.force_authenticate(make_user("annotator"))
    assert api_client.get("/api/pseudonyms").status_code == 403


def test_export_gold_as_jsonl_and_csv(client, researcher, annotator):
    report = labelled_report()
    client.force_login(annotator)
    client.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "bulge", "uncertain": True}))
    client.force_login(researcher)
    jsonl = client.get("/labeling/export/gold.jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl["Content-Disposition"]
    rows = [json.loads(line) for line in jsonl.content.decode().splitlines()]
    assert len(rows) == 5
    l45 = next(r for r in rows if r["level"] == "L4-L5")
    assert l45 == {
        "report_id": str(report.pk), "level": "L4-L5", "disc": "bulge", "canal_stenosis": "none",
        "left_foraminal": "none", "right_foraminal": "none", "left_subarticular": "none",
        "right_subarticular": "none", "uncertain": True, "canal_class": 1,
    }
    table = list(csv.DictReader(io.StringIO(client.get("/labeling/export/gold.csv").content.decode())))
    assert len(table) == 5 and next(r for r in table if r["level"] == "L4-L5")["uncertain"] == "true"
    assert client.get("/labeling/export/gold.xml").status_code == 404
    progress = client.get("/labeling/progress/")
    assert progress.status_code == 200 and "<strong>5</strong> of 5000" in progress.content.decode()
