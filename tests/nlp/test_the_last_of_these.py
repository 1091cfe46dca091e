"""A level picked from a list by its place (levels.yaml ordinal_anaphora; guide: a finding
belongs to the levels the report gives it): "the last of these", "the first of which", "the
last causing ..." name one listed level, not the whole list. "The lower lumbar spine" names
none."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "Small disc bulges at L2-3, L3-4 and L4-5, the last of these causing mild narrowing of the"
        " canal.",
        {"L2-L3": "d=bulge", "L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
    ),
    (
        "Small disc bulges at L2-3, L3-4 and L4-5, the last causing mild narrowing of the canal.",
        {"L2-L3": "d=bulge", "L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
    ),
    (
        "Disc bulges at L3-4 and L4-5, the first of which narrows the canal mildly.",
        {"L3-L4": "d=bulge c=mild", "L4-L5": "d=bulge"},
    ),
    (
        "Disc bulges at L3-4 and L4-5, the lower with mild canal stenosis.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
    ),
]

NEAR_MISSES = [
    (
        "Disc bulges at L3-4 and L4-5, the latter with mild canal stenosis.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
    ),
    (
        "Mild bulges at L3-4 and L4-5. The lower lumbar spine shows facet arthropathy.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_level_picked_from_a_list(lab, text, want):
    assert found(lab.label(text)) == want
