"""Two dictation habits: items numbered inline with a parenthesis ("1) L4-5 moderate canal
stenosis 2) L5-S1 severe left foraminal stenosis") are separate statements, each of its own
level; and a side letter given a graded verb ("NF: L mildly narrowed, R patent") is that side's,
as "NF: L mild, R patent" was. Before, each item's findings went to both levels, and the
letter was not read as a side."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "IMPRESSION: 1) L4-5 moderate canal stenosis 2) L5-S1 severe left foraminal stenosis",
            {"L4-L5": "c=moderate", "L5-S1": "lf=severe"},
        ),
        (
            "IMPRESSION: (1) L4-5 moderate canal stenosis (2) L5-S1 severe left foraminal stenosis",
            {"L4-L5": "c=moderate", "L5-S1": "lf=severe"},
        ),
        ("L4-5: NF: L mildly narrowed, R patent", {"L4-L5": "lf=mild"}),
        ("L4-5: NF: R moderately narrowed, L patent.", {"L4-L5": "rf=moderate"}),
        ("L4-5: NF: L mild stenosis, R none", {"L4-L5": "lf=mild"}),
    ],
)
def test_dictation_habits(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a grade's or a type's number in parentheses is no item number
        (
            "L4-5: Spondylolisthesis (grade 2) with moderate canal stenosis.",
            {"L4-L5": "c=moderate"},
        ),
        (
            "L4-5: Modic (type 2) changes and moderate canal stenosis. L5-S1: disc bulge",
            {"L4-L5": "c=moderate", "L5-S1": "d=bulge"},
        ),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
