from __future__ import annotations

import json
import re

import numpy as np

from spine.labels import LEVELS
from studies.synth.anatomy import sample_level_truth
from studies.synth.generator import DatasetSummary
from studies.synth.report_writer import write_report

_GRADE_PATTERNS = (  # longest first: "mild to moderate" is moderate, not mild
    (r"moderate to severe", "severe"),
    (r"mild to moderate", "moderate"),
    (r"\b(severe|marked|high-grade|critical)\b", "severe"),
    (r"\bmoderate\b", "moderate"),
    (r"\b(mild|minimal|slight|borderline)\b", "mild"),
)
_STENOSIS_FIELDS = (
    "canal_stenosis",
    "left_foraminal",
    "right_foraminal",
    "left_subarticular",
    "right_subarticular",
)


def _level_pattern(level: str) -> re.Pattern[str]:
    up, lo = level.split("-")
    alts = [f"{up}-{lo}", f"{up}/{lo}", f"{up}-{lo[1:]}", f"{up}/{lo[1:]}"]
    if lo == "S1":
        alts += ["lumbosacral"]
    return re.compile("|".join(re.escape(a) for a in alts))


def _grades_in(text: str) -> set[str]:
    found = set()
    for pattern, grade in _GRADE_PATTERNS:
        if re.search(pattern, text, flags=re.I):
            found.add(grade)
        text = re.sub(pattern, " ", text, flags=re.I)
    return found


def _draws(n: int):
    for d in range(n):
        rng = np.random.default_rng([99, d])
        age = int(rng.integers(25, 81))
        levels = sample_level_truth(rng, age)
        yield levels, write_report(levels, rng, age=age, sex="F")


def test_reports_file(dataset: DatasetSummary) -> None:
    reports = [json.loads(line) for line in dataset.reports_path.read_text().splitlines()]
    truth = [json.loads(line) for line in dataset.truth_path.read_text().splitlines()]
    assert len(reports) == len(dataset.study_dirs)
    assert {r["report_id"] for r in reports} == {t["report_id"] for t in truth}
    for r in reports:
        assert r.keys() == {"report_id", "study_uid", "accession", "text"}
        assert "IMPRESSION" in r["text"].upper() and "FINDINGS" in r["text"].upper()


def test_every_abnormal_or_hedged_level_is_mentioned() -> None:
    for levels, text in _draws(300):
        findings = text.upper().split("IMPRESSION")[0]
        for t in levels:
            if t.abnormal or t.uncertain:
                assert _level_pattern(t.level).search(
                    findings.replace("LUMBOSACRAL", "lumbosacral")
                ), (t, text)


def test_stated_grades_are_exactly_the_true_grades() -> None:
    for levels, text in _draws(300):
        truth_grades = {getattr(t, f) for t in levels for f in _STENOSIS_FIELDS} - {"none"}
        assert _grades_in(text) == truth_grades, text


def test_hedges_only_where_truth_is_uncertain() -> None:
    hedge = re.compile(r"possible|questionable|cannot be excluded|suggestion of|equivocal", re.I)
    n_hedged = 0
    for levels, text in _draws(300):
        uncertain = [t for t in levels if t.uncertain]
        assert bool(hedge.search(text)) == bool(uncertain), text
        n_hedged += bool(uncertain)
        for t in uncertain:
            assert not t.abnormal
    assert n_hedged > 10


def test_no_schema_words_in_normal_reports() -> None:
    """A study with no findings must not read like one (no 'abuts', grades, bulges)."""
    bad = re.compile(r"bulg|protrusion|herniat|extrusion|abut|effac|narrowing of|contact", re.I)
    n_normal = 0
    for levels, text in _draws(800):
        if any(t.abnormal or t.uncertain for t in levels):
            continue
        n_normal += 1
        for sentence in re.split(r"(?<=[.:])\s+", text):
            if bad.search(sentence):
                assert (
                    re.match(r"\s*(No|Normal|Unremarkable)", sentence)
                    or " no " in sentence.lower()
                    or sentence.lower().startswith("at ")
                ), sentence
    assert n_normal > 20


def test_history_and_boilerplate_never_name_a_schema_level() -> None:
    for _, text in _draws(100):
        before_findings = re.split(r"FINDINGS:", text, flags=re.I)[0]
        for level in LEVELS:
            assert not _level_pattern(level).search(before_findings)
