"""The labeller's command-line contract: label_reports and evaluate_labeller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from spine.labels import FIELDS, LEVELS

DATA = Path(__file__).resolve().parent.parent / "data"


def test_label_reports_needs_no_database(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps(
            {"report_id": "R1", "text": "L4-5: moderate central canal stenosis from a disc bulge."}
        )
        + "\n"
        + json.dumps({"report_id": "R2", "text": ""})
        + "\nnot json\n"
    )
    out = tmp_path / "out.jsonl"
    call_command("label_reports", input=str(source), output=str(out))
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["level"] for r in rows[:5]] == list(LEVELS) and len(rows) == 10
    r1 = {r["level"]: r for r in rows if r["report_id"] == "R1"}
    assert r1["L4-L5"]["canal_stenosis"] == "moderate" and r1["L4-L5"]["canal_class"] == 2
    assert (
        set(FIELDS) <= set(r1["L4-L5"])
        and "evidence" in r1["L4-L5"]
        and "confidence" in r1["L4-L5"]
    )
    assert any("errors" in r for r in rows if r["report_id"] == "R2")
    err = capsys.readouterr().err
    assert "report R2" in err and "skipped line 3" in err


def test_evaluate_labeller_on_the_dev_set(tmp_path, capsys):
    out = tmp_path / "eval.json"
    call_command(
        "evaluate_labeller",
        reports=str(DATA / "dev_reports.jsonl"),
        gold=str(DATA / "dev_gold.jsonl"),
        json_out=str(out),
    )
    result = json.loads(out.read_text())
    assert result["canal_class"]["accuracy"] >= 0.95
    assert all(result["fields"][f]["accuracy"] >= 0.97 for f in FIELDS)
    assert "canal_class" in capsys.readouterr().out


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "label_reports", input=str(tmp_path / "nope.jsonl"), output=str(tmp_path / "o")
        )
