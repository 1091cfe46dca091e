"""Peer test of the assertion component on the public NegEx test kit.

The kit (``Annotations-1-120.txt``, Chapman's NegEx) is a TSV with a header
line: report number, concept, sentence (the concept written in upper case in
it), ``Affirmed``/``Negated``. The concept is the target span; the ConText
engine of ``context.py`` decides negated or not (NEGATED_EXISTENCE or
RESOLVED modifiers count as negated, as in NegEx).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from labeling.nlp.context import NEGATED, RESOLVED, ConText


@dataclass(frozen=True)
class KitRow:
    report: str
    concept: str
    sentence: str
    negated: bool


def load_kit(path: str | Path) -> list[KitRow]:
    rows = []
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for rec in reader:
            if len(rec) < 4:
                continue
            status = rec[3].strip().lower()
            if status not in ("affirmed", "negated"):
                continue
            rows.append(
                KitRow(
                    rec[0].strip(), rec[1].strip(), rec[2].strip().strip('"'), status == "negated"
                )
            )
    return rows


def target_span(concept: str, sentence: str) -> tuple[int, int] | None:
    words = concept.split()
    if not words:
        return None
    rx = re.compile(r"\s*".join(re.escape(w) for w in words), re.IGNORECASE)
    matches = list(rx.finditer(sentence))
    if not matches:
        return None
    for m in matches:
        letters = [c for c in m.group() if c.isalpha()]
        if letters and all(c.isupper() for c in letters):
            return m.start(), m.end()
    return matches[0].start(), matches[0].end()


def predict(rows: list[KitRow], engine: ConText | None = None) -> list[bool]:
    engine = engine or ConText()
    out = []
    for r in rows:
        span = target_span(r.concept, r.sentence)
        if span is None:
            out.append(False)
            continue
        low = r.sentence.lower()
        mods = engine.modifiers(low, [span])[0]
        out.append(NEGATED in mods or RESOLVED in mods)
    return out


def score(path: str | Path, engine: ConText | None = None) -> dict:
    rows = load_kit(path)
    pred = predict(rows, engine)
    tp = sum(1 for r, p in zip(rows, pred, strict=True) if p and r.negated)
    fp = sum(1 for r, p in zip(rows, pred, strict=True) if p and not r.negated)
    fn = sum(1 for r, p in zip(rows, pred, strict=True) if not p and r.negated)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    errors = [(r, p) for r, p in zip(rows, pred, strict=True) if p != r.negated]
    return {
        "n": len(rows),
        "negated": sum(r.negated for r in rows),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "errors": errors,
    }
