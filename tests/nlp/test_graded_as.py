"""A grade given after the finding with a verb of grading ("canal stenosis, graded as severe",
"considered mild", "rated moderate on the left") is the finding's grade, as "which is moderate"
already was. Before, the finding kept no grade (unspecified)."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "There is stenosis of the spinal canal at L4-5, graded as moderate.",
            {"L4-L5": "c=moderate"},
        ),
        ("L4-5: Canal stenosis, graded as severe.", {"L4-L5": "c=severe"}),
        ("L4-5: Canal stenosis, considered mild.", {"L4-L5": "c=mild"}),
        ("L4-5: Canal stenosis, overall moderate.", {"L4-L5": "c=moderate"}),
        ("L4-5: Foraminal narrowing, rated moderate on the left.", {"L4-L5": "lf=moderate"}),
    ],
)
def test_a_grading_verb_after_the_finding(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a grade of another finding stays that finding's
        ("L4-5: No canal stenosis, mild facet changes.", {}),
        ("L4-5: No canal stenosis, facet arthropathy graded as moderate.", {}),
    ],
)
def test_a_grade_of_something_else(lab, text, expected):
    assert found(lab.label(text)) == expected
