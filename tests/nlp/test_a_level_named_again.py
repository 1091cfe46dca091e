"""A level named again starts a statement of its own, not a longer list (guide: a finding
belongs to the levels the report gives it): in "mild disc bulges at L3/4 and L4/5, and at L4/5
there is mild narrowing of the right exit foramen" the narrowing is L4/5's only."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "There are mild disc bulges at L3/4 and L4/5, and at L4/5 there is mild narrowing of the"
        " right exit foramen.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge rf=mild"},
    ),
    (
        "Mild bulges at L3-4 and L4-5, and at L4-5 moderate canal stenosis.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=moderate"},
    ),
]

NEAR_MISSES = [
    (
        "Mild bulges at L3-4, L4-5 and L5-S1.",
        {"L3-L4": "d=bulge", "L4-L5": "d=bulge", "L5-S1": "d=bulge"},
    ),
    (
        "Moderate stenosis at L3-4 and L4-5 and L5-S1.",
        {"L3-L4": "c=moderate", "L4-L5": "c=moderate", "L5-S1": "c=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_level_named_again_starts_a_statement(lab, text, want):
    assert found(lab.label(text)) == want
