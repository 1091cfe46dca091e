"""A grade given with the imaging that shows it still grades the stenosis before it (a clause of
grades alone, findings.yaml ``grade_clause_words``): "Lumbar spinal stenosis L4-5, moderate, per
MRI 1/2025" in a clinic note is a moderate canal stenosis, not one of no stated grade."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "Assessment: Lumbar spinal stenosis L4-5, moderate, per MRI 1/2025.",
        {"L4-L5": "c=moderate"},
    ),
    ("Spinal stenosis L4-5, moderate per imaging.", {"L4-L5": "c=moderate"}),
    ("L4-5: Canal stenosis, mild on the current study.", {"L4-L5": "c=mild"}),
    ("L4-5: Canal stenosis; moderate per report.", {"L4-L5": "c=moderate"}),
]

NEAR_MISSES = [
    # the grade of another finding
    ("L4-5: No canal stenosis, mild facet arthropathy per MRI.", {}),
    ("L4-5: Canal stenosis, mild facet arthropathy per MRI.", {"L4-L5": "c=unspecified"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_grade_with_its_imaging_grades_the_stenosis(lab, text, want):
    assert found(lab.label(text)) == want
