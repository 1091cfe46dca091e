"""A labeller that fails on a report stores no labels for it (review #17): the failure is
counted on the run and its reason shown, never kept as an "all normal" report."""

from __future__ import annotations

import pytest
from spacy.language import Language

from labeling import services
from labeling.models import LabellingRun, NlpLabel
from labeling.nlp.components import doc_text
from labeling.nlp.labeller import Labeller
from labeling.services import current_labeller, execute_labelling_run, label_reports
from tests.factories import ReportFactory, StudyFactory

MARKER = "KABOOM"


@Language.component("radbot_test_fails_on_marker")
def _fails_on_marker(doc):
    if MARKER in doc_text(doc):
        raise RuntimeError("the parser fell over")
    return doc


@pytest.fixture
def failing_labeller() -> Labeller:
    """The real rules pipeline with one more component, which raises on some reports."""
    labeller = Labeller()
    labeller.nlp.add_pipe("radbot_test_fails_on_marker", first=True)
    return labeller


@pytest.fixture
def two_reports(db):
    good = ReportFactory(
        study=StudyFactory(),
        text="FINDINGS: L4-5: Broad-based disc bulge with mild canal stenosis.",
        text_sha256="good",
    )
    bad = ReportFactory(
        study=StudyFactory(),
        text=f"FINDINGS: L4-5: large extrusion. {MARKER}",
        text_sha256="bad",
    )
    return good, bad


@pytest.mark.django_db
def test_a_report_the_labeller_fails_on_gets_no_labels(two_reports, failing_labeller):
    good, bad = two_reports
    _, version = current_labeller()
    problems = label_reports(reports=[good, bad], labeller=failing_labeller, version=version)
    assert NlpLabel.objects.filter(report=good).count() == 5
    assert not NlpLabel.objects.filter(report=bad).exists()
    [problem] = problems
    assert problem["report"] == bad.pk and problem["labelled"] is False
    assert any(
        "labeller failed: RuntimeError: the parser fell over" in e for e in problem["errors"]
    )


@pytest.mark.django_db
def test_a_run_counts_the_failure_and_says_why(two_reports, failing_labeller, monkeypatch):
    _good, bad = two_reports
    _, version = current_labeller()
    monkeypatch.setattr(services, "current_labeller", lambda: (failing_labeller, version))
    run = LabellingRun.objects.create(labeller=version, total=2)
    run = execute_labelling_run(run_id=run.pk)
    assert (run.status, run.done, run.failed) == ("done", 1, 1)
    [problem] = run.problems
    assert problem["report"] == bad.pk and not problem["labelled"]
    assert "labeller failed" in problem["errors"][0]
    # The next run tries the report again (nothing was stored for it).
    assert list(services.pending_reports(version)) == [bad]
