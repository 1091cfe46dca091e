"""Two annotators on the same queue are given different reports: the report each has
open is held for them (labeling/curation/leases.py) until they save it, skip it, or the lease
runs out."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from labeling.curation import leases
from labeling.curation import services as curation_services
from labeling.curation.queue import QueueFilters
from labeling.curation.services import claim_next_report
from tests.factories import make_user
from tests.labeling.curation_helpers import form, labelled_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0


def _open(user) -> tuple[Client, int | None]:
    client = Client()
    client.force_login(user)
    html = client.get("/labeling/curate/").content.decode()
    marker = 'data-report="'
    if marker not in html:
        return client, None
    return client, int(html.split(marker, 1)[1].split('"', 1)[0])


def _shown(response) -> int | None:
    html = response.content.decode()
    return (
        int(html.split('data-report="', 1)[1].split('"', 1)[0]) if 'data-report="' in html else None
    )


def test_two_annotators_get_different_reports_and_a_save_gives_nothing_back(
    django_capture_on_commit_callbacks,
):
    first, second = labelled_report(confidence=0.3), labelled_report(confidence=0.6)
    third = labelled_report(confidence=0.9)
    ada, bob = make_user("annotator"), make_user("annotator")
    ada_client, ada_report = _open(ada)
    _bob_client, bob_report = _open(bob)
    assert (ada_report, bob_report) == (first.pk, second.pk)
    # Reloading keeps one's own report.
    assert _open(ada)[1] == first.pk
    # Ada saves: the lease goes, the report is done, and her next report is the free one.
    with django_capture_on_commit_callbacks(execute=True):
        after = ada_client.post("/labeling/curate/save/", form(first.pk, 0))
    assert _shown(after) == third.pk
    assert leases.holders(report_id=first.pk) == []
    assert leases.holders(report_id=third.pk) == [ada.pk]


def test_a_skipped_report_goes_back_to_colleagues():
    first, second = labelled_report(confidence=0.3), labelled_report(confidence=0.6)
    ada, bob = make_user("annotator"), make_user("annotator")
    ada_client, _ = _open(ada)
    bob_client, bob_report = _open(bob)
    assert bob_report == second.pk
    assert (
        _shown(ada_client.post("/labeling/curate/next/", {"skip": first.pk})) is None
    )  # Bob has the other
    assert _shown(bob_client.post("/labeling/curate/save/", form(second.pk, 0))) == first.pk


def test_everything_held_by_others_says_so():
    report = labelled_report()
    ada, bob = make_user("annotator"), make_user("annotator")
    assert _open(ada)[1] == report.pk
    client, shown = _open(bob)
    assert shown is None
    html = client.get("/labeling/curate/next/").content.decode()
    assert "data-queue-empty" in html
    assert "1 report is open with other annotators right now" in html and "10 minutes" in html


def test_an_overlap_report_is_held_for_two_annotators_at_most(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report, later = labelled_report(confidence=0.3), labelled_report(confidence=0.6)
    ada, bob, cy = (make_user("annotator") for _ in range(3))
    assert _open(ada)[1] == report.pk
    assert _open(bob)[1] == report.pk
    assert _open(cy)[1] == later.pk
    assert sorted(leases.holders(report_id=report.pk)) == sorted([ada.pk, bob.pk])


def test_a_lease_runs_out(settings):
    settings.RADBOT_CURATION_LEASE_S = 1
    report = labelled_report()
    ada, bob = make_user("annotator"), make_user("annotator")
    assert _open(ada)[1] == report.pk
    assert _open(bob)[1] is None
    time.sleep(1.3)
    assert _open(bob)[1] == report.pk


def test_of_many_claiming_one_report_at_once_exactly_one_wins():
    report = labelled_report()
    users = [make_user("annotator") for _ in range(8)]
    barrier = threading.Barrier(len(users))
    won: list[int] = []

    def claim(user) -> None:
        barrier.wait()
        if leases.claim(report_id=report.pk, user_id=user.pk):
            won.append(user.pk)

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and leases.holders(report_id=report.pk) == won


def test_the_queue_is_read_further_only_when_its_head_is_held():
    reports = [labelled_report(confidence=0.1 * (i + 1)) for i in range(4)]
    for report in reports[:3]:
        assert leases.claim(report_id=report.pk, user_id=make_user("annotator").pk)
    nxt = claim_next_report(user=make_user("annotator"), filters=QueueFilters())
    assert (nxt.report_id, nxt.held_by_others) == (reports[3].pk, 3)


def test_a_team_larger_than_one_read_of_the_queue_still_gets_free_reports(monkeypatch):
    # Every person holds the head of the queue in turn; past LOOKAHEAD holders the queue
    # is read further rather than shown as empty.
    monkeypatch.setattr(curation_services, "LOOKAHEAD", 2)
    reports = [labelled_report(confidence=0.1 * (i + 1)) for i in range(6)]
    for report in reports[:5]:
        assert leases.claim(report_id=report.pk, user_id=make_user("annotator").pk)
    nxt = claim_next_report(user=make_user("annotator"), filters=QueueFilters())
    assert (nxt.report_id, nxt.held_by_others) == (reports[5].pk, 5)
    nobody = claim_next_report(user=make_user("annotator"), filters=QueueFilters())
    assert (nobody.report_id, nobody.held_by_others) == (None, 6)


def test_one_hold_per_person():
    first, second = labelled_report(), labelled_report()
    ada = make_user("annotator")
    assert leases.claim(report_id=first.pk, user_id=ada.pk)
    assert leases.claim(report_id=second.pk, user_id=ada.pk)
    assert leases.holders(report_id=first.pk) == [] and leases.holders(report_id=second.pk) == [
        ada.pk
    ]


def test_an_overlap_report_decided_once_has_one_place_left(settings):
    from labeling.curation.services import save_decisions
    from tests.labeling.curation_helpers import decisions

    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report, later = labelled_report(confidence=0.3), labelled_report(confidence=0.6)
    first = make_user("annotator")
    save_decisions(author=first, report_id=report.pk, token=0, decisions=decisions())
    ada, bob = make_user("annotator"), make_user("annotator")
    assert _open(ada)[1] == report.pk
    assert _open(bob)[1] == later.pk  # the report needs one more annotator, and Ada is it


def test_a_report_saved_after_the_queue_was_read_is_not_held(django_capture_on_commit_callbacks):
    """The race the hold closes: Bob's queue still listed the report when Ada's save
    committed and freed her hold; holding it, Bob's fetch reads it again and gives it back."""
    from labeling.curation.services import claim_report, save_decisions
    from tests.labeling.curation_helpers import decisions

    report = labelled_report()
    ada, bob = make_user("annotator"), make_user("annotator")
    assert claim_report(report_id=report.pk, user=ada)
    assert not claim_report(report_id=report.pk, user=bob)  # Ada has it open
    with django_capture_on_commit_callbacks(execute=True):
        save_decisions(author=ada, report_id=report.pk, token=0, decisions=decisions())
    assert leases.holders(report_id=report.pk) == []
    assert not claim_report(report_id=report.pk, user=bob)
    assert leases.holders(report_id=report.pk) == []


