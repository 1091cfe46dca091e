"""A side named after its place, cut from it by a comma, is that place's side (guide: a
foraminal finding names its side; one with no side applies to both): "Foraminal stenosis,
right" is the right foramen's, "..., and left, which is mild" grades the left one, and "Mild
stenosis on the left and moderate on the right" grades each side. A place that names its own
side, both sides, or a hedged second grade keep their reading."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Foraminal stenosis, right.", {"L4-L5": "rf=unspecified"}),
    ("L4-5: Mild foraminal stenosis, right.", {"L4-L5": "rf=mild"}),
    ("L4-5: Moderate foraminal narrowing, left side.", {"L4-L5": "lf=moderate"}),
    ("L4-5: Foraminal stenosis, right-sided.", {"L4-L5": "rf=unspecified"}),
    ("L5-S1: Foraminal stenosis: mild, left only.", {"L5-S1": "lf=mild"}),
    ("L5-S1: Mild foraminal stenosis, right side only.", {"L5-S1": "rf=mild"}),
    ("L4-5: The foramen is narrowed, on the left.", {"L4-L5": "lf=unspecified"}),
    ("L4-5: Narrowing of the lateral recess, left.", {"L4-L5": "ls=unspecified"}),
    ("L4-5: Foraminal stenosis, right, severe.", {"L4-L5": "rf=severe"}),
    # a side, then its value
    (
        "L4-5: Right foraminal stenosis, which is moderate, and left, which is mild.",
        {"L4-L5": "lf=mild rf=moderate"},
    ),
    ("L4-5: Left foraminal stenosis, mild, and right, moderate.", {"L4-L5": "lf=mild rf=moderate"}),
    ("L4-5: Foramina: left, mild; right, moderate.", {"L4-L5": "lf=mild rf=moderate"}),
    ("L4-5: Lateral recesses: left, moderate; right, mild.", {"L4-L5": "ls=moderate rs=mild"}),
    # a stenosis with a side and no place is a foramen's, and the next side takes its word
    (
        "L4-5: Mild stenosis on the left and moderate on the right.",
        {"L4-L5": "lf=mild rf=moderate"},
    ),
    ("L4-5: Moderate stenosis on the right, mild on the left.", {"L4-L5": "lf=mild rf=moderate"}),
]

NEAR_MISSES = [
    ("L4-5: Foraminal stenosis, bilateral.", {"L4-L5": "lf=unspecified rf=unspecified"}),
    ("L4-5: Foraminal stenosis, left more than right.", {"L4-L5": "lf=unspecified rf=unspecified"}),
    ("L4-5: Mild bilateral foraminal stenosis, left.", {"L4-L5": "lf=mild rf=mild"}),
    (
        "L4-5: The left foramen is moderately narrowed, as is the right.",
        {"L4-L5": "lf=moderate rf=moderate"},
    ),
    (
        "L4-5: Moderate foraminal narrowing from a bulge, possibly severe on the left.",
        {"L4-L5": "d=bulge lf=moderate rf=moderate"},
    ),
    ("L4-5: Foraminal stenosis, bilateral, mild.", {"L4-L5": "lf=mild rf=mild"}),
    ("L4-5: Foramina: left mild; right moderate.", {"L4-L5": "lf=mild rf=moderate"}),
    (
        "L4-5: Mild stenosis on the left and moderate canal stenosis.",
        {"L4-L5": "c=moderate lf=mild"},
    ),
    ("L4-5: Protrusion, left, moderate canal stenosis.", {"L4-L5": "d=herniation c=moderate"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_side_after_its_place_is_its_side(lab, text, want):
    assert found(lab.label(text)) == want
