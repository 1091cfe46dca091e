"""A grade restated as a number in brackets ("moderate (grade 2 of 3)", "severe (3/3)") adds
nothing to the word (guide: grade words), and must not part a side from its grade: "Foramina:
severe (3/3) on the left and moderate (2/3) on the right" is left severe, right moderate."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5-S1: Foraminal stenosis moderate (grade 2 of 3) on the left and mild (grade 1 of 3) on"
        " the right.",
        {"L5-S1": "lf=moderate rf=mild"},
    ),
    (
        "L5-S1: Foramina: severe (3/3) on the left and moderate (2/3) on the right.",
        {"L5-S1": "lf=severe rf=moderate"},
    ),
    (
        "L3-4: Foramina: moderate (grade 2 of 3) on the right, mild (grade 1 of 3) on the left.",
        {"L3-L4": "lf=mild rf=moderate"},
    ),
]

NEAR_MISSES = [
    ("L3-4: Canal stenosis mild (grade 1 of 3).", {"L3-L4": "c=mild"}),
    ("L3-4: Canal: severe (grade 3 of 3).", {"L3-L4": "c=severe"}),
    ("L3-4: Left foramen grade 0/3.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_grade_restated_as_a_number(lab, text, want):
    assert found(lab.label(text)) == want