def _disputed(settings) -> int:
    from labeling.curation.services import save_decisions
    from tests.labeling.curation_helpers import decisions

    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100
    report = labelled_report()
    for disc in ("bulge", "herniation"):
        save_decisions(
            author=make_user("annotator"),
            report_id=report.pk,
            token=0,
            decisions=decisions(L4_L5={"disc": disc}),
        )
    return report.pk


def test_two_adjudicators_get_different_disputes(settings, django_capture_on_commit_callbacks):
    first, second = _disputed(settings), _disputed(settings)
    pages = {}
    for name in ("ada", "bob", "cy"):
        client = Client()
        client.force_login(make_user("radiologist"))
        pages[name] = (client, client.get("/labeling/adjudicate/").content.decode())
    assert (
        f'data-report="{first}"' in pages["ada"][1] and f'data-report="{second}"' in pages["bob"][1]
    )
    assert "2 disputed reports are open with other adjudicators" in pages["cy"][1]
    # Ada settles hers: it leaves the queue and her hold goes with it.
    from labeling.curation.item import report_token
    from tests.labeling.curation_helpers import form

    client = pages["ada"][0]
    token = report_token(first)
    with django_capture_on_commit_callbacks(execute=True):
        after = client.post(
            "/labeling/adjudicate/save/", form(first, token, L4_L5={"disc": "herniation"})
        )
    assert after.status_code == 200
    assert leases.holders(report_id=first, queue=leases.ADJUDICATE) == []
    assert "No disagreement waits for you" in after.content.decode()  # Bob has the other one
