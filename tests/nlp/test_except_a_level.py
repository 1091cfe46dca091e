"""A negation over the levels with one level excepted: the excepted level keeps its grade.
Before, "No significant canal stenosis at any level except L4-5 where it is moderate" was
read as no stenosis anywhere, L4-5 included: the graded words after "except" were one clause
with the negated ones, and the negation took them. Near misses keep the rule in bounds."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "No significant canal stenosis at any level except L4-5 where it is moderate.",
            {"L4-L5": "c=moderate"},
        ),
        ("No significant stenosis except at L4-5 (moderate).", {"L4-L5": "c=moderate"}),
        (
            "No stenosis except at L4-5 and L5-S1 (mild).",
            {"L4-L5": "c=mild", "L5-S1": "c=mild"},
        ),
        (
            "No canal or foraminal stenosis at any level except L5-S1, where the left foramen "
            "is moderately narrowed.",
            {"L5-S1": "lf=moderate"},
        ),
    ],
)
def test_the_excepted_level_keeps_its_grade(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # what the negation names stays negated; the exception is another finding
        (
            "No significant stenosis at L4-5 except mild foraminal narrowing on the left.",
            {"L4-L5": "lf=mild"},
        ),
        ("No herniation at any level, except for a bulge at L4-5.", {"L4-L5": "d=bulge"}),
        ("Disc heights are normal except at L4-5.", {}),
        ("No canal stenosis at any level.", {}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
