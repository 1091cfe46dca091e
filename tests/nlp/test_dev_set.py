"""Accuracy targets on the hand-written development set."""

import json
from pathlib import Path

from labeling.nlp.evaluate import evaluate, summary
from spine.labels import FIELDS

DATA = Path(__file__).resolve().parents[1] / "data"


def test_dev_set_targets(lab):
    reports = [
        json.loads(x) for x in (DATA / "dev_reports.jsonl").read_text().splitlines() if x.strip()
    ]
    gold = [json.loads(x) for x in (DATA / "dev_gold.jsonl").read_text().splitlines() if x.strip()]
    assert len(reports) >= 40 and len(gold) == 5 * len(reports)
    rows = [
        row
        for r in lab.label_many((r["report_id"], r["text"]) for r in reports)
        for row in r.to_exchange_rows()
    ]
    ev = evaluate(rows, gold)
    print(summary(ev))
    for f in FIELDS:
        assert ev["fields"][f]["accuracy"] >= 0.97, (f, ev["fields"][f]["errors"])
    assert ev["canal_class"]["accuracy"] >= 0.95
