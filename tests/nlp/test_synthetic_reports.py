"""Accuracy on reports of freshly generated synthetic studies (studies.synth.generator)."""

import json

from labeling.nlp.evaluate import evaluate, summary
from spine.labels import FIELDS


def test_synthetic_reports(lab, tmp_path):
    from studies.synth.generator import generate_dataset

    ds = generate_dataset(n=8, seed=20240, out_dir=tmp_path / "synth")
    reports = [json.loads(x) for x in ds.reports_path.read_text().splitlines() if x.strip()]
    gold = [json.loads(x) for x in ds.truth_path.read_text().splitlines() if x.strip()]
    assert len(reports) == 8 and len(gold) == 5 * len(reports)
    rows = [
        row
        for r in lab.label_many((r["report_id"], r["text"]) for r in reports)
        for row in r.to_exchange_rows()
    ]
    ev = evaluate(rows, gold)
    print(summary(ev))
    assert not ev["missing"]
    for f in FIELDS:
        assert ev["fields"][f]["accuracy"] >= 0.97, (f, ev["fields"][f]["errors"])
    assert ev["canal_class"]["accuracy"] >= 0.95
