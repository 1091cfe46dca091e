"""A side that opens a sentence ("On the left, ...") is the side of the foramina and recesses
the sentence then names without one (guide: a foraminal or recess finding on a side), and
"both the exit foramen and the lateral recess" coordinates two places: it names no side. A
place with its own side, or in the plural, keeps its reading."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L3/4: On the left, there is moderate narrowing of both the exit foramen and the lateral"
        " recess, due to facet hypertrophy. The right side is clear.",
        {"L3-L4": "lf=moderate ls=moderate"},
    ),
    ("L3-4: On the right, the foramen is moderately narrowed.", {"L3-L4": "rf=moderate"}),
    (
        "L3-4: On the left side, moderate foraminal and subarticular stenosis.",
        {"L3-L4": "lf=moderate ls=moderate"},
    ),
    ("L3-4: Left, mild foraminal narrowing.", {"L3-L4": "lf=mild"}),
    (
        "L3-4: Both foraminal and subarticular stenosis on the right.",
        {"L3-L4": "rf=unspecified rs=unspecified"},
    ),
    (
        "L3-4: On the left, the foramen is narrowed; the right foramen is patent.",
        {"L3-L4": "lf=unspecified"},
    ),
]

NEAR_MISSES = [
    ("L3-4: On the left, the foramina are narrowed.", {"L3-L4": "lf=unspecified rf=unspecified"}),
    ("L3-4: Narrowing of both foramina.", {"L3-L4": "lf=unspecified rf=unspecified"}),
    (
        "L3-4: Narrowing of both foramina and the lateral recesses.",
        {"L3-L4": "lf=unspecified rf=unspecified ls=unspecified rs=unspecified"},
    ),
    ("L3-4: Both neural foramina are narrowed.", {"L3-L4": "lf=unspecified rf=unspecified"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_side_that_opens_the_sentence(lab, text, want):
    assert found(lab.label(text)) == want
