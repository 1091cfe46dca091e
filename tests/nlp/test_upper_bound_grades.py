"""An upper bound is the grade it names: "no more than mild canal stenosis" is mild. Before,
its "no" denied the stenosis. A plain "no" still denies."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text,expected",
    [
        ("L4-5: Mild disc bulge with no more than mild canal stenosis.", "d=bulge c=mild"),
        ("L4-5: Canal stenosis is not more than moderate.", "c=moderate"),
        ("L4-5: No greater than mild left foraminal narrowing.", "lf=mild"),
        ("L4-5: No worse than moderate central canal stenosis.", "c=moderate"),
    ],
)
def test_an_upper_bound_is_its_grade(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: No canal stenosis.",
        "L4-5: No more canal stenosis.",  # "no more" with no "than": still a denial
        "L4-5: Not stenotic.",
    ],
)
def test_a_plain_negation_still_denies(lab, text):
    assert found(lab.label(text)) == {}
