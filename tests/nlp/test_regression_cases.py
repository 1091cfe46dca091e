"""Every regression case in tests/nlp/regression_cases/: the labeller gives the gold value.

The cases are exported from the curation UI (a disagreement between the labeller and a
gold label) or written by hand; see the folder's README. An empty folder passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeling.regression_cases import FORMAT, build_case, check, filename, load_cases, problems

FOLDER = Path(__file__).parent / "regression_cases"
CASES = load_cases(FOLDER)


def _param(name: str, case: dict):
    reason = case.get("known_failure") if isinstance(case, dict) else None
    marks = [pytest.mark.xfail(strict=True, reason=str(reason))] if reason else []
    return pytest.param(case, id=name, marks=marks)


@pytest.mark.parametrize("case", [pytest.param(case, id=name) for name, case in CASES])
def test_case_is_well_formed(case):
    assert problems(case) == []


@pytest.mark.parametrize("case", [_param(name, case) for name, case in CASES])
def test_labeller_gives_the_gold_value(lab, case):
    assert check(case, lab.label) is None


def test_the_folder_holds_cases():
    """The shipped cases are found (a misnamed folder would pass the tests above with none)."""
    assert len(CASES) >= 3 and all(name.endswith(".json") for name, _ in CASES)


def test_a_case_the_labeller_gets_wrong_fails(lab):
    case = json.loads((FOLDER / "guide-resolved-protrusion.json").read_text())
    assert check(case, lab.label) is None
    wrong = {**case, "gold": "herniation"}
    assert check(wrong, lab.label) == "L2-L3 disc: labeller says 'none', gold is 'herniation'"


def test_malformed_cases_are_named():
    assert problems([]) == ["a case is a JSON object"]
    assert problems({"format": FORMAT}) == [
        f"missing {k!r}"
        for k in (
            "text",
            "level",
            "field",
            "gold",
            "labeller",
            "labeller_version",
            "author",
            "time",
        )
    ]
    base = {
        "format": FORMAT,
        "text": "L4-5: bulge.",
        "level": "L4-L5",
        "field": "disc",
        "gold": "bulge",
        "labeller": "none",
        "labeller_version": "v",
        "author": "a",
        "time": "t",
    }
    assert problems(base) == []
    assert problems({**base, "level": "T12-L1"}) == [
        "level 'T12-L1' is not one of ('L1-L2', 'L2-L3', 'L3-L4', 'L4-L5', 'L5-S1')"
    ]
    assert problems({**base, "gold": "mild"}) == ["gold 'mild' is not a value of disc"]
    assert problems({**base, "field": "canal", "text": " "}) == [
        "text is empty",
        "field 'canal' is not one of ('disc', 'canal_stenosis', 'left_foraminal', "
        "'right_foraminal', 'left_subarticular', 'right_subarticular', 'uncertain')",
    ]


def test_an_exported_case_keeps_only_the_levels_sentences_when_that_reads_the_same(lab, tmp_path):
    text = (
        "FINDINGS:\nL3-4: Normal.\nL4-5: Small disc bulge. It indents the thecal sac.\n\n"
        "IMPRESSION:\nMild degenerative change."
    )
    case = build_case(
        report_id="9",
        text=text,
        level="L4-L5",
        field="disc",
        gold="herniation",
        labeller="bulge",
        labeller_version="rules-x",
        authors=["ann", "bob"],
        time="2025-01-02T03:04:05Z",
        exported_by="carol",
        exported_at="2025-01-03T00:00:00Z",
        label=lab.label,
    )
    assert (
        case["text"] == "L4-5: Small disc bulge.\nIt indents the thecal sac."
        and case["text_is_excerpt"]
    )
    assert case["author"] == "ann, bob" and problems(case) == []
    assert filename(case) == "report-9-L4-L5-disc.json"
    assert check(case, lab.label) == "L4-L5 disc: labeller says 'bulge', gold is 'herniation'"
    # Written to a folder, the loader finds it.
    (tmp_path / filename(case)).write_text(json.dumps(case))
    assert load_cases(tmp_path) == [("report-9-L4-L5-disc.json", case)]


def test_the_whole_report_is_kept_when_the_excerpt_reads_differently():
    """A labeller that reads the field differently from the level's sentences alone (here,
    a statement elsewhere decides it): the case keeps the whole report."""
    text = "L4-5: Small disc bulge.\n\nNo disc bulge at any level."

    class Fake:
        def __init__(self, disc):
            self.disc = disc

        def by_level(self):
            return {"L4-L5": self}

    def label(t):
        return Fake("none" if "any level" in t else "bulge")

    case = build_case(
        report_id="1",
        text=text,
        level="L4-L5",
        field="disc",
        gold="bulge",
        labeller="none",
        labeller_version="v",
        authors=["a"],
        time="t",
        exported_by="b",
        exported_at="t",
        label=label,
    )
    assert case["text"] == text and not case["text_is_excerpt"]
    same = build_case(
        report_id="1",
        text=text,
        level="L4-L5",
        field="disc",
        gold="bulge",
        labeller="bulge",
        labeller_version="v",
        authors=["a"],
        time="t",
        exported_by="b",
        exported_at="t",
        label=lambda t: Fake("bulge"),
    )
    assert same["text"] == "L4-5: Small disc bulge." and same["text_is_excerpt"]
