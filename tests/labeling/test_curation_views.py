"""Curation pages over HTTP: save-and-next in one request, 409 on conflict, permissions, export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.test import Client

from audit.models import AccessEvent
from labeling.curation.adjudication import awaits_adjudication
from labeling.curation.item import report_token
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


def _signed_in(user) -> Client:
    """A browser of its own per person: each keeps its own session (what it was shown)."""
    browser = Client()
    browser.force_login(user)
    return browser


def _opened(browser: Client, url: str = "/labeling/curate/") -> str:
    page = browser.get(url)
    assert page.status_code == 200
    return page.content.decode()


def test_save_and_next_is_one_request(client, annotator):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    client.force_login(annotator)
    assert f'data-report="{first.pk}"' in _opened(client)
    response = client.post(
        "/labeling/curate/save/", form(first.pk, 0, L4_L5={"disc": "herniation"})
    )
    assert response.status_code == 200
    assert f'data-report="{second.pk}"' in response.content.decode()
    assert Annotation.objects.filter(report=first, author=annotator).count() == 5
    assert Annotation.objects.get(report=first, level__level="L4-L5").disc == "herniation"


def test_conflict_is_409_with_the_current_state(annotator):
    report = labelled_report()
    other = make_user("annotator")
    mine = _signed_in(annotator)
    _opened(mine)
    cache.clear()  # my hold runs out while the report is open
    theirs = _signed_in(other)
    assert f'data-report="{report.pk}"' in _opened(theirs)
    assert (
        theirs.post(
            "/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "bulge"})
        ).status_code
        == 200
    )
    response = mine.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "herniation"}))
    assert response.status_code == 409
    html = response.content.decode()
    assert "data-conflict" in html and other.username in html
    assert 'name="L4-L5__disc" value="bulge"' in html  # the other person's saved decision
    assert f'name="token" value="{report_token(report.pk)}"' in html
    assert not Annotation.objects.filter(author=annotator).exists()


def test_a_forged_token_does_not_skip_the_conflict_check(annotator):
    """The client sends a token larger than any row: the server checks against what it showed."""
    report = labelled_report()
    other = make_user("annotator")
    mine = _signed_in(annotator)
    _opened(mine)
    cache.clear()
    theirs = _signed_in(other)
    _opened(theirs)
    assert (
        theirs.post(
            "/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "bulge"})
        ).status_code
        == 200
    )
    response = mine.post(
        "/labeling/curate/save/", form(report.pk, 10**9, L4_L5={"disc": "herniation"})
    )
    assert response.status_code == 409
    assert not Annotation.objects.filter(author=annotator).exists()


def test_a_report_never_shown_is_not_saved(client, annotator):
    report = labelled_report()
    client.force_login(annotator)
    response = client.post("/labeling/curate/save/", form(report.pk, 0))
    assert response.status_code == 409 and "not opened from your queue" in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_report_a_colleague_holds_is_not_saved(annotator):
    """My hold ran out and a colleague took the report: my save is refused, theirs stands."""
    report = labelled_report()
    mine = _signed_in(annotator)
    _opened(mine)
    cache.clear()
    theirs = _signed_in(make_user("annotator"))
    assert f'data-report="{report.pk}"' in _opened(theirs)
    response = mine.post("/labeling/curate/save/", form(report.pk, 0))
    assert (
        response.status_code == 409
        and "colleague has this report open" in response.content.decode()
    )
    assert not Annotation.objects.exists()


def test_a_report_filled_while_it_was_open_is_not_saved(annotator):
    report = labelled_report()
    mine = _signed_in(annotator)
    _opened(mine)
    cache.clear()
    first = _signed_in(make_user("annotator"))
    _opened(first)
    assert first.post("/labeling/curate/save/", form(report.pk, 0)).status_code == 200
    cache.clear()  # their hold goes on commit, which this test transaction never reaches
    # My page still shows the report; the client claims to have seen the newest decision.
    response = mine.post("/labeling/curate/save/", form(report.pk, report_token(report.pk)))
    assert response.status_code == 409
    assert not Annotation.objects.filter(author=annotator).exists()
    # Having been shown the report as it stands (the 409), saving again is a decision of its own.
    again = mine.post("/labeling/curate/save/", form(report.pk, report_token(report.pk)))
    assert again.status_code == 200 and Annotation.objects.filter(author=annotator).count() == 5


def test_skip_undo_and_bad_input(client, annotator):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    client.force_login(annotator)
    assert f'data-report="{first.pk}"' in _opened(client)
    skipped = client.post("/labeling/curate/next/", {"skip": first.pk})
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


def test_a_refused_value_comes_back_as_plain_text(client, settings, annotator):
    """The 400 echoes the posted value: as text/plain it can never run as markup."""
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    disputed = _disputed()
    report = labelled_report()
    client.force_login(annotator)
    assert f'data-report="{report.pk}"' in _opened(client)
    bad = form(report.pk, 0)
    bad["L4-L5__disc"] = "<svg onload=alert(1)>"
    response = client.post("/labeling/curate/save/", bad)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "<svg" in response.content.decode()
    radiologist = _signed_in(make_user("radiologist"))
    assert f'data-report="{disputed.pk}"' in _opened(radiologist, "/labeling/adjudicate/")
    bad = form(disputed.pk, report_token(disputed.pk))
    bad["L4-L5__disc"] = "<svg onload=alert(1)>"
    refused = radiologist.post("/labeling/adjudicate/save/", bad)
    assert refused.status_code == 400 and refused["Content-Type"] == "text/plain; charset=utf-8"
    assert not Annotation.objects.filter(report=report).exists()


def test_a_get_never_skips_or_restarts(client, annotator):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    client.force_login(annotator)
    assert (
        f'data-report="{first.pk}"'
        in client.get(f"/labeling/curate/next/?skip={first.pk}").content.decode()
    )
    assert client.session.get("curation_skipped", []) == []
    client.post("/labeling/curate/next/", {"skip": first.pk})
    assert client.session["curation_skipped"] == [first.pk]
    assert f'data-report="{second.pk}"' in _opened(client, "/labeling/curate/?restart=1")
    assert client.session["curation_skipped"] == [first.pk]
    restarted = client.post("/labeling/curate/", {"restart": "1", "site": "SITE-A"})
    assert restarted.status_code == 303 and "site=SITE-A" in restarted["Location"]
    assert client.session["curation_skipped"] == []


def test_adjudication_skip_and_restart_are_posts(client, settings, radiologist):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = _disputed()
    client.force_login(radiologist)
    assert (
        f'data-report="{report.pk}"'
        in client.get(f"/labeling/adjudicate/?skip={report.pk}").content.decode()
    )
    assert client.session.get("adjudication_skipped", []) == []
    skipped = client.post("/labeling/adjudicate/", {"skip": report.pk}, HTTP_HX_REQUEST="true")
    assert skipped.status_code == 200 and "No disagreement waits" in skipped.content.decode()
    assert client.session["adjudication_skipped"] == [report.pk]
    restarted = client.post("/labeling/adjudicate/", {"restart": "1"})
    assert restarted.status_code == 303 and client.session["adjudication_skipped"] == []


def _disputed(**first_levels):
    """A report in the overlap share on which two annotators disagree at L4-L5."""
    report = labelled_report()
    for disc in ("bulge", "herniation"):
        browser = _signed_in(make_user("annotator"))
        _opened(browser)
        saved = browser.post("/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": disc}))
        assert saved.status_code == 200
        cache.clear()  # the save's hold release runs on commit, which this test transaction never reaches
    return report


def test_adjudication_page_and_save(client, settings, radiologist):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = _disputed()
    client.force_login(radiologist)
    page = client.get("/labeling/adjudicate/")
    assert page.status_code == 200 and "disputed" in page.content.decode()
    saved = client.post("/labeling/adjudicate/save/", form(report.pk, report_token(report.pk)))
    assert saved.status_code == 200 and "No disagreement waits" in saved.content.decode()
    assert Annotation.objects.filter(kind="adjudication", author=radiologist).count() == 5


def test_only_a_disputed_report_can_be_adjudicated(client, settings, radiologist):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = _disputed()
    client.force_login(radiologist)
    assert f'data-report="{report.pk}"' in _opened(client, "/labeling/adjudicate/")
    # The annotator who said "herniation" corrects it to "bulge": nothing is disputed now.
    herniation = Annotation.objects.get(report=report, level__level="L4-L5", disc="herniation")
    Annotation.objects.bulk_create(
        [
            Annotation(
                **{
                    **{
                        f.attname: getattr(row, f.attname) for f in Annotation._meta.concrete_fields
                    },
                    "id": None,
                    "disc": "bulge" if row.level.level == "L4-L5" else row.disc,
                }
            )
            for row in Annotation.objects.filter(report=report, author_id=herniation.author_id)
        ]
    )
    assert not awaits_adjudication(report.pk)
    response = client.post("/labeling/adjudicate/save/", form(report.pk, report_token(report.pk)))
    assert (
        response.status_code == 409 and "not waiting for adjudication" in response.content.decode()
    )
    assert not Annotation.objects.filter(kind="adjudication").exists()


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
    assert (
        getattr(client, method)(url, form(report.pk, 0) if method == "post" else None).status_code
        == 403
    )
    assert not Annotation.objects.exists()


def test_annotator_cannot_read_the_pseudonym_map_through_the_api(api_client):
    api_client.force_authenticate(make_user("annotator"))
    assert api_client.get("/api/pseudonyms").status_code == 403


def test_export_gold_as_jsonl_and_csv(client, researcher, annotator):
    report = labelled_report()
    client.force_login(annotator)
    _opened(client)
    client.post(
        "/labeling/curate/save/", form(report.pk, 0, L4_L5={"disc": "bulge", "uncertain": True})
    )
    client.force_login(researcher)
    jsonl = client.get("/labeling/export/gold.jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl["Content-Disposition"]
    rows = [json.loads(line) for line in jsonl.content.decode().splitlines()]
    assert len(rows) == 5
    l45 = next(r for r in rows if r["level"] == "L4-L5")
    assert l45 == {
        "report_id": str(report.pk),
        "level": "L4-L5",
        "disc": "bulge",
        "canal_stenosis": "none",
        "left_foraminal": "none",
        "right_foraminal": "none",
        "left_subarticular": "none",
        "right_subarticular": "none",
        "uncertain": True,
        "canal_class": 1,
    }
    table = list(
        csv.DictReader(io.StringIO(client.get("/labeling/export/gold.csv").content.decode()))
    )
    assert (
        len(table) == 5 and next(r for r in table if r["level"] == "L4-L5")["uncertain"] == "true"
    )
    assert client.get("/labeling/export/gold.xml").status_code == 404
    progress = client.get("/labeling/progress/")
    assert progress.status_code == 200 and "<strong>5</strong> of 5000" in progress.content.decode()


def test_every_gold_export_and_every_item_shown_is_in_the_access_log(client, researcher, annotator):
    report = labelled_report()
    client.force_login(annotator)
    _opened(client)
    shown = AccessEvent.objects.get(action="view_study", user=annotator)
    assert shown.study_uid == report.study.study_instance_uid
    client.force_login(researcher)
    client.get("/labeling/export/gold.jsonl")
    client.get("/labeling/export/gold.jsonl")
    client.get("/labeling/export/gold.csv")
    exports = AccessEvent.objects.filter(action="export", user=researcher).order_by("id")
    assert [e.object_ref for e in exports] == ["gold.jsonl", "gold.jsonl", "gold.csv"]
