"""Disagreements between the labeller and gold labels, exported as regression cases."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from audit.models import AccessEvent
from labeling.curation.gold_disagreements import labeller_disagreements
from labeling.curation.item import report_token
from labeling.curation.services import save_decisions
from labeling.models import Annotation
from labeling.regression_cases import FORMAT, check, problems
from tests.factories import make_user
from tests.labeling.curation_helpers import decisions, form, labelled_report

pytestmark = pytest.mark.django_db

# The labeller's proposal (helpers: L4-L5 bulge) misses the herniation a person saw.
TEXT = (
    "FINDINGS:\nL3-4: Normal.\nL4-5: Broad-based disc protrusion.\nIt indents the thecal sac.\n\n"
    "IMPRESSION:\nDegenerative change."
)


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0


def _gold(report, author, **levels):
    save_decisions(
        author=author,
        report_id=report.pk,
        token=report_token(report.pk),
        decisions=decisions(**levels),
    )


@pytest.fixture
def disputed():
    """A report whose gold disc at L4-L5 is herniation with moderate canal stenosis; the
    labeller proposed a bulge and no stenosis."""
    report = labelled_report(text=TEXT, L4_L5={"disc": "bulge"})
    author = make_user("annotator", username="ann")
    _gold(report, author, L4_L5={"disc": "herniation", "canal_stenosis": "moderate"})
    return report


def test_disagreements_are_the_gold_fields_the_proposal_misses(disputed):
    found = labeller_disagreements()
    assert [(d.report_id, d.level, d.field, d.gold, d.labeller, d.authors) for d in found] == [
        (disputed.pk, "L4-L5", "disc", "herniation", "bulge", ("ann",)),
        (disputed.pk, "L4-L5", "canal_stenosis", "moderate", "none", ("ann",)),
    ]
    assert [d.field for d in labeller_disagreements(field_name="canal_stenosis")] == [
        "canal_stenosis"
    ]
    assert labeller_disagreements(level="L3-L4") == []
    assert len(labeller_disagreements(limit=1)) == 1
    assert labeller_disagreements(report_id=disputed.pk + 1) == []


def test_only_gold_counts(disputed):
    """A second annotator who disagrees takes the level out of gold until adjudicated."""
    _gold(disputed, make_user("annotator"), L4_L5={"disc": "bulge"})
    assert labeller_disagreements() == []  # a level is gold or not as a whole
    adjudicator = make_user("radiologist", username="rad")
    save_decisions(
        author=adjudicator,
        report_id=disputed.pk,
        token=report_token(disputed.pk),
        decisions=decisions(L4_L5={"disc": "herniation"}),
        kind=Annotation.Kind.ADJUDICATION,
    )
    found = labeller_disagreements()
    assert [(d.field, d.authors) for d in found] == [("disc", ("rad",))]


def test_export_a_regression_case(client, annotator, disputed):
    client.force_login(annotator)
    response = client.get(f"/labeling/disagreements/{disputed.pk}/L4-L5/disc.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="report-{disputed.pk}-L4-L5-disc.json"'
    )
    case = json.loads(response.content)
    assert problems(case) == [] and case["format"] == FORMAT
    assert (case["level"], case["field"], case["gold"], case["labeller"]) == (
        "L4-L5",
        "disc",
        "herniation",
        "bulge",
    )
    assert case["labeller_version"] == "rules-test" and case["author"] == "ann"
    assert case["exported_by"] == annotator.username and case["time"] and case["exported_at"]
    # The level's sentences (and those of its evidence: the helper's span starts in the
    # L3-4 line) read the same as the whole report: the case keeps only them.
    assert (
        case["text"]
        == "L3-4: Normal.\nL4-5: Broad-based disc protrusion.\nIt indents the thecal sac."
    )
    assert case["text_is_excerpt"] is True
    assert check(case) is None  # the rules read the herniation; this proposal was an old version's
    event = AccessEvent.objects.get(action="export")
    assert (
        event.object_ref == f"regression-case.{disputed.pk}.L4-L5.disc"
        and event.username == annotator.username
    )


def test_no_case_where_the_labeller_agrees_or_nothing_is_gold(client, annotator, disputed):
    client.force_login(annotator)
    for url in (
        f"/labeling/disagreements/{disputed.pk}/L4-L5/left_foraminal.json",  # agrees
        f"/labeling/disagreements/{disputed.pk}/L1-L2/disc.json",
        f"/labeling/disagreements/{disputed.pk}/T12-L1/disc.json",
        f"/labeling/disagreements/{disputed.pk}/L4-L5/canal.json",
        f"/labeling/disagreements/{disputed.pk + 99}/L4-L5/disc.json",
    ):
        assert client.get(url).status_code == 404, url
    assert not AccessEvent.objects.filter(action="export").exists()


def test_exports_need_a_signed_in_reader(disputed):
    assert Client().get(f"/labeling/disagreements/{disputed.pk}/L4-L5/disc.json").status_code in (
        302,
        403,
    )
    assert Client().get("/labeling/disagreements/").status_code in (302, 403)


def test_disagreements_page_lists_and_filters(client, researcher, disputed):
    client.force_login(researcher)
    html = client.get("/labeling/disagreements/").content.decode()
    assert html.count("data-export-case") == 2 and "rules-test" in html
    assert f'href="/labeling/disagreements/{disputed.pk}/L4-L5/canal_stenosis.json"' in html
    html = client.get("/labeling/disagreements/?field=disc&level=bogus").content.decode()
    assert html.count("data-export-case") == 1
    html = client.get("/labeling/disagreements/?level=L1-L2").content.decode()
    assert "data-no-disagreements" in html and "data-export-case" not in html


def test_undo_shows_the_reports_disagreements_but_a_fresh_item_never_shows_gold(annotator):
    report = labelled_report(text=TEXT, L4_L5={"disc": "bulge"})
    other = make_user("annotator")
    browser = Client()
    browser.force_login(annotator)
    # Another annotator's gold on a report this annotator has not decided: not shown.
    second = labelled_report(text=TEXT, confidence=0.95)
    _gold(second, other, L4_L5={"disc": "herniation"})
    page = browser.get("/labeling/curate/").content.decode()
    assert f'data-report="{report.pk}"' in page and "data-item-disagreements" not in page
    token = report_token(report.pk)
    saved = browser.post(
        "/labeling/curate/save/", form(report.pk, token, L4_L5={"disc": "herniation"})
    )
    assert saved.status_code == 200 and "data-item-disagreements" not in saved.content.decode()
    undone = browser.post("/labeling/curate/undo/", {}).content.decode()
    assert f'data-report="{report.pk}"' in undone and "data-item-disagreements" in undone
    assert f'href="/labeling/disagreements/{report.pk}/L4-L5/disc.json"' in undone
    assert undone.count("data-export-case") == 1


def test_adjudication_shows_disagreements_on_agreed_levels(settings, radiologist):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = labelled_report(text=TEXT)
    for who, canal in (("a1", "mild"), ("a2", "moderate")):
        _gold(
            report,
            make_user("annotator", username=who),
            L4_L5={"disc": "herniation", "canal_stenosis": canal},
            L5_S1={"disc": "bulge"},
        )
    browser = Client()
    browser.force_login(radiologist)
    html = browser.get("/labeling/adjudicate/").content.decode()
    assert f'data-report="{report.pk}"' in html and "data-item-disagreements" in html
    # L5-S1 is agreed (gold) and differs from the proposal; L4-L5 is disputed: not gold yet.
    assert f"/labeling/disagreements/{report.pk}/L5-S1/disc.json" in html
    assert "/L4-L5/" not in html
