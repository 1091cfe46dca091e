"""A stenosis word whose object is a pronoun narrows the place just named, not the canal
("Disc bulge extends into the right neural foramen, narrowing it mildly": the right foramen is
mildly narrowed; the canal is not named)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L3-L4: Disc bulge extends into the right neural foramen, narrowing it mildly.",
        {"L3-L4": "d=bulge rf=mild"},
    ),
    ("L4-5: Disc bulge into the right foramen, narrowing it.", {"L4-L5": "d=bulge rf=unspecified"}),
    (
        "L5-S1: Extrusion into the left lateral recess, narrowing it severely.",
        {"L5-S1": "d=herniation ls=severe"},
    ),
    (
        "L3-L4: Disc bulge is asymmetric to the right and extends into the right neural foramen, "
        "narrowing it mildly.",
        {"L3-L4": "d=bulge rf=mild"},
    ),
]

NEAR_MISSES = [
    # the canal named: its own stenosis
    (
        "L4-5: Disc bulge extends into the canal, narrowing it severely.",
        {"L4-L5": "d=bulge c=severe"},
    ),
    # no pronoun: a stenosis with no place of its own is the canal's
    (
        "L4-5: Disc bulge extends into the right foramen, with mild narrowing.",
        {"L4-L5": "d=bulge c=mild"},
    ),
    # a foramen named as its own finding, then a grade
    ("L3-4: Right foraminal narrowing, moderate.", {"L3-L4": "rf=moderate"}),
    # a place and its stenosis both named
    (
        "L4-5: Disc bulge extends into the left foramen and narrows the canal moderately.",
        {"L4-L5": "d=bulge c=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_stenosis_of_it_narrows_the_place_just_named(lab, text, want):
    assert found(lab.label(text)) == want
