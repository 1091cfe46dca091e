"""A level named "to a lesser degree" in a list has the finding with no stated grade, not the
list's grade: "Moderate canal stenosis at L3-4 and to a lesser degree at L2-3" says L2-3 is
narrowed less than moderately, so its canal is unspecified (present, grade not stated)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "Moderate canal stenosis at L3-4 and to a lesser degree at L2-3.",
        {"L2-L3": "c=unspecified", "L3-L4": "c=moderate"},
    ),
    (
        "Moderate canal stenosis at L3-4 and, to a lesser extent, L2-3.",
        {"L2-L3": "c=unspecified", "L3-L4": "c=moderate"},
    ),
    (
        "Moderate canal stenosis at L3-4 and less so at L2-3.",
        {"L2-L3": "c=unspecified", "L3-L4": "c=moderate"},
    ),
    (
        "Moderate canal stenosis at L3-4 and L2-3 to a lesser degree.",
        {"L2-L3": "c=unspecified", "L3-L4": "c=moderate"},
    ),
    (
        "Moderate canal stenosis at L4-5, L3-4 to a lesser degree.",
        {"L3-L4": "c=unspecified", "L4-L5": "c=moderate"},
    ),
    (
        "Mild bilateral foraminal narrowing at L4-5 and to a lesser extent at L3-4.",
        {"L3-L4": "lf=unspecified rf=unspecified", "L4-L5": "lf=mild rf=mild"},
    ),
]

NEAR_MISSES = [
    # a plain list shares its grade
    ("Moderate canal stenosis at L3-4 and L4-5.", {"L3-L4": "c=moderate", "L4-L5": "c=moderate"}),
    # an ungraded finding has no grade to lessen
    ("Disc bulges at L3-4 and to a lesser degree L4-5.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    # "respectively" pairs the grades first
    (
        "Canal stenosis at L3-4 and L4-5, mild and moderate respectively.",
        {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_level_named_to_a_lesser_degree_has_no_stated_grade(lab, text, want):
    assert found(lab.label(text)) == want
