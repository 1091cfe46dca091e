"""A statement of the earlier study is not a current finding (guide: previous findings are
not current): "Previously the foramen was only mildly narrowed", "Previously, there was mild
canal stenosis", "On the prior study there was a large extrusion". Previously seen findings
that persist stay current."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L3-4: Moderate narrowing of the left neural foramen. Previously the foramen was only mildly"
        " narrowed.",
        {"L3-L4": "lf=moderate"},
    ),
    ("L3-4: Previously, there was mild canal stenosis.", {}),
    ("L3-4: Previously the canal was moderately narrowed; it is now patent.", {}),
    ("L3-4: On the prior study there was a large extrusion.", {}),
]

NEAR_MISSES = [
    ("L3-4: Previously noted mild canal stenosis is unchanged.", {"L3-L4": "c=mild"}),
    ("L3-4: Previously seen protrusion persists.", {"L3-L4": "d=herniation"}),
    ("L3-4: Canal stenosis is moderate, previously mild.", {"L3-L4": "c=moderate"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_statement_of_the_earlier_study(lab, text, want):
    assert found(lab.label(text)) == want
