"""A grade after "previously seen" (noted, described ...) is the earlier study's when the
sentence goes on to the grade it has now (guide: comparison wording; the current finding is
the one labelled): "Previously noted moderate canal stenosis is now mild" is mild. Without a
grade "now", the grade is current too: "the previously seen moderate stenosis is unchanged"."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Previously noted moderate canal stenosis is now mild.", {"L4-L5": "c=mild"}),
    (
        "L4-5: Previously described severe canal stenosis has improved, now mild.",
        {"L4-L5": "c=mild"},
    ),
    (
        "L4-5: Previously demonstrated severe canal stenosis, currently moderate.",
        {"L4-L5": "c=moderate"},
    ),
]

NEAR_MISSES = [
    ("L4-5: Previously seen mild stenosis is now moderate.", {"L4-L5": "c=moderate"}),
    ("L4-5: The previously seen moderate stenosis is unchanged.", {"L4-L5": "c=moderate"}),
    (
        "L4-5: Previously noted moderate canal stenosis with mild left foraminal narrowing.",
        {"L4-L5": "c=moderate lf=mild"},
    ),
    ("L4-5: Previously seen severe stenosis is now absent.", {}),
    (
        "L4-5: Moderate canal stenosis, now mild left foraminal narrowing.",
        {"L4-L5": "c=moderate lf=mild"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_grade_now_is_the_grade(lab, text, want):
    assert found(lab.label(text)) == want
