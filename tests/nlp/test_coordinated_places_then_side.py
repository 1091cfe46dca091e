"""Places coordinated before one stenosis word share what follows it (guide: a foraminal or
recess finding takes its side; of several statements the highest grade counts): in
"Subarticular and foraminal stenosis, right, severe" both places are the right's and severe;
a trailing grade grades every place named with the stenosis ("Canal and foraminal stenosis,
moderate"). A side before the second place is that place's alone."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Subarticular and foraminal stenosis, right, severe.", {"L4-L5": "rf=severe rs=severe"}),
    (
        "L4-5: Subarticular and foraminal stenosis, moderate on the right.",
        {"L4-L5": "rf=moderate rs=moderate"},
    ),
    (
        "L4-5: Subarticular and foraminal stenosis on the right.",
        {"L4-L5": "rf=unspecified rs=unspecified"},
    ),
    (
        "L4-5: Subarticular and foraminal stenosis, right.",
        {"L4-L5": "rf=unspecified rs=unspecified"},
    ),
    (
        "L4-5: Lateral recess and foraminal narrowing on the left, moderate.",
        {"L4-L5": "lf=moderate ls=moderate"},
    ),
    (
        "L4-5: Lateral recess and foraminal narrowing, severe on the left.",
        {"L4-L5": "lf=severe ls=severe"},
    ),
    (
        "L4-5: Lateral recess and foraminal stenosis, moderate.",
        {"L4-L5": "lf=moderate rf=moderate ls=moderate rs=moderate"},
    ),
    (
        "L4-5: Canal and foraminal stenosis, moderate.",
        {"L4-L5": "c=moderate lf=moderate rf=moderate"},
    ),
    ("L4-5: Canal and left foraminal stenosis, mild.", {"L4-L5": "c=mild lf=mild"}),
]

NEAR_MISSES = [
    (
        "L4-5: Moderate left subarticular and foraminal stenosis.",
        {"L4-L5": "lf=moderate ls=moderate"},
    ),
    (
        "L4-5: Subarticular and left foraminal stenosis.",
        {"L4-L5": "lf=unspecified ls=unspecified rs=unspecified"},
    ),
    ("L4-5: Mild canal and foraminal stenosis.", {"L4-L5": "c=mild lf=mild rf=mild"}),
    (
        "L4-5: Canal and foraminal stenosis, moderate on the left.",
        {"L4-L5": "c=unspecified lf=moderate"},
    ),
    ("L4-5: Foraminal stenosis, moderate on the left.", {"L4-L5": "lf=moderate"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_coordinated_places_share_the_side_and_grade_after_them(lab, text, want):
    assert found(lab.label(text)) == want
