"""Curation in the browser: keyboard-only labelling, a conflict, adjudication, progress and export."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from labeling.curation.item import newest_own_decisions
from labeling.curation.services import save_decisions
from labeling.models import Annotation
from tests.factories import PASSWORD, make_user
from tests.labeling.curation_helpers import decisions, labelled_report

pytestmark = pytest.mark.browser


@pytest.fixture
def overlap(settings):
    def _set(percent: int):
        settings.RADBOT_CURATION_OVERLAP_PERCENT = percent

    _set(0)
    return _set


def _item(page, report):
    expect(page.locator("[data-curation]")).to_have_attribute("data-report", str(report.pk))
    # The keyboard module is deferred: keys pressed before it runs would be lost.
    expect(page.locator("html")).to_have_attribute("data-curation-keys", "ready")


def _cell(page, level, field):
    return page.locator(f'tr[data-level="{level}"] td[data-field="{field}"] [data-value]')


def test_label_reports_with_the_keyboard_only(page, sign_in, overlap, transactional_db):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.8, L4_L5={"disc": "bulge"})
    user = sign_in("annotator")
    page.goto("/labeling/curate/")
    _item(page, first)
    expect(page.locator(".curation-keys")).to_contain_text("accept all")
    for key in ["j", "j", "ArrowDown"]:
        page.keyboard.press(key)
    expect(page.locator('tr[data-level="L4-L5"]')).to_have_class("current")
    page.keyboard.press("d")
    page.keyboard.press("c")
    page.keyboard.press("c")
    page.keyboard.press("Shift+R")
    page.keyboard.press("u")
    expect(_cell(page, "L4-L5", "disc")).to_have_text("bulge")
    expect(_cell(page, "L4-L5", "canal_stenosis")).to_have_text("moderate")
    page.keyboard.press("Enter")  # save and next, one request
    _item(page, second)
    expect(
        page.locator("[data-report-text] mark.ev-disc").first
    ).to_be_visible()  # evidence highlighted
    saved = Annotation.objects.get(report=first, level__level="L4-L5", author=user)
    assert (saved.disc, saved.canal_stenosis, saved.right_subarticular, saved.uncertain) == (
        "bulge",
        "moderate",
        "mild",
        True,
    )
    assert saved.started_from is not None and saved.seconds_spent > 0

    page.keyboard.press("z")  # undo: the last save comes back with my decision
    _item(page, first)
    expect(_cell(page, "L4-L5", "disc")).to_have_text("bulge")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Shift+D")  # back to none
    page.keyboard.press("Enter")
    _item(page, second)
    assert (
        Annotation.objects.filter(report=first, author=user).count() == 10
    )  # a correction adds rows
    assert newest_own_decisions(user=user, report_id=first.pk)["L4-L5"]["disc"] == "none"

    page.keyboard.press("s")  # skip
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    page.goto("/labeling/curate/?restart=1")  # a GET brings nothing back
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    page.locator("[data-restart]").click()  # the button POSTs
    _item(page, second)
    page.keyboard.press("a")  # accept the proposal as it stands and save
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    assert Annotation.objects.get(report=second, level__level="L4-L5", author=user).disc == "bulge"
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_contain_text("accept all proposals")


def test_meeting_a_conflict(page, sign_in, overlap, transactional_db):
    report = labelled_report()
    sign_in("annotator")
    page.goto("/labeling/curate/")
    _item(page, report)
    other = make_user("annotator")
    save_decisions(
        author=other,
        report_id=report.pk,
        token=0,
        decisions=decisions(L4_L5={"disc": "herniation"}),
    )
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("conflict")
    expect(alert).to_contain_text(other.username)
    expect(_cell(page, "L4-L5", "disc")).to_have_text("herniation")  # the current state
    page.keyboard.press("Enter")  # saving again, having seen it, is allowed
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    assert Annotation.objects.filter(report=report).count() == 10


def test_adjudicate_a_disagreement(page, sign_in, overlap, transactional_db):
    overlap(100)
    report = labelled_report()
    for who, disc in (("ann-a", "bulge"), ("ann-b", "herniation")):
        save_decisions(
            author=make_user("annotator", username=who),
            report_id=report.pk,
            token=0,
            decisions=decisions(L4_L5={"disc": disc}),
        )
    sign_in("radiologist")
    page.get_by_role("link", name="Adjudicate").click()
    _item(page, report)
    expect(page.locator("td.disputed")).to_have_count(1)
    expect(page.locator('tr[data-level="L4-L5"] td[data-field="disc"] .others')).to_contain_text(
        "herniation"
    )
    for key in ["j", "j", "j"]:
        page.keyboard.press(key)
    expect(page.locator('tr[data-level="L4-L5"]')).to_have_class("current")
    page.keyboard.press("d")
    page.keyboard.press("d")  # ann-a's bulge -> herniation -> none
    page.keyboard.press("Shift+D")  # back to herniation
    expect(_cell(page, "L4-L5", "disc")).to_have_text("herniation")
    page.keyboard.press("Enter")
    expect(page.locator("[data-queue-empty]")).to_contain_text("No disagreement waits")
    settled = Annotation.objects.get(kind="adjudication", level__level="L4-L5")
    assert settled.disc == "herniation"


def test_annotator_has_no_adjudication_link(page, sign_in, transactional_db):
    sign_in("annotator")
    expect(page.get_by_role("link", name="Curate")).to_be_visible()
    expect(page.get_by_role("link", name="Adjudicate")).to_have_count(0)


def test_progress_and_export(page, sign_in, overlap, transactional_db, tmp_path):
    report = labelled_report()
    save_decisions(
        author=make_user("annotator"),
        report_id=report.pk,
        token=0,
        decisions=decisions(L4_L5={"disc": "bulge"}),
        seconds_spent=30,
    )
    sign_in("researcher")
    page.get_by_role("link", name="Progress").click()
    expect(page.locator("[data-gold-count]")).to_contain_text("5 of 5000")
    expect(page.locator("[data-by-finding]")).to_contain_text("bulge")
    expect(page.locator('[data-agreement="nlp"]')).to_contain_text("disc")
    with page.expect_download() as info:
        page.locator('[data-export="jsonl"]').click()
    path = tmp_path / "gold.jsonl"
    info.value.save_as(path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 5 and next(r for r in rows if r["level"] == "L4-L5")["disc"] == "bulge"
    with page.expect_download() as info:
        page.locator('[data-export="csv"]').click()
    info.value.save_as(tmp_path / "gold.csv")
    assert (tmp_path / "gold.csv").read_text().startswith("report_id,level,disc,")


def test_two_annotators_at_once_get_different_reports(
    page, sign_in, overlap, browser, live_server, transactional_db
):
    first = labelled_report(confidence=0.3)
    second = labelled_report(confidence=0.6)
    sign_in("annotator")
    page.goto("/labeling/curate/")
    _item(page, first)

    colleague = make_user("annotator")
    context = browser.new_context(base_url=live_server.url)
    try:
        other = context.new_page()
        other.goto("/login/")
        # As in the sign_in fixture: typing before autofocus applies loses the keys.
        expect(other.locator("#id_username")).to_be_focused()
        other.keyboard.type(colleague.username)
        other.keyboard.press("Tab")
        other.keyboard.type(PASSWORD)
        other.keyboard.press("Enter")
        other.wait_for_url("**/studies/")
        other.goto("/labeling/curate/")
        _item(other, second)  # the first is open in the other browser
        other.keyboard.press("s")  # skip: the only other report is held
        expect(other.locator("[data-held-by-others]")).to_contain_text(
            "1 report is open with other annotators right now"
        )
    finally:
        context.close()
