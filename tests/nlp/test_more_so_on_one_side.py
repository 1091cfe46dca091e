"""Both places narrowed, "more so on the left, where it is severe": the grade is the named side's
(guide: "In both foramina, severe on the left" gives left severe, right unspecified). A grade
stated for both sides, with one side only worse, stays on both."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L3-4: There is narrowing of both neural foramina, more so on the left, where it is severe.",
        {"L3-L4": "lf=severe rf=unspecified"},
    ),
    (
        "L3-4: Foraminal narrowing on both sides, more on the right, where it is moderate.",
        {"L3-L4": "lf=unspecified rf=moderate"},
    ),
    (
        "L3-4: Bilateral foraminal narrowing, particularly on the left, where it is moderate.",
        {"L3-L4": "lf=moderate rf=unspecified"},
    ),
    (
        "L3-4: Bilateral foraminal stenosis, worse on the left where it is severe.",
        {"L3-L4": "lf=severe rf=unspecified"},
    ),
]

NEAR_MISSES = [
    (
        "L3-4: Narrowing in both foramina, severe on the left.",
        {"L3-L4": "lf=severe rf=unspecified"},
    ),
    ("L3-4: Mild bilateral foraminal stenosis, worse on the left.", {"L3-L4": "lf=mild rf=mild"}),
    (
        "L3-4: Moderate foraminal stenosis, greater on the right.",
        {"L3-L4": "lf=moderate rf=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_grade_after_the_worse_side_is_that_sides(lab, text, want):
    assert found(lab.label(text)) == want
