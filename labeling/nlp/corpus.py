"""The project's own report corpus (``corpus/`` at the repository root).

Reports written for the project in the styles radiologists use, each labelled
per the guide. The files are YAML lists of ``{id, styles, text, gold, note}``
where ``gold`` maps a level to compact tokens (``d=herniation c=moderate
lf=mild unc``; levels not listed are all ``none``). ``split.json`` records the
dev / frozen-test split and a digest of every test report, so an edit to a
test report after the split is caught (``verify_frozen``).

Pure Python, no Django.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling.nlp.rulefiles import load_yaml
from spine.labels import FIELD_VALUES, LEVELS, LevelLabels

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
SPLIT_FILE = "split.json"

# Compact gold tokens -> guide field names.
TOKEN_FIELDS: Mapping[str, str] = {
    "d": "disc",
    "c": "canal_stenosis",
    "lf": "left_foraminal",
    "rf": "right_foraminal",
    "ls": "left_subarticular",
    "rs": "right_subarticular",
}


class CorpusError(ValueError):
    """A corpus file that does not follow the format, with the report and token."""


@dataclass(frozen=True)
class CorpusReport:
    report_id: str
    styles: tuple[str, ...]
    text: str
    gold: tuple[LevelLabels, ...]  # one per level, in LEVELS order
    note: str = ""

    def digest(self) -> str:
        """sha256 of the text and the gold labels: what freezing a test report pins."""
        payload = json.dumps(
            {"text": self.text, "gold": [g.to_exchange() for g in self.gold]}, sort_keys=True
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def gold_rows(self) -> list[dict]:
        return [g.to_exchange(report_id=self.report_id) for g in self.gold]


def parse_gold(report_id: str, gold: Mapping[str, str] | None) -> tuple[LevelLabels, ...]:
    by_level: dict[str, LevelLabels] = {}
    for level, tokens in (gold or {}).items():
        if level not in LEVELS:
            raise CorpusError(f"{report_id}: gold level {level!r} is not one of {LEVELS}")
        values: dict[str, Any] = {}
        for token in str(tokens or "").split():
            if token == "unc":  # noqa: S105 - a YAML token, not a password
                values["uncertain"] = True
                continue
            key, sep, value = token.partition("=")
            name = TOKEN_FIELDS.get(key)
            if not sep or name is None or value not in FIELD_VALUES[name]:
                raise CorpusError(f"{report_id} {level}: bad gold token {token!r}")
            values[name] = value
        by_level[level] = LevelLabels(level=level, **values)
    return tuple(by_level.get(level, LevelLabels(level=level)) for level in LEVELS)


def load_file(path: Path) -> list[CorpusReport]:
    items = load_yaml(path.read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        report_id = str(item["id"])
        text = str(item.get("text") or "")
        if not text.strip():
            raise CorpusError(f"{report_id}: empty text")
        out.append(
            CorpusReport(
                report_id,
                tuple(item.get("styles") or ()),
                text,
                parse_gold(report_id, item.get("gold")),
                str(item.get("note") or ""),
            )
        )
    return out


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> list[CorpusReport]:
    """Every report of every ``reports_*.yaml`` file, ids unique."""
    reports = [r for path in sorted(corpus_dir.glob("reports_*.yaml")) for r in load_file(path)]
    seen: set[str] = set()
    for r in reports:
        if r.report_id in seen:
            raise CorpusError(f"duplicate report id {r.report_id}")
        seen.add(r.report_id)
    return reports


def make_split(reports: Sequence[CorpusReport], *, test_fraction: float, salt: str) -> dict:
    """A split by a salted hash of the report id: no look at text or labels decides it."""

    def rank(r: CorpusReport) -> str:
        return hashlib.sha256(f"{salt}:{r.report_id}".encode()).hexdigest()

    ordered = sorted(reports, key=rank)
    n_test = round(len(reports) * test_fraction)
    test = sorted(ordered[:n_test], key=lambda r: r.report_id)
    dev = sorted(ordered[n_test:], key=lambda r: r.report_id)
    return {
        "method": f"sha256('{salt}:' + id), lowest {n_test} of {len(reports)} are test",
        "salt": salt,
        "dev": [r.report_id for r in dev],
        "test": {r.report_id: r.digest() for r in test},
    }


def load_split(corpus_dir: Path = CORPUS_DIR) -> dict:
    return json.loads((corpus_dir / SPLIT_FILE).read_text(encoding="utf-8"))


FROZEN_PARTS = ("test", "heldout")


def verify_frozen(reports: Iterable[CorpusReport], split: Mapping) -> list[str]:
    """Problems with the frozen parts (test, heldout): missing, edited or added-since reports."""
    by_id = {r.report_id: r for r in reports}
    frozen = {rid: digest for name in FROZEN_PARTS for rid, digest in split.get(name, {}).items()}
    problems = [f"{rid}: frozen test report missing" for rid in frozen if rid not in by_id]
    problems += [
        f"{rid}: edited after the split (digest differs)"
        for rid, digest in frozen.items()
        if rid in by_id and by_id[rid].digest() != digest
    ]
    known = set(frozen) | set(split["dev"])
    problems += [f"{rid}: not in the split (add it to dev)" for rid in by_id if rid not in known]
    return problems


def part(reports: Iterable[CorpusReport], split: Mapping, name: str) -> list[CorpusReport]:
    """The ``dev``, ``test`` or ``heldout`` part of the corpus."""
    ids = set(split[name])
    return [r for r in reports if r.report_id in ids]
