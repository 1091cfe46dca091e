"""Short sentences that lean on the one before: "The right is severe." grades the other side of
the place just named (as "Right: severe." did), "It is moderate." grades the foramen just named,
and "L3-4: Likewise." / "Ditto." copies the findings of the level before (as "Same." did).
Before, each was read as saying nothing."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L5-S1: Mild narrowing of the left foramen. The right is severe.",
            {"L5-S1": "lf=mild rf=severe"},
        ),
        (
            "L5-S1: Mild narrowing of the left foramen. The right one is moderate.",
            {"L5-S1": "lf=mild rf=moderate"},
        ),
        (
            "L5-S1: Moderate left foraminal stenosis. The right is also moderate.",
            {"L5-S1": "lf=moderate rf=moderate"},
        ),
        (
            "L4-5: There is left foraminal narrowing. It is moderate.",
            {"L4-L5": "lf=moderate"},
        ),
        ("L2-3: Tiny bulge. L3-4: Likewise.", {"L2-L3": "d=bulge", "L3-L4": "d=bulge"}),
        (
            "L2-3: Tiny bulge with mild left foraminal narrowing. L3-4: Ditto.",
            {"L2-L3": "d=bulge lf=mild", "L3-L4": "d=bulge lf=mild"},
        ),
    ],
)
def test_a_sentence_that_leans_on_the_one_before(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no place before it to grade
        ("L5-S1: Disc bulge. The right is severe.", {"L5-S1": "d=bulge"}),
        ("L4-5: Disc bulge. It is moderate.", {"L4-L5": "d=bulge"}),
        # "likewise" that opens a statement of its own
        ("L3-4: Mild bulge. Likewise there is facet arthropathy.", {"L3-L4": "d=bulge"}),
        ("L2-3: Tiny bulge. L3-4: Likewise, no stenosis.", {"L2-L3": "d=bulge"}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
