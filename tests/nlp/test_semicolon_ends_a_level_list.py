"""A semicolon ends a statement, not a list of levels (guide: each level takes the grade stated
for it; several statements grading one field take the highest): "Canal stenosis is moderate at
L3-4; at L5-S1 it is mild" gives L5-S1 its own grade, not L3-4's. Levels listed with
semicolons and one finding still share it."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "Canal stenosis is moderate at L3-4; at L5-S1 it is mild.",
        {"L3-L4": "c=moderate", "L5-S1": "c=mild"},
    ),
    (
        "Central canal stenosis is moderate at L3-4 and severe at L4-5; at L5-S1 it is mild.",
        {"L3-L4": "c=moderate", "L4-L5": "c=severe", "L5-S1": "c=mild"},
    ),
]

NEAR_MISSES = [
    ("Mild bulges at L3-4; L4-5; L5-S1.", {lv: "d=bulge" for lv in ("L3-L4", "L4-L5", "L5-S1")}),
    ("Mild canal stenosis: L3-4; L4-5.", {"L3-L4": "c=mild", "L4-L5": "c=mild"}),
    (
        "Moderate canal stenosis at L3-4, L4-5 and L5-S1.",
        {lv: "c=moderate" for lv in ("L3-L4", "L4-L5", "L5-S1")},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_semicolon_ends_a_level_list(lab, text, want):
    assert found(lab.label(text)) == want
