"""Labeller accuracy on the project's report corpus: the frozen test part.

Run: .venv/bin/python bench/labeller_corpus.py [--part test|heldout|dev] [--json FILE]

Prints, for rules alone and for rules plus the learned layer (trained here on
the dev part of the corpus and the hand-written dev set, never on the test
part), accuracy / sensitivity / specificity per detector (the guide's seed
schema: bulging, herniation, canal stenosis, foraminal stenosis one sample per
side), canal_class accuracy and per-field accuracy, then the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from labeling.nlp import corpus
from labeling.nlp.evaluate import detector_agreement, evaluate
from labeling.nlp.labeller import Labeller
from spine.findings import PAPER_DETECTORS
from spine.labels import FIELDS, LevelLabels

DEV_SET = Path(__file__).resolve().parents[1] / "tests" / "data"


def _dev_set_pairs() -> list[tuple[str, list[LevelLabels]]]:
    reports = [
        json.loads(x) for x in (DEV_SET / "dev_reports.jsonl").read_text().splitlines() if x.strip()
    ]
    gold: dict[str, list[LevelLabels]] = {}
    for line in (DEV_SET / "dev_gold.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            gold.setdefault(row["report_id"], []).append(LevelLabels.from_exchange(row))
    return [(r["text"], gold[r["report_id"]]) for r in reports]


def score(labeller: Labeller, reports: list[corpus.CorpusReport]) -> dict:
    predicted = [
        row
        for result in labeller.label_many((r.report_id, r.text) for r in reports)
        for row in result.to_exchange_rows()
    ]
    gold = [row for r in reports for row in r.gold_rows()]
    result = evaluate(predicted, gold)
    result["detectors"] = detector_agreement(predicted, gold)
    return result


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(name: str, result: dict) -> str:
    lines = [
        f"### {name} ({result['n']} levels)",
        "",
        "| detector | accuracy | sensitivity | specificity | positives |",
        "|---|---|---|---|---|",
    ]
    for det in (finding.key for finding in PAPER_DETECTORS):
        d = result["detectors"][det]
        lines.append(
            f"| {det} | {_fmt(d['accuracy'])} | {_fmt(d['sensitivity'])} | {_fmt(d['specificity'])} "
            f"| {d['tp'] + d['fn']} of {d['n']} |"
        )
    lines.append(f"| canal_class | {result['canal_class']['accuracy']:.3f} | | | |")
    lines.append("")
    lines.append("| field | accuracy |")
    lines.append("|---|---|")
    for f in FIELDS:
        lines.append(f"| {f} | {result['fields'][f]['accuracy']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("test", "heldout", "dev"), default="test")
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    reports = corpus.load_corpus()
    split = corpus.load_split()
    problems = corpus.verify_frozen(reports, split)
    if problems:
        sys.exit("frozen test part changed:\n" + "\n".join(problems))
    scored = corpus.part(reports, split, args.part)
    dev = corpus.part(reports, split, "dev")

    from labeling.nlp import learned  # only this bench trains the learned layer

    rules = Labeller()
    pairs = [(r.text, list(r.gold)) for r in dev] + _dev_set_pairs()
    model = learned.train(pairs, labeller=rules)
    combined = Labeller(learned=model)
    results = {"rules": score(rules, scored), "rules+learned": score(combined, scored)}
    print(
        f"corpus part: {args.part} ({len(scored)} reports); learned layer trained on "
        f"{len(pairs)} reports (corpus dev part + tests/data dev set)\n"
    )
    if args.part == "dev":
        print(
            "NOTE: the learned layer was trained on this dev part: its dev figures are in-sample.\n"
        )
    for name, result in results.items():
        print(table(f"{name}: {rules.version if name == 'rules' else combined.version}", result))
        print()
    print(f"machine: {describe()}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
