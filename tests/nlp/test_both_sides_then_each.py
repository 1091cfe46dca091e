"""A place named on both sides with its stenosis, then each side's own grade after a colon, a
bracket or a dash ("Bilateral foraminal stenosis: left moderate, right mild", "foramina narrowed
bilaterally (moderate left, mild right)"): each side keeps its own grade. Before, the first
side's grade went to both sides (the right foramen read moderate)."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L4-5: Bilateral foraminal stenosis: left moderate, right mild.",
            {"L4-L5": "lf=moderate rf=mild"},
        ),
        (
            "L4-5: Foramina narrowed bilaterally (moderate left, mild right).",
            {"L4-L5": "lf=moderate rf=mild"},
        ),
        (
            "L4-5: Bilateral foraminal stenosis (left moderate, right mild).",
            {"L4-L5": "lf=moderate rf=mild"},
        ),
        (
            "L4-5: Bilateral foraminal stenosis - left moderate, right mild.",
            {"L4-L5": "lf=moderate rf=mild"},
        ),
        (
            "L4-5: Both foramina narrowed: left moderate, right mild.",
            {"L4-L5": "lf=moderate rf=mild"},
        ),
    ],
)
def test_each_side_keeps_its_grade(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Bilateral foraminal stenosis: moderate.", {"L4-L5": "lf=moderate rf=moderate"}),
        (
            "L4-5: Moderate bilateral foraminal stenosis (left > right).",
            {"L4-L5": "lf=moderate rf=moderate"},
        ),
        ("L4-5: Foramina: left moderate, right mild.", {"L4-L5": "lf=moderate rf=mild"}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
