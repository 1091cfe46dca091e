"""The zero of a numbered scale ("Lee grade 0", "grade 0/3") says there is no stenosis, after
the stenosis it grades or as a place's value. Before, "foraminal stenosis Lee grade 0" was a
foraminal stenosis of no stated grade (the guide maps no numbered scale, but every scale's zero
is none)."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Foraminal stenosis Lee grade 0 bilaterally.", {}),
        ("L4-5: Foraminal narrowing grade 0/3 bilaterally.", {}),
        ("L4-5: Canal stenosis: grade 0.", {}),
        (
            "L4-5: Left foramen grade 0, right foramen moderate stenosis.",
            {"L4-L5": "rf=moderate"},
        ),
        (
            "L4-5: Bilateral foraminal stenosis: left grade 0, right grade 2.",
            {"L4-L5": "rf=unspecified"},
        ),
        (
            "L4-5: Moderate canal stenosis. Foraminal stenosis grade 0.",
            {"L4-L5": "c=moderate"},
        ),
    ],
)
def test_a_scale_zero_is_no_stenosis(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a range from zero is the higher grade: present
        (
            "L4-5: Foraminal stenosis grade 0-1 bilaterally.",
            {"L4-L5": "lf=unspecified rf=unspecified"},
        ),
        (
            "L4-5: Foraminal stenosis grade 0 to 1 bilaterally.",
            {"L4-L5": "lf=unspecified rf=unspecified"},
        ),
        # another scale's number is no zero
        (
            "L4-5: Grade 1 anterolisthesis. Moderate right foraminal stenosis (Lee grade 2).",
            {"L4-L5": "rf=moderate"},
        ),
    ],
)
def test_near_misses_stay_present(lab, text, expected):
    assert found(lab.label(text)) == expected
