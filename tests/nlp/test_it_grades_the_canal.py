"""A sentence of "it" and a grade goes on the sentence before and grades its place, the canal as
well as a foramen (guide: several statements grading the same field, the highest stated grade;
a sentence with no level continues the one before): "There is central canal stenosis. It is
moderate." is a moderate canal stenosis, not one of no stated grade."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: There is central canal stenosis. It is moderate.", {"L4-L5": "c=moderate"}),
    ("L4-5: Canal stenosis is present. It is mild.", {"L4-L5": "c=mild"}),
    ("L4-5: The thecal sac is narrowed. It is moderate.", {"L4-L5": "c=moderate"}),
]

NEAR_MISSES = [
    ("L4-5: Left foraminal stenosis. It is moderate.", {"L4-L5": "lf=moderate"}),
    ("L4-5: There is a disc bulge. It is moderate.", {"L4-L5": "d=bulge"}),
    ("L4-5: No canal stenosis. It is normal.", {}),
    # a side's value grades a foramen or recess only
    ("L4-5: There is central canal stenosis. The left is moderate.", {"L4-L5": "c=unspecified"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_it_and_a_grade_grade_the_place_before(lab, text, want):
    assert found(lab.label(text)) == want
