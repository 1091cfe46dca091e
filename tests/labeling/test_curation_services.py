"""Curation writes and reads: queue order and filters, one row per decision, optimistic
locking, overlap, adjudication, undo, agreement and progress."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from labeling.curation.adjudication import adjudication_item, adjudication_queue
from labeling.curation.item import (
    last_saved_report_id,
    newest_decisions,
    newest_own_decisions,
    report_token,
)
from labeling.curation.progress import inter_annotator_agreement, nlp_gold_agreement, progress
from labeling.curation.queue import QueueFilters, next_report_id, queue_report_ids
from labeling.curation.services import (
    CurationConflict,
    claim_next_report,
    close_filled_reports,
    save_decisions,
)
from labeling.models import Annotation, NlpLabel
from labeling.selectors import gold_rows
from tests.factories import make_user
from tests.labeling.curation_helpers import decisions, labelled_report

pytestmark = pytest.mark.django_db

ANY = QueueFilters()


@pytest.fixture
def single(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 0


@pytest.fixture
def double(settings):
    settings.RADBOT_CURATION_OVERLAP_PERCENT = 100


def _save(user, report, token=None, kind="annotation", **levels):
    token = report_token(report.pk) if token is None else token
    return save_decisions(
        author=user,
        report_id=report.pk,
        token=token,
        decisions=decisions(**levels),
        seconds_spent=10,
        kind=kind,
    )


def test_a_save_is_one_row_per_level_and_leaves_the_nlp_rows_alone(single, annotator):
    report = labelled_report(L4_L5={"disc": "bulge"})
    before = list(NlpLabel.objects.values_list("id", "disc", "canal_stenosis").order_by("id"))
    rows = _save(annotator, report, L4_L5={"disc": "herniation", "canal_stenosis": "mild"})
    assert len(rows) == 5 and Annotation.objects.count() == 5
    changed = Annotation.objects.get(level__level="L4-L5")
    assert changed.disc == "herniation" and changed.author == annotator
    assert changed.started_from == NlpLabel.objects.get(level__level="L4-L5")
    assert changed.seconds_spent == pytest.approx(2.0)
    assert (
        list(NlpLabel.objects.values_list("id", "disc", "canal_stenosis").order_by("id")) == before
    )
    assert next(r for r in gold_rows() if r["level"] == "L4-L5")["disc"] == "herniation"


def test_queue_orders_by_uncertainty_or_sequentially_and_filters(single, annotator):
    sure = labelled_report(confidence=0.95, site="NORTH")
    unsure = labelled_report(confidence=0.40, L5_S1={"disc": "herniation"})
    middle = labelled_report(confidence=0.70, L4_L5={"canal_stenosis": "severe"})
    ids = lambda f: queue_report_ids(user=annotator, filters=f)  # noqa: E731
    assert ids(ANY) == [unsure.pk, middle.pk, sure.pk]
    assert ids(QueueFilters(order="sequential")) == [sure.pk, unsure.pk, middle.pk]
    assert ids(QueueFilters(site="NORTH")) == [sure.pk]
    assert ids(QueueFilters(finding="herniation")) == [unsure.pk]
    assert ids(QueueFilters(level="L4-L5")) == [middle.pk]
    assert ids(QueueFilters(level="L4-L5", finding="herniation")) == []
    assert ids(ANY) == [unsure.pk, middle.pk, sure.pk]
    assert queue_report_ids(user=annotator, filters=ANY, skip=[unsure.pk]) == [middle.pk, sure.pk]
    assert queue_report_ids(user=annotator, filters=ANY, limit=1) == [unsure.pk]
    assert QueueFilters.from_params({"order": "bogus", "level": "T12-L1", "finding": "x"}) == ANY


def test_a_decided_report_leaves_every_queue_unless_it_is_double_annotated(single, annotator):
    report = labelled_report()
    other = make_user("annotator")
    _save(annotator, report)
    assert next_report_id(user=annotator, filters=ANY) is None
    assert next_report_id(user=other, filters=ANY) is None


def _open_rows(report) -> int:
    return NlpLabel.objects.filter(report=report, report_needs_annotator=True).count()


def test_the_save_that_fills_a_report_takes_its_labels_out_of_the_queue(double, annotator):
    report, other = labelled_report(), labelled_report()
    _save(annotator, report)
    assert _open_rows(report) == 5  # double-annotated: a place is left
    _save(make_user("annotator"), report)
    assert _open_rows(report) == 0 and _open_rows(other) == 5
    # An adjudication fills nothing: it is not an annotator's decision.
    _save(make_user("radiologist"), other, kind="adjudication")
    assert _open_rows(other) == 5


def test_a_report_filled_without_the_service_is_never_given_out(single, annotator):
    # Rows written straight (a bulk import) leave the flag open: the claim reads the
    # annotations, passes the report, and takes it out of the queue.
    filled, free, other = labelled_report(), labelled_report(), labelled_report()
    for report in (filled, other):
        for level in report.study.levels.all():
            Annotation.objects.create(
                report=report,
                level=level,
                author=make_user("annotator"),
                **decisions()[level.level],
            )
    assert _open_rows(filled) == 5
    nxt = claim_next_report(user=annotator, filters=ANY)
    assert nxt.report_id == free.pk and _open_rows(filled) == 0
    assert close_filled_reports() == 5 and _open_rows(other) == 0


def test_overlap_reports_go_to_two_annotators_who_save_independently(double, annotator):
    report = labelled_report()
    second, third = make_user("annotator"), make_user("annotator")
    token = report_token(report.pk)
    _save(annotator, report, token=token, L4_L5={"disc": "bulge"})
    assert next_report_id(user=annotator, filters=ANY) is None
    assert next_report_id(user=second, filters=ANY) == report.pk
    _save(
        second, report, token=token, L4_L5={"disc": "bulge"}
    )  # same old token: no conflict by design
    assert next_report_id(user=third, filters=ANY) is None
    with pytest.raises(CurationConflict, match="Two annotators"):
        _save(third, report, token=token)
    assert len(gold_rows()) == 5  # they agree


def test_second_save_of_the_same_item_is_a_conflict_not_a_lost_update(single, annotator):
    report = labelled_report()
    other = make_user("annotator")
    token = report_token(report.pk)
    _save(annotator, report, token=token, L4_L5={"disc": "bulge"})
    with pytest.raises(CurationConflict, match=annotator.username):
        _save(other, report, token=token, L4_L5={"disc": "herniation"})
    assert set(Annotation.objects.values_list("author", flat=True)) == {annotator.pk}
    assert newest_decisions(report_id=report.pk)["L4-L5"]["disc"] == "bulge"
    # With the fresh token (the current state seen) the second person may still correct it.
    _save(other, report, L4_L5={"disc": "herniation"})
    assert Annotation.objects.count() == 10


def test_own_save_in_another_window_conflicts_even_on_overlap_reports(double, annotator):
    report = labelled_report()
    token = report_token(report.pk)
    _save(annotator, report, token=token)
    with pytest.raises(CurationConflict, match="another window"):
        _save(annotator, report, token=token)


def test_undo_reopens_the_last_save_and_a_correction_supersedes_it(single, annotator):
    report = labelled_report()
    _save(annotator, report, L4_L5={"disc": "bulge"})
    assert last_saved_report_id(user=annotator) == report.pk
    assert newest_own_decisions(user=annotator, report_id=report.pk)["L4-L5"]["disc"] == "bulge"
    _save(annotator, report, L4_L5={"disc": "herniation"})
    assert Annotation.objects.count() == 10  # nothing deleted or overwritten
    assert next(r for r in gold_rows() if r["level"] == "L4-L5")["disc"] == "herniation"


def test_disagreement_waits_for_adjudication_by_a_senior(double, annotator, radiologist):
    report = labelled_report()
    second = make_user("annotator")
    _save(annotator, report, L4_L5={"disc": "bulge"})
    _save(second, report, L4_L5={"disc": "herniation"})
    assert gold_rows() == [] and adjudication_queue() == [report.pk]
    item = adjudication_item(report_id=report.pk)
    disc = next(
        c for c in next(r for r in item.rows if r.level == "L4-L5").cells if c.field == "disc"
    )
    assert disc.disputed and sorted(v for _, v in disc.others) == ["bulge", "herniation"]
    with pytest.raises(PermissionDenied):
        _save(annotator, report, kind="adjudication")
    token = item.token
    _save(radiologist, report, token=token, kind="adjudication", L4_L5={"disc": "herniation"})
    assert adjudication_queue() == []
    assert next(r for r in gold_rows() if r["level"] == "L4-L5")["disc"] == "herniation"
    with pytest.raises(CurationConflict, match="adjudicator"):
        _save(make_user("admin"), report, token=token, kind="adjudication")


def test_agreement_and_progress(double, settings, annotator):
    settings.RADBOT_GOLD_TARGET = 20
    second = make_user("annotator")
    agreed = labelled_report()
    disputed = labelled_report(L4_L5={"disc": "bulge"})
    for who in (annotator, second):
        _save(who, agreed, L4_L5={"disc": "bulge"})
    _save(annotator, disputed, L4_L5={"disc": "bulge"})
    _save(second, disputed, L4_L5={"disc": "herniation"})
    agreement = {a["field"]: a for a in inter_annotator_agreement()}
    assert agreement["disc"]["n"] == 10 and agreement["disc"]["percent"] == pytest.approx(90.0)
    assert agreement["disc"]["kappa"] == pytest.approx(0.8, abs=0.1)
    assert agreement["canal_stenosis"]["kappa"] is None  # one value only: undefined
    nlp = {a["field"]: a for a in nlp_gold_agreement()}
    assert nlp["disc"]["n"] == 5 and nlp["disc"]["percent"] == pytest.approx(80.0)
    summary = progress()
    assert summary["gold"] == 5 and summary["target"] == 20 and summary["percent"] == 25
    assert dict(summary["by_level"])["L4-L5"] == 1
    assert summary["by_finding"]["bulge"] == 1 and summary["by_finding"]["normal"] == 4
    assert summary["waiting_adjudication"] == 1
    per = {a["username"]: a for a in summary["annotators"]}
    assert per[annotator.username]["levels"] == 10 and per[annotator.username]["gold_levels"] == 5
    assert per[annotator.username]["per_hour"] == round(10 * 3600 / 20)


def test_invalid_decisions_are_refused(single, annotator):
    report = labelled_report()
    with pytest.raises(ValueError):
        _save(annotator, report, L4_L5={"disc": "huge"})
    bad = decisions()
    bad.pop("L1-L2")
    with pytest.raises(ValueError, match="L1-L2"):
        save_decisions(author=annotator, report_id=report.pk, token=0, decisions=bad)
    assert Annotation.objects.count() == 0


def test_agreement_kappa_is_scikit_learns_on_random_labels():
    import random

    from sklearn.metrics import cohen_kappa_score

    from labeling.curation.progress import _kappa

    rng = random.Random(5)
    for _ in range(200):
        values = rng.sample(["none", "mild", "moderate", "severe", True, False], rng.randint(2, 4))
        n = rng.randint(1, 40)
        a = [rng.choice(values) for _ in range(n)]
        b = [rng.choice(values) if rng.random() < 0.5 else x for x in a]
        ours = _kappa(a, b)
        if len(set(a) | set(b)) < 2:
            assert ours is None
            continue
        theirs = cohen_kappa_score([str(x) for x in a], [str(x) for x in b])
        assert (ours is None and theirs != theirs) or ours == pytest.approx(theirs, abs=1e-12)
