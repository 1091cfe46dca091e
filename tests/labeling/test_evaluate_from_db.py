"""evaluate_labeller --db: the labeller scored against the curated gold labels in the database."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Annotation, LabellerVersion, NlpLabel
from labeling.selectors import gold_reports, stored_labels
from spine.labels import FIELDS, LEVELS
from tests.factories import ReportFactory, StudyFactory, make_user

NORMAL = {
    "disc": "none",
    "canal_stenosis": "none",
    "left_foraminal": "none",
    "right_foraminal": "none",
    "left_subarticular": "none",
    "right_subarticular": "none",
    "uncertain": False,
}
BULGE = "FINDINGS:\nL4-5: Small disc bulge.\nL5-S1: Normal."
STENOSIS = "FINDINGS:\nL3-4: Moderate central canal stenosis.\nThe other levels are normal."


def _report(text: str):
    return ReportFactory(study=StudyFactory(), text=text, text_sha256=str(abs(hash(text))))


def _annotate(report, author, *, levels=LEVELS, kind="annotation", **overrides):
    for level in report.study.levels.filter(level__in=levels):
        values = {**NORMAL, **overrides.get(level.level.replace("-", "_"), {})}
        Annotation.objects.create(report=report, level=level, author=author, kind=kind, **values)


def _run(tmp_path, capsys, **options) -> tuple[dict, str]:
    out = tmp_path / "eval.json"
    call_command("evaluate_labeller", db=True, json_out=str(out), **options)
    return json.loads(out.read_text()), capsys.readouterr().out


@pytest.fixture
def curated(db):
    """Two curated reports: the gold says herniation where the text says bulge (a labeller
    "error" on purpose), and a stenosis the labeller reads correctly."""
    author = make_user("annotator")
    bulge, stenosis = _report(BULGE), _report(STENOSIS)
    _annotate(bulge, author, L4_L5={"disc": "herniation"})
    _annotate(stenosis, author, L3_L4={"canal_stenosis": "moderate"})
    return bulge, stenosis


def test_scores_the_current_labeller_against_database_gold(curated, tmp_path, capsys):
    bulge, _ = curated
    result, out = _run(tmp_path, capsys)
    assert result["source"] == "labeller run now" and result["labeller_version"].startswith(
        "radbot-rules"
    )
    assert result["n"] == 10 and result["reports"] == 2 and result["missing"] == []
    assert result["fields"]["disc"]["accuracy"] == 0.9
    assert result["fields"]["canal_stenosis"]["accuracy"] == 1.0
    assert (
        result["canal_class"]["accuracy"] == 1.0
    )  # herniation and bulge without stenosis: both class 1
    herniation, canal = result["detectors"]["herniation"], result["detectors"]["canal_stenosis"]
    assert (herniation["sensitivity"], herniation["specificity"]) == (0.0, 1.0)
    assert (canal["sensitivity"], canal["specificity"]) == (1.0, 1.0)
    assert (
        result["detectors"]["bulging"]["specificity"] == 0.9
    )  # one bulge read where gold has none
    assert result["detectors"]["foraminal_stenosis"]["n"] == 20
    [pattern] = result["patterns"]
    assert (pattern["field"], pattern["gold"], pattern["predicted"], pattern["count"]) == (
        "disc",
        "herniation",
        "bulge",
        1,
    )
    assert pattern["wording"] == "specific, direct" and pattern["phrases"] == [["bulge", 1]]
    assert pattern["examples"] == [
        {"report_id": str(bulge.pk), "level": "L4-L5", "text": "L4-5: Small disc bulge."}
    ]
    assert "disc: gold herniation -> labeller bulge [specific, direct]  x1" in out
    assert f"report {bulge.pk} L4-L5: L4-5: Small disc bulge." in out
    assert "sensitivity specificity" in out and "10 gold levels from 2 reports" in out


def test_only_gold_levels_count(curated, tmp_path, capsys):
    """Disagreeing annotators are not gold; the levels they agree on are (a partly curated
    report counts level by level), and an adjudication makes the disputed level gold."""
    report = _report("FINDINGS:\nL1-2: Severe canal stenosis.")
    _annotate(report, make_user("annotator"), L1_L2={"canal_stenosis": "mild"})
    _annotate(report, make_user("annotator"), L1_L2={"canal_stenosis": "severe"})
    result, _ = _run(tmp_path, capsys)
    assert result["reports"] == 3 and result["n"] == 14
    assert all(p["field"] != "canal_stenosis" for p in result["patterns"])
    _annotate(
        report,
        make_user("radiologist"),
        levels=["L1-L2"],
        kind="adjudication",
        L1_L2={"canal_stenosis": "mild"},
    )
    result, _out = _run(tmp_path, capsys)
    assert result["n"] == 15 and result["reports"] == 3
    assert any(
        p["field"] == "canal_stenosis" and p["gold"] == "mild" and p["predicted"] == "severe"
        for p in result["patterns"]
    )
    # Only the adjudicated level, alone in its report, still counts.
    Annotation.objects.filter(report=report, kind="annotation").delete()
    result, _ = _run(tmp_path, capsys)
    assert result["n"] == 11


def test_level_and_limit(curated, tmp_path, capsys):
    result, out = _run(tmp_path, capsys, level="L4-L5")
    assert result["n"] == 2 and {k["level"] for k in result["patterns"][0]["examples"]} == {"L4-L5"}
    assert "at L4-L5" in out
    result, _ = _run(tmp_path, capsys, level="L3-L4")
    assert result["n"] == 2 and result["patterns"] == []
    result, _ = _run(tmp_path, capsys, limit=1)
    assert result["n"] == 5 and result["reports"] == 1 and len(result["patterns"]) == 1
    with pytest.raises(CommandError):
        call_command("evaluate_labeller", db=True, level="T12-L1")


def test_a_stored_labeller_version_is_scored_without_running_the_labeller(
    curated, tmp_path, capsys
):
    bulge, stenosis = curated
    version = LabellerVersion.objects.create(version="rules-old")
    # The old version read the bulge as a herniation (right) and missed the stenosis.
    for level in bulge.study.levels.all():
        values = {**NORMAL, **({"disc": "herniation"} if level.level == "L4-L5" else {})}
        evidence = [{"start": 16, "end": 32, "field": "disc"}] if level.level == "L4-L5" else []
        NlpLabel.objects.create(
            report=bulge,
            level=level,
            labeller=version,
            confidence={f: 0.9 for f in FIELDS},
            evidence=evidence,
            **values,
        )
    stenosis_l3 = stenosis.study.levels.get(level="L3-L4")
    NlpLabel.objects.create(
        report=stenosis,
        level=stenosis_l3,
        labeller=version,
        confidence={f: 0.9 for f in FIELDS},
        **NORMAL,
    )
    result, _out = _run(tmp_path, capsys, labeller_version="rules-old")
    assert result["source"] == "stored labels" and result["labeller_version"] == "rules-old"
    assert result["fields"]["disc"]["accuracy"] == 1.0
    [pattern] = result["patterns"]
    # Levels the version did not store count as all "none"; stored labels keep no decisions.
    assert (pattern["field"], pattern["gold"], pattern["predicted"], pattern["wording"]) == (
        "canal_stenosis",
        "moderate",
        "none",
        "nothing read at level",
    )
    assert (
        pattern["examples"][0]["text"]
        == "L3-4: Moderate central canal stenosis. The other levels are normal."
    )
    assert (
        stored_labels(version="rules-old", report_ids=[str(bulge.pk)])[str(bulge.pk)][3]["disc"]
        == "herniation"
    )


def test_reports_a_version_never_ran_on_are_skipped(curated, tmp_path, capsys):
    bulge, _ = curated
    version = LabellerVersion.objects.create(version="rules-partial")
    for level in bulge.study.levels.all():
        NlpLabel.objects.create(
            report=bulge, level=level, labeller=version, confidence={}, **NORMAL
        )
    out = tmp_path / "eval.json"
    call_command("evaluate_labeller", labeller_version="rules-partial", json_out=str(out))
    captured = capsys.readouterr()
    assert json.loads(out.read_text())["reports"] == 1
    assert "1 report(s) with gold labels were never labelled by rules-partial" in captured.err


def test_clear_errors(db, tmp_path):
    with pytest.raises(CommandError, match="no gold labels"):
        call_command("evaluate_labeller", db=True)
    author = make_user("annotator")
    _annotate(_report(BULGE), author)
    with pytest.raises(CommandError, match="stored no labels"):
        call_command("evaluate_labeller", db=True, labeller_version="nope")
    with pytest.raises(CommandError, match="either --db or"):
        call_command("evaluate_labeller", db=True, reports="r.jsonl", gold="g.jsonl")
    with pytest.raises(CommandError, match="give --reports and --gold"):
        call_command("evaluate_labeller", reports="r.jsonl")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("evaluate_labeller", db=True, limit=0)


def test_gold_reports_selector_orders_reports_and_levels(curated):
    bulge, stenosis = curated
    found = gold_reports()
    assert [r.report_id for r in found] == sorted([str(bulge.pk), str(stenosis.pk)], key=int)
    assert [row["level"] for row in found[0].rows] == list(LEVELS)
    assert found[0].text in (BULGE, STENOSIS)
    assert [r.report_id for r in gold_reports(limit=1)] == [found[0].report_id]
