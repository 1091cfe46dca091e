"""Gold labels from human decisions, and training the labeller on them."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from labeling.models import Annotation, LabellerVersion
from labeling.selectors import gold_rows
from spine.labels import LEVELS, LevelLabels
from tests.factories import ReportFactory, StudyFactory, make_user


def _annotate(report, author, kind="annotation", **overrides):
    for level in report.study.levels.all():
        values = {
            "disc": "none",
            "canal_stenosis": "none",
            "left_foraminal": "none",
            "right_foraminal": "none",
            "left_subarticular": "none",
            "right_subarticular": "none",
            "uncertain": False,
        }
        values.update(overrides.get(level.level, {}))
        Annotation.objects.create(report=report, level=level, author=author, kind=kind, **values)


@pytest.fixture
def report(db):
    return ReportFactory(
        study=StudyFactory(), text="FINDINGS: L4-5: disc bulge. Otherwise normal.", text_sha256="g1"
    )


def test_one_annotators_decision_is_gold(report):
    _annotate(report, make_user("annotator"), **{"L4-L5": {"disc": "bulge"}})
    rows = gold_rows()
    assert [r["level"] for r in rows] == list(LEVELS)
    assert next(r for r in rows if r["level"] == "L4-L5")["disc"] == "bulge"
    assert rows[0]["report_id"] == str(report.pk)


def test_gold_rows_are_the_guides_exchange_format(report):
    _annotate(
        report,
        make_user("annotator"),
        **{"L4-L5": {"disc": "herniation", "canal_stenosis": "moderate"}},
    )
    rows = gold_rows()
    expected = [
        LevelLabels.from_exchange(row).to_exchange(report_id=str(report.pk)) for row in rows
    ]
    assert rows == expected
    assert [list(r) for r in rows] == [list(e) for e in expected]  # same key order
    assert next(r for r in rows if r["level"] == "L4-L5")["canal_class"] == 3


def test_disagreement_is_not_gold_until_adjudicated(report):
    _annotate(report, make_user("annotator"), **{"L4-L5": {"disc": "bulge"}})
    _annotate(report, make_user("annotator"), **{"L4-L5": {"disc": "herniation"}})
    assert gold_rows() == []
    _annotate(
        report, make_user("radiologist"), kind="adjudication", **{"L4-L5": {"disc": "herniation"}}
    )
    assert next(r for r in gold_rows() if r["level"] == "L4-L5")["disc"] == "herniation"


def test_a_partly_curated_report_is_not_gold(report):
    author = make_user("annotator")
    level = report.study.levels.get(level="L4-L5")
    Annotation.objects.create(
        report=report,
        level=level,
        author=author,
        disc="bulge",
        canal_stenosis="none",
        left_foraminal="none",
        right_foraminal="none",
        left_subarticular="none",
        right_subarticular="none",
        uncertain=False,
    )
    assert gold_rows() == []


def test_train_labeller_without_gold_stays_rules_only(db, capsys):
    call_command("train_labeller")
    assert "rules only" in capsys.readouterr().out
    assert not LabellerVersion.objects.exclude(learned_model_path="").exists()


def test_train_labeller_from_database_gold(db, capsys):
    author = make_user("annotator")
    texts = [
        ("FINDINGS: L4-5: disc bulge contacting the thecal sac.", {"L4-L5": {"disc": "bulge"}}),
        (
            "FINDINGS: L4-5: broad disc protrusion effacing the thecal sac.",
            {"L4-L5": {"disc": "herniation", "canal_stenosis": "unspecified"}},
        ),
        ("FINDINGS: L5-S1: severe canal stenosis.", {"L5-S1": {"canal_stenosis": "severe"}}),
    ]
    for i, (text, labels) in enumerate(texts):
        _annotate(
            ReportFactory(study=StudyFactory(), text=text, text_sha256=f"t{i}"), author, **labels
        )
    call_command("train_labeller", force=True)  # three reports are too few to earn it a place
    out = capsys.readouterr().out
    version = LabellerVersion.objects.exclude(learned_model_path="").get()
    assert "learned" in version.version and version.learned_from_gold == 15
    assert version.version in out
